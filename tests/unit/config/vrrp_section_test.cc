// Unit tests for core/config/vrrp_section: every key of [vrrp.NAME], its range and
// its error message with the line, cross-instance checks, and format_config round trips.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/config/config_parse.h"
#include "tests/unit/config/config_test_support.h"

namespace ringlb {
namespace {

using namespace config_test;
using std::chrono::milliseconds;

// A valid [vrrp.v] at lines 1-4 to which a test appends one key (line 5).
std::vector<std::string> errors_with(std::string_view extra_line) {
    return error_texts(parse(lines({"[vrrp.v]", "interface = eth0", "vrid = 7", "vip = 10.0.0.100/24", extra_line})));
}

// DESIGN §6's listener and VRRP instance, comments included.
constexpr std::string_view kDesignExample = R"([listener.web]
bind = 192.0.2.100:80
backend = 10.0.1.11:8080

[vrrp.vip1]
interface = eth0
vrid = 51
priority = 150
advert_interval = 100ms
vip = 192.0.2.100/24
preempt = true
unicast_peer = 192.0.2.3          # optional; multicast 224.0.0.18 otherwise
track_listener = web              # lose priority when this listener has no healthy backend
notify = /etc/ringlb/notify.sh    # optional, run on state change
)";

// Every key with a value other than its default.
constexpr std::string_view kEveryKey = R"([listener.web]
bind = 192.0.2.100:80
backend = 10.0.1.11:8080

[vrrp.vip1]
interface = bond0.100
vrid = 255
priority = 255
advert_interval = 40950ms
vip = 192.0.2.100/24
vip = 192.0.2.101
vip = 198.51.100.7/30
preempt = false
preempt_delay = 90s
unicast_peer = 192.0.2.3
unicast_peer = 192.0.2.4
source_address = 192.0.2.2
track_listener = web
track_weight = 254
notify = /usr/local/bin/vrrp-notify
notify_user = nobody
garp_repeat = 0
garp_interval = 250ms
garp_refresh = 0
accept_mismatched_addresses = true

[vrrp.second]
interface = eth1
vrid = 1
priority = 1
advert_interval = 10ms
vip = 10.1.0.1/32
)";

TEST(VrrpSection, DesignExampleParsesToTheDocumentedValues) {
    auto result = parse_config(kDesignExample, "ringlb.conf");
    ASSERT_TRUE(result.ok()) << ::testing::PrintToString(error_texts(result));
    ASSERT_EQ(result.config->vrrp.size(), 1u);
    const VrrpInstanceConfig& v = result.config->vrrp[0];
    EXPECT_EQ(v.name, "vip1");
    EXPECT_EQ(v.line, 5);
    EXPECT_EQ(v.interface, "eth0");
    EXPECT_EQ(v.vrid, 51);
    EXPECT_EQ(v.priority, 150);
    EXPECT_EQ(v.advert_interval, milliseconds(100));
    EXPECT_EQ(v.vips, (std::vector<Ipv4Prefix>{{make_ipv4(192, 0, 2, 100), 24}}));
    EXPECT_TRUE(v.preempt);
    EXPECT_EQ(v.unicast_peers, std::vector<Ipv4>{make_ipv4(192, 0, 2, 3)});
    EXPECT_EQ(v.track_listener, "web");
    EXPECT_EQ(v.track_weight, 0);
    EXPECT_EQ(v.notify, "/etc/ringlb/notify.sh");
    EXPECT_EQ(v.primary_address, 0u) << "found on the interface at start unless source_address is set";
}

TEST(VrrpSection, OmittedKeysTakeTheDefaultsOfTheModel) {
    auto result = parse(lines({"[vrrp.v]", "interface = eth0", "vrid = 7", "vip = 10.0.0.100/24"}));
    ASSERT_TRUE(result.ok()) << ::testing::PrintToString(error_texts(result));
    VrrpInstanceConfig expected;
    expected.name = "v";
    expected.line = 1;
    expected.interface = "eth0";
    expected.vrid = 7;
    expected.vips = {{make_ipv4(10, 0, 0, 100), 24}};
    expected.vip_lines = {4};
    ASSERT_EQ(result.config->vrrp.size(), 1u);
    EXPECT_EQ(result.config->vrrp[0], expected);
    EXPECT_EQ(expected.priority, 100);
    EXPECT_EQ(expected.advert_interval, milliseconds(1000));
}

TEST(VrrpSection, EveryKeyIsReadIntoTheModel) {
    auto result = parse(kEveryKey);
    ASSERT_TRUE(result.ok()) << ::testing::PrintToString(error_texts(result));
    ASSERT_EQ(result.config->vrrp.size(), 2u);
    const VrrpInstanceConfig& v = result.config->vrrp[0];
    EXPECT_EQ(v.interface, "bond0.100");
    EXPECT_EQ(v.vrid, 255);
    EXPECT_EQ(v.priority, 255);
    EXPECT_EQ(v.advert_interval, milliseconds(40950));
    EXPECT_EQ(v.vips, (std::vector<Ipv4Prefix>{{make_ipv4(192, 0, 2, 100), 24},
                                               {make_ipv4(192, 0, 2, 101), 32},
                                               {make_ipv4(198, 51, 100, 7), 30}}));
    EXPECT_EQ(v.vip_lines, (std::vector<int>{10, 11, 12}));  // for FILE:LINE of a refused vip
    EXPECT_FALSE(v.preempt);
    EXPECT_EQ(v.preempt_delay, milliseconds(90000));
    EXPECT_EQ(v.unicast_peers, (std::vector<Ipv4>{make_ipv4(192, 0, 2, 3), make_ipv4(192, 0, 2, 4)}));
    EXPECT_EQ(v.primary_address, make_ipv4(192, 0, 2, 2));
    EXPECT_EQ(v.track_listener, "web");
    EXPECT_EQ(v.track_weight, 254);
    EXPECT_EQ(v.notify, "/usr/local/bin/vrrp-notify");
    EXPECT_EQ(v.notify_user, "nobody");
    EXPECT_EQ(v.garp_repeat, 0);
    EXPECT_EQ(v.garp_interval, milliseconds(250));
    EXPECT_EQ(v.garp_refresh, milliseconds(0));
    EXPECT_TRUE(v.accept_mismatched_addresses);
    EXPECT_FALSE(result.config->vrrp[1].accept_mismatched_addresses);
    EXPECT_EQ(result.config->vrrp[1].advert_interval, milliseconds(10));
}

TEST(VrrpSection, FormattedConfigParsesBackToAnEqualConfig) {
    for (std::string_view text : {kEveryKey, kDesignExample}) expect_round_trip(text);
}

TEST(VrrpSection, RoundTripNoticesAChangedVrrpValue) {
    auto parsed = parse(kEveryKey);
    ASSERT_TRUE(parsed.ok());
    Config changed = *parsed.config;
    changed.vrrp[0].vips[2].prefix_len = 29;
    auto reparsed = parse(format_config(changed));
    ASSERT_TRUE(reparsed.ok());
    EXPECT_NE(without_positions(*reparsed.config), without_positions(*parsed.config));
    EXPECT_EQ(without_positions(*reparsed.config), without_positions(changed));
}

TEST(VrrpSection, FormatWritesOnlyKeysThatDifferFromDefaults) {
    auto parsed = parse(kDesignExample);
    ASSERT_TRUE(parsed.ok());
    const std::string formatted = format_config(*parsed.config);
    const std::string vrrp = formatted.substr(formatted.find("[vrrp."));
    EXPECT_EQ(vrrp,
              "[vrrp.vip1]\n"
              "interface = eth0\n"
              "vrid = 51\n"
              "priority = 150\n"
              "advert_interval = 100ms\n"
              "vip = 192.0.2.100/24\n"
              "unicast_peer = 192.0.2.3\n"
              "track_listener = web\n"
              "notify = /etc/ringlb/notify.sh\n");
}

TEST(VrrpSection, MissingRequiredKeysAreReportedAtTheHeader) {
    auto result = parse(lines({"[vrrp.v]", "priority = 120"}));
    EXPECT_EQ(error_texts(result), (std::vector<std::string>{
                                       "t.conf:1: vrrp 'v': missing interface",
                                       "t.conf:1: vrrp 'v': missing vrid (1..255, the same on both hosts)",
                                       "t.conf:1: vrrp 'v': no vip (add 'vip = A.B.C.D/LEN')",
                                   }));
    EXPECT_EQ(result.config, nullptr);
}

TEST(VrrpSection, NumbersOutsideTheirRangeAreReported) {
    EXPECT_EQ(errors_with("priority = 0"),
              std::vector<std::string>{"t.conf:5: vrrp 'v': bad priority '0' (expected a number 1..255)"});
    EXPECT_EQ(errors_with("priority = 256"),
              std::vector<std::string>{"t.conf:5: vrrp 'v': bad priority '256' (expected a number 1..255)"});
    EXPECT_EQ(errors_with("track_weight = 255"),
              (std::vector<std::string>{"t.conf:5: vrrp 'v': bad track_weight '255' (expected a number 0..254)",
                                        "t.conf:5: vrrp 'v': track_weight without track_listener"}));
    EXPECT_EQ(errors_with("garp_repeat = 101"),
              std::vector<std::string>{"t.conf:5: vrrp 'v': bad garp_repeat '101' (expected a number 0..100)"});
    EXPECT_EQ(error_texts(parse(lines({"[vrrp.v]", "interface = eth0", "vrid = 0", "vip = 10.0.0.1"}))),
              std::vector<std::string>{"t.conf:3: vrrp 'v': bad vrid '0' (expected a number 1..255)"});
    EXPECT_EQ(error_texts(parse(lines({"[vrrp.v]", "interface = eth0", "vrid = 256", "vip = 10.0.0.1"}))),
              std::vector<std::string>{"t.conf:3: vrrp 'v': bad vrid '256' (expected a number 1..255)"});
}

TEST(VrrpSection, AdvertIntervalIsWholeCentisecondsWithinTheTwelveBitWireField) {
    EXPECT_TRUE(errors_with("advert_interval = 10ms").empty());
    EXPECT_TRUE(errors_with("advert_interval = 40950ms").empty());
    EXPECT_TRUE(errors_with("advert_interval = 3s").empty());
    EXPECT_EQ(errors_with("advert_interval = 0"),
              std::vector<std::string>{"t.conf:5: vrrp 'v': advert_interval 0 is outside 10ms..40950ms"});
    EXPECT_EQ(errors_with("advert_interval = 41s"),
              std::vector<std::string>{"t.conf:5: vrrp 'v': advert_interval 41s is outside 10ms..40950ms"});
    EXPECT_EQ(errors_with("advert_interval = 105ms"),
              std::vector<std::string>{"t.conf:5: vrrp 'v': advert_interval 105ms is not a multiple of 10ms (the "
                                       "advertisement carries centiseconds)"});
    EXPECT_EQ(errors_with("advert_interval = 1.5s"),
              std::vector<std::string>{"t.conf:5: vrrp 'v': bad duration '1.5s' for advert_interval (expected a "
                                       "whole number with ms, s, m or h, e.g. 500ms, 3s, 15m, 1h)"});
}

TEST(VrrpSection, VipsAreHostAddressesWithAnOptionalPrefixLength) {
    const std::string usage = " (expected A.B.C.D/LEN, LEN 1..32)";
    for (std::string_view bad : {"10.0.0", "10.0.0.300/24", "10.0.0.5/0", "10.0.0.5/33", "10.0.0.5/", "eth0",
                                 "10.0.0.5/24/1", " /24"}) {
        std::string value(bad);
        while (!value.empty() && value.front() == ' ') value.erase(0, 1);  // the parser trims too
        EXPECT_EQ(errors_with("vip = " + std::string(bad)),
                  std::vector<std::string>{"t.conf:5: vrrp 'v': bad vip '" + value + "'" + usage})
            << bad;
    }
    for (std::string_view reserved : {"0.0.0.0/8", "127.0.0.1", "224.0.0.18/32", "255.255.255.255"}) {
        std::string address(reserved.substr(0, reserved.find('/')));
        EXPECT_EQ(errors_with("vip = " + std::string(reserved)),
                  std::vector<std::string>{"t.conf:5: vrrp 'v': vip " + address + " is not a unicast host address"})
            << reserved;
    }
    EXPECT_EQ(errors_with("vip = 10.0.0.100/32"),
              std::vector<std::string>{"t.conf:5: vrrp 'v': vip 10.0.0.100 given twice"});
}

TEST(VrrpSection, UnicastPeersAndSourceAddressAreUnicastIpv4) {
    EXPECT_EQ(errors_with("unicast_peer = 10.0.0.2:80"),
              std::vector<std::string>{
                  "t.conf:5: vrrp 'v': bad unicast_peer '10.0.0.2:80' (expected an IPv4 address A.B.C.D)"});
    EXPECT_EQ(errors_with("unicast_peer = 224.0.0.18"),
              std::vector<std::string>{"t.conf:5: vrrp 'v': unicast_peer 224.0.0.18 is not a unicast host address"});
    EXPECT_EQ(errors_with("source_address = 2001:db8::1"),
              std::vector<std::string>{
                  "t.conf:5: vrrp 'v': bad source_address '2001:db8::1' (expected an IPv4 address A.B.C.D)"});
    auto result = parse(lines({"[vrrp.v]", "interface = eth0", "vrid = 7", "vip = 10.0.0.100/24",
                               "unicast_peer = 10.0.0.2", "unicast_peer = 10.0.0.2"}));
    EXPECT_EQ(error_texts(result),
              std::vector<std::string>{"t.conf:6: vrrp 'v': unicast_peer 10.0.0.2 given twice"});
}

TEST(VrrpSection, AHostsOwnAddressOrItsPeerCannotBeAVip) {
    EXPECT_EQ(errors_with("source_address = 10.0.0.100"),
              std::vector<std::string>{"t.conf:5: vrrp 'v': source_address 10.0.0.100 is also a vip"});
    EXPECT_EQ(errors_with("unicast_peer = 10.0.0.100"),
              std::vector<std::string>{"t.conf:1: vrrp 'v': unicast_peer 10.0.0.100 is also a vip"});
}

TEST(VrrpSection, TrackListenerMustNameAListenerWhereverItIsDeclared) {
    // The listener comes after the instance in the file: listeners are parsed first.
    auto result = parse(lines({"[vrrp.v]", "interface = eth0", "vrid = 7", "vip = 10.0.0.100/24",
                               "track_listener = web", "track_weight = 50", "[listener.web]",
                               "bind = 10.0.0.100:80", "backend = 10.0.1.1:80"}));
    ASSERT_TRUE(result.ok()) << ::testing::PrintToString(error_texts(result));
    EXPECT_EQ(result.config->vrrp[0].track_listener, "web");
    EXPECT_EQ(result.config->vrrp[0].track_weight, 50);

    EXPECT_EQ(errors_with("track_listener = api"),
              std::vector<std::string>{"t.conf:5: vrrp 'v': track_listener 'api' is not a listener"});
    EXPECT_EQ(errors_with("track_weight = 10"),
              std::vector<std::string>{"t.conf:5: vrrp 'v': track_weight without track_listener"});
}

TEST(VrrpSection, BadWordsAndPathsAreReported) {
    EXPECT_EQ(errors_with("preempt = yes"),
              std::vector<std::string>{"t.conf:5: vrrp 'v': bad preempt 'yes' (expected true or false)"});
    EXPECT_EQ(errors_with("notify = notify.sh"),
              std::vector<std::string>{"t.conf:5: vrrp 'v': notify 'notify.sh' is not an absolute path"});
    EXPECT_EQ(errors_with("preempt_delay = 2h"),
              std::vector<std::string>{"t.conf:5: vrrp 'v': preempt_delay 2h is longer than 1h"});
    EXPECT_EQ(errors_with("garp_interval = 0"),
              std::vector<std::string>{"t.conf:5: vrrp 'v': garp_interval must be greater than 0"});
    EXPECT_EQ(errors_with("colour = blue"), std::vector<std::string>{"t.conf:5: vrrp 'v': unknown key 'colour'"});
    EXPECT_EQ(errors_with("vrid = 8"),
              std::vector<std::string>{"t.conf:5: vrrp 'v': vrid given twice (lines 3 and 5)"});
}

TEST(VrrpSection, InterfaceNamesFollowTheKernelsRules) {
    for (std::string_view bad : {"eth0/1", "a:b", "sixteen-chars-xx", ".."}) {
        auto result = parse(lines({"[vrrp.v]", "interface = " + std::string(bad), "vrid = 7", "vip = 10.0.0.1"}));
        EXPECT_EQ(error_texts(result),
                  std::vector<std::string>{"t.conf:2: vrrp 'v': bad interface '" + std::string(bad) +
                                           "' (expected a network interface name of at most 15 characters)"})
            << bad;
    }
    EXPECT_TRUE(parse(lines({"[vrrp.v]", "interface = fifteen-chars-x", "vrid = 7", "vip = 10.0.0.1"})).ok());
}

TEST(VrrpSection, InstancesMustNotShareANameARouterOrAVip) {
    auto result = parse(lines({
        "[vrrp.a]", "interface = eth0", "vrid = 7", "vip = 10.0.0.1",          // 1-4
        "[vrrp.a]", "interface = eth1", "vrid = 8", "vip = 10.0.0.2",          // 5-8
        "[vrrp.b]", "interface = eth0", "vrid = 7", "vip = 10.0.0.3",          // 9-12
        "[vrrp.c]", "interface = eth1", "vrid = 7", "vip = 10.0.0.1/24",       // 13-16
    }));
    EXPECT_EQ(error_texts(result), (std::vector<std::string>{
                                       "t.conf:5: duplicate vrrp 'a' (first at line 1)",
                                       "t.conf:11: vrrp 'b': vrid 7 on eth0 is already used by vrrp 'a'",
                                       "t.conf:13: vrrp 'c': vip 10.0.0.1 is already managed by vrrp 'a'",
                                   }));
}

TEST(VrrpSection, TheSameVridOnAnotherInterfaceIsAnotherRouter) {
    auto result = parse(lines({"[vrrp.a]", "interface = eth0", "vrid = 7", "vip = 10.0.0.1", "[vrrp.b]",
                               "interface = eth1", "vrid = 7", "vip = 10.0.1.1"}));
    ASSERT_TRUE(result.ok()) << ::testing::PrintToString(error_texts(result));
    EXPECT_EQ(result.config->vrrp.size(), 2u);
}

TEST(VrrpSection, MoreThan255VipsDoNotFitInAnAdvertisement) {
    std::string text = "[vrrp.v]\ninterface = eth0\nvrid = 7\n";
    for (int i = 0; i < 256; ++i) text += "vip = 10.1." + std::to_string(i / 250) + "." + std::to_string(1 + i % 250) + "\n";
    EXPECT_EQ(error_texts(parse(text)),
              std::vector<std::string>{
                  "t.conf:259: vrrp 'v': more than 255 vips (an advertisement carries at most that many)"});
}

}  // namespace
}  // namespace ringlb
