// Unit tests for core/config_parse: ringlb.conf → Config, every error with its
// line, and format_config → parse_config round trips.
#include "core/config/config_parse.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "tests/unit/config/config_test_support.h"

namespace ringlb {
namespace {

using namespace config_test;

InetAddr addr(std::string_view text) {
    auto parsed = InetAddr::parse(text);
    EXPECT_TRUE(parsed) << text;
    return parsed.value_or(InetAddr{});
}

// DESIGN §6 without [vrrp.vip1], comments included.
constexpr std::string_view kDesignExample = R"([global]
workers = auto
control_socket = /run/ringlb/ringlbd.sock
metrics = 127.0.0.1:9650          # Prometheus text format at /metrics
log_level = info
access_log = /var/log/ringlb/access.log

[listener.web]
bind = 192.0.2.100:80
scheduler = leastconn             # leastconn | source-hash | roundrobin
backend = 10.0.1.11:8080 weight=3
backend = 10.0.1.12:8080
backend = 10.0.1.13:8080 backup
check = http GET /health expect 200
check_port = 8081
check_interval = 2s
check_timeout = 1s
rise = 2
fall = 3
connect_timeout = 3s
idle_timeout = 15m
half_close_timeout = 30s
splice = auto                     # auto | always | never
retries = 2
max_connections = 0               # per backend, 0 = unlimited
proxy_protocol = off              # off | v1 | v2
)";

TEST(ConfigParse, DesignExampleParsesToTheDocumentedValues) {
    auto result = parse_config(kDesignExample, "ringlb.conf");
    ASSERT_TRUE(result.ok()) << ::testing::PrintToString(error_texts(result));
    const Config& config = *result.config;
    EXPECT_EQ(config.source_file, "ringlb.conf");

    EXPECT_EQ(config.global.workers, 0);
    EXPECT_EQ(config.global.control_socket, "/run/ringlb/ringlbd.sock");
    ASSERT_TRUE(config.global.metrics);
    EXPECT_EQ(*config.global.metrics, addr("127.0.0.1:9650"));
    EXPECT_EQ(config.global.log_level, "info");
    EXPECT_EQ(config.global.access_log, "/var/log/ringlb/access.log");
    EXPECT_EQ(config.global.shutdown_grace, Millis{30000});

    ASSERT_EQ(config.listeners.size(), 1u);
    const ListenerConfig& web = config.listeners[0];
    EXPECT_EQ(web.name, "web");
    EXPECT_EQ(web.line, 8);
    EXPECT_EQ(web.bind, addr("192.0.2.100:80"));
    EXPECT_EQ(web.scheduler, SchedulerKind::kLeastConn);
    ASSERT_EQ(web.backends.size(), 3u);
    EXPECT_EQ(web.backends[0], (BackendConfig{addr("10.0.1.11:8080"), 3, false, 11}));
    EXPECT_EQ(web.backends[1], (BackendConfig{addr("10.0.1.12:8080"), 1, false, 12}));
    EXPECT_EQ(web.backends[2], (BackendConfig{addr("10.0.1.13:8080"), 1, true, 13}));
    EXPECT_EQ(web.check, (HealthCheckSpec{HealthCheckKind::kHttp, "GET", "/health", 200, 200, ""}));
    EXPECT_EQ(web.check_port, uint16_t{8081});
    EXPECT_EQ(web.check_interval, Millis{2000});
    EXPECT_EQ(web.check_timeout, Millis{1000});
    EXPECT_EQ(web.rise, 2);
    EXPECT_EQ(web.fall, 3);
    EXPECT_EQ(web.connect_timeout, Millis{3000});
    EXPECT_EQ(web.idle_timeout, Millis{15 * 60 * 1000});
    EXPECT_EQ(web.half_close_timeout, Millis{30000});
    EXPECT_EQ(web.queue_timeout, Millis{5000});
    EXPECT_EQ(web.splice, SpliceMode::kAuto);
    EXPECT_EQ(web.retries, 2);
    EXPECT_EQ(web.max_connections, 0u);
    EXPECT_EQ(web.proxy_protocol, ProxyProtocol::kOff);
    EXPECT_EQ(web.hash_table_size, 65537u);
    EXPECT_EQ(config.find_listener("web"), &web);
}

TEST(ConfigParse, OmittedKeysTakeTheDefaultsOfTheModel) {
    auto result = parse(lines({"[listener.a]", "bind = 127.0.0.1:1000", "backend = 127.0.0.2:80"}));
    ASSERT_TRUE(result.ok()) << ::testing::PrintToString(error_texts(result));
    ListenerConfig expected;
    expected.name = "a";
    expected.line = 1;
    expected.bind = addr("127.0.0.1:1000");
    expected.backends = {BackendConfig{addr("127.0.0.2:80"), 1, false, 3}};
    EXPECT_EQ(result.config->global, GlobalConfig{});
    ASSERT_EQ(result.config->listeners.size(), 1u);
    EXPECT_EQ(result.config->listeners[0], expected);
}

TEST(ConfigParse, AnEmptyFileIsAValidConfigWithoutListeners) {
    auto result = parse("# nothing yet\n\n");
    ASSERT_TRUE(result.ok());
    EXPECT_TRUE(result.config->listeners.empty());
}

TEST(ConfigParse, IPv6BindAndBackendsAreAccepted) {
    auto result = parse(lines({"[listener.v6]", "bind = [::1]:8080", "backend = [2001:db8::10]:80 weight=2",
                               "backend = 10.0.0.1:80"}));
    ASSERT_TRUE(result.ok()) << ::testing::PrintToString(error_texts(result));
    const ListenerConfig& listener = result.config->listeners.at(0);
    EXPECT_EQ(listener.bind.family(), AF_INET6);
    EXPECT_EQ(listener.bind.to_string(), "[::1]:8080");
    EXPECT_EQ(listener.backends.at(0).address.to_string(), "[2001:db8::10]:80");
    EXPECT_EQ(listener.backends.at(0).weight, 2u);
}

TEST(ConfigParse, InlineCommentsAndCarriageReturnsAreStripped) {
    auto result = parse("[global]  # the daemon\r\n"
                        "access_log = /var/log/a.log# no space before the comment\r\n"
                        "   # an indented comment line\r\n"
                        "[listener.web]\r\n"
                        "bind = 127.0.0.1:80 # the VIP\r\n"
                        "backend = 127.0.0.2:80 backup   # spare\r\n"
                        "backend = 127.0.0.3:80");  // no final newline
    ASSERT_TRUE(result.ok()) << ::testing::PrintToString(error_texts(result));
    EXPECT_EQ(result.config->global.access_log, "/var/log/a.log");
    const ListenerConfig& web = result.config->listeners.at(0);
    EXPECT_EQ(web.bind, addr("127.0.0.1:80"));
    ASSERT_EQ(web.backends.size(), 2u);
    EXPECT_TRUE(web.backends[0].backup);
    EXPECT_EQ(web.backends[1].line, 7);
}

TEST(ConfigParse, SectionsKeepFileOrderAndSpacesInsideBracketsAreIgnored) {
    auto result = parse(lines({"[listener.b]", "bind = 127.0.0.1:2", "backend = 127.0.0.9:1",
                               "[ listener.a ]", "bind = 127.0.0.1:1", "backend = 127.0.0.9:1"}));
    ASSERT_TRUE(result.ok()) << ::testing::PrintToString(error_texts(result));
    ASSERT_EQ(result.config->listeners.size(), 2u);
    EXPECT_EQ(result.config->listeners[0].name, "b");
    EXPECT_EQ(result.config->listeners[1].name, "a");
    EXPECT_EQ(result.config->listeners[1].line, 4);
}

TEST(ConfigParse, UnknownSchedulerNamesTheListenerAndTheChoices) {
    std::string text = lines({"[global]", "workers = 4", "", "[listener.api]", "bind = 127.0.0.1:81",
                              "backend = 127.0.0.2:80", "", "[listener.web]", "bind = 127.0.0.1:80",
                              "backend = 127.0.0.3:80", "", "scheduler = fastest"});
    auto result = parse_config(text, "ringlb.conf");
    EXPECT_FALSE(result.ok());
    EXPECT_EQ(result.config, nullptr);
    EXPECT_EQ(error_texts(result),
              std::vector<std::string>{"ringlb.conf:12: listener 'web': unknown scheduler 'fastest' "
                                       "(expected leastconn, source-hash or roundrobin)"});
}

TEST(ConfigParse, EachSchedulerNameIsAccepted) {
    const std::pair<const char*, SchedulerKind> cases[] = {{"leastconn", SchedulerKind::kLeastConn},
                                                           {"source-hash", SchedulerKind::kSourceHash},
                                                           {"roundrobin", SchedulerKind::kRoundRobin}};
    for (auto [name, kind] : cases) {
        auto result = parse(lines({"[listener.a]", "bind = 127.0.0.1:1", "backend = 127.0.0.2:1"}) +
                            "scheduler = " + name + "\n");
        ASSERT_TRUE(result.ok()) << name;
        EXPECT_EQ(result.config->listeners[0].scheduler, kind);
    }
}

TEST(ConfigParse, UnknownSectionIsReportedAtItsHeaderAndItsKeysAreSkipped) {
    auto result = parse(lines({"[global]", "workers = 2", "[backend.b1]", "interface = eth0", "vrid = 51",
                               "[listener.web]", "bind = 127.0.0.1:80", "backend = 127.0.0.2:80"}));
    EXPECT_EQ(error_texts(result),
              std::vector<std::string>{
                  "t.conf:3: unknown section [backend.b1] (expected [global], [listener.NAME] or [vrrp.NAME])"});
}

TEST(ConfigParse, MalformedSectionHeadersAreReported) {
    auto result = parse(lines({"[listener]", "bind = 127.0.0.1:1", "[global.main]", "[listener.we b]",
                               "[listener.a.b]", "[Global]"}));
    EXPECT_EQ(error_texts(result),
              (std::vector<std::string>{
                  "t.conf:1: section [listener] needs a name: [listener.NAME]",
                  "t.conf:3: section [global] takes no name, found [global.main]",
                  "t.conf:4: bad listener name 'we b' (letters, digits, '-' and '_' only)",
                  "t.conf:5: bad listener name 'a.b' (letters, digits, '-' and '_' only)",
                  "t.conf:6: unknown section [Global] (expected [global], [listener.NAME] or [vrrp.NAME])",
              }));
}

TEST(ConfigParse, UnknownKeyIsReportedInTheSectionItIsIn) {
    auto result = parse(lines({"[global]", "worker = 2", "[listener.web]", "bind = 127.0.0.1:80",
                               "backend = 127.0.0.2:80", "bnid = 127.0.0.1:81"}));
    EXPECT_EQ(error_texts(result), (std::vector<std::string>{"t.conf:2: global: unknown key 'worker'",
                                                             "t.conf:6: listener 'web': unknown key 'bnid'"}));
}

TEST(ConfigParse, BadAddressesAndPortsAreReportedWithTheirLines) {
    auto result = parse(lines({"[global]", "metrics = localhost:9650", "[listener.web]",
                               "bind = 127.0.0.1:65536", "backend = 10.0.0.300:80", "backend = 10.0.0.1",
                               "check_port = 0"}));
    EXPECT_EQ(error_texts(result),
              (std::vector<std::string>{
                  "t.conf:2: global: bad address 'localhost:9650' for metrics (expected IPV4:PORT or "
                  "[IPV6]:PORT, port 1..65535)",
                  "t.conf:4: listener 'web': bad address '127.0.0.1:65536' for bind (expected IPV4:PORT or "
                  "[IPV6]:PORT, port 1..65535)",
                  "t.conf:5: listener 'web': bad address '10.0.0.300:80' for backend (expected IPV4:PORT or "
                  "[IPV6]:PORT, port 1..65535)",
                  "t.conf:6: listener 'web': bad address '10.0.0.1' for backend (expected IPV4:PORT or "
                  "[IPV6]:PORT, port 1..65535)",
                  "t.conf:7: listener 'web': bad check_port '0' (expected a number 1..65535)",
              }));
}

TEST(ConfigParse, BadDurationsAreReported) {
    auto result = parse(lines({"[global]", "shutdown_grace = 30", "[listener.web]", "bind = 127.0.0.1:80",
                               "backend = 127.0.0.2:80", "connect_timeout = 1.5s", "idle_timeout = 0",
                               "queue_timeout = 0"}));
    EXPECT_EQ(error_texts(result),
              (std::vector<std::string>{
                  "t.conf:2: global: bad duration '30' for shutdown_grace (expected a whole number with ms, "
                  "s, m or h, e.g. 500ms, 3s, 15m, 1h)",
                  "t.conf:6: listener 'web': bad duration '1.5s' for connect_timeout (expected a whole "
                  "number with ms, s, m or h, e.g. 500ms, 3s, 15m, 1h)",
                  "t.conf:7: listener 'web': idle_timeout must be greater than 0",
              }));
}

TEST(ConfigParse, DuplicateBindPointsAtTheSecondAndNamesTheFirst) {
    auto result = parse(lines({"[listener.a]", "bind = 127.0.0.1:80", "backend = 127.0.0.2:80", "",
                               "[listener.b]", "backend = 127.0.0.3:80", "bind = 127.0.0.1:80"}));
    EXPECT_EQ(error_texts(result),
              std::vector<std::string>{"t.conf:7: listener 'b': bind 127.0.0.1:80 is already used by "
                                       "listener 'a' at line 2"});
}

TEST(ConfigParse, SamePortOnDifferentAddressesIsNotADuplicateBind) {
    auto result = parse(lines({"[listener.a]", "bind = 127.0.0.1:80", "backend = 127.0.0.9:80",
                               "[listener.b]", "bind = 127.0.0.2:80", "backend = 127.0.0.9:80"}));
    EXPECT_TRUE(result.ok()) << ::testing::PrintToString(error_texts(result));
}

TEST(ConfigParse, ListenerWithoutBackendsIsReportedAtItsHeader) {
    auto result = parse(lines({"[global]", "", "[listener.empty]", "bind = 127.0.0.1:80", "rise = 3"}));
    EXPECT_EQ(error_texts(result),
              std::vector<std::string>{
                  "t.conf:3: listener 'empty': no backends (add 'backend = ADDR:PORT')"});
}

TEST(ConfigParse, MissingBindIsReportedAtTheHeader) {
    auto result = parse(lines({"[listener.web]", "backend = 127.0.0.2:80"}));
    EXPECT_EQ(error_texts(result), std::vector<std::string>{"t.conf:1: listener 'web': missing bind"});
}

TEST(ConfigParse, WeightOutsideOneTo256IsReported) {
    auto result = parse(lines({"[listener.web]", "bind = 127.0.0.1:80", "backend = 127.0.0.2:80 weight=0",
                               "backend = 127.0.0.3:80 weight=257", "backend = 127.0.0.4:80 weight=256",
                               "backend = 127.0.0.5:80 weight=1"}));
    EXPECT_EQ(error_texts(result),
              (std::vector<std::string>{
                  "t.conf:3: listener 'web': backend 127.0.0.2:80: bad weight '0' (expected a number 1..256)",
                  "t.conf:4: listener 'web': backend 127.0.0.3:80: bad weight '257' (expected a number "
                  "1..256)",
              }));
}

TEST(ConfigParse, BadBackendOptionsAreReported) {
    auto result = parse(lines({"[listener.web]", "bind = 127.0.0.1:80", "backend = 127.0.0.2:80 weight=x",
                               "backend = 127.0.0.3:80 weight = 3", "backend = 127.0.0.4:80 backup backup",
                               "backend = 127.0.0.5:80 weight=2 weight=3", "backend = 127.0.0.6:80 backup weight=4"}));
    EXPECT_EQ(error_texts(result),
              (std::vector<std::string>{
                  "t.conf:3: listener 'web': backend 127.0.0.2:80: bad weight 'x' (expected a number 1..256)",
                  "t.conf:4: listener 'web': backend 127.0.0.3:80: unknown option 'weight' (expected "
                  "weight=N, backup or state=ready|drain|maint)",
                  "t.conf:5: listener 'web': backend 127.0.0.4:80: backup given twice",
                  "t.conf:6: listener 'web': backend 127.0.0.5:80: weight given twice",
              }));
}

TEST(ConfigParse, DuplicateBackendWithinAListenerNamesTheFirstLine) {
    auto result = parse(lines({"[listener.web]", "bind = 127.0.0.1:80", "backend = 127.0.0.2:80",
                               "backend = 127.0.0.3:80", "backend = 127.0.0.2:80 weight=2",
                               "[listener.other]", "bind = 127.0.0.1:81", "backend = 127.0.0.2:80"}));
    EXPECT_EQ(error_texts(result),
              std::vector<std::string>{
                  "t.conf:5: listener 'web': duplicate backend 127.0.0.2:80 (first at line 3)"});
}

TEST(ConfigParse, TwentyThousandBackendsKeepTheirOrderAndEveryRepeatNamesTheFirstLine) {
    std::vector<std::string> text{"[listener.web]", "bind = 127.0.0.1:80"};
    auto address = [](int i) { return "10.0." + std::to_string(i / 256) + "." + std::to_string(i % 256) + ":80"; };
    for (int i = 0; i < 20000; ++i) text.push_back("backend = " + address(i));
    text.push_back("backend = " + address(7));       // line 20003: a repeat of line 10
    text.push_back("backend = " + address(19999));   // line 20004: a repeat of line 20002
    text.push_back("backend = " + address(7));       // line 20005: a third time
    auto result = parse(lines(text));
    EXPECT_EQ(error_texts(result),
              (std::vector<std::string>{
                  "t.conf:20003: listener 'web': duplicate backend 10.0.0.7:80 (first at line 10)",
                  "t.conf:20004: listener 'web': duplicate backend 10.0.78.31:80 (first at line 20002)",
                  "t.conf:20005: listener 'web': duplicate backend 10.0.0.7:80 (first at line 10)",
              }));
}

TEST(ConfigParse, TwentyThousandDistinctBackendsParseInFileOrder) {
    std::vector<std::string> text{"[listener.web]", "bind = 127.0.0.1:80"};
    for (int i = 0; i < 20000; ++i)
        text.push_back("backend = 10.1." + std::to_string(i / 256) + "." + std::to_string(i % 256) + ":80");
    auto result = parse(lines(text));
    ASSERT_TRUE(result.errors.empty()) << error_texts(result).front();
    const auto& backends = result.config->listeners.at(0).backends;
    ASSERT_EQ(backends.size(), 20000u);
    for (int i : {0, 1, 9999, 19999}) {
        EXPECT_EQ(backends[size_t(i)].line, i + 3);
        EXPECT_EQ(backends[size_t(i)].address.to_string(),
                  "10.1." + std::to_string(i / 256) + "." + std::to_string(i % 256) + ":80");
    }
}

TEST(ConfigParse, BadNumbersAreReportedWithTheirRange) {
    auto result = parse(lines({"[global]", "workers = 0", "[listener.web]", "bind = 127.0.0.1:80",
                               "backend = 127.0.0.2:80", "retries = 17", "rise = 0", "fall = three",
                               "max_connections = -1", "max_connections2 = 1"}));
    EXPECT_EQ(error_texts(result),
              (std::vector<std::string>{
                  "t.conf:2: global: bad workers '0' (expected auto or a number 1..256)",
                  "t.conf:6: listener 'web': bad retries '17' (expected a number 0..16)",
                  "t.conf:7: listener 'web': bad rise '0' (expected a number 1..100)",
                  "t.conf:8: listener 'web': bad fall 'three' (expected a number 1..100)",
                  "t.conf:9: listener 'web': bad max_connections '-1' (expected a number 0..4294967295)",
                  "t.conf:10: listener 'web': unknown key 'max_connections2'",
              }));
}

TEST(ConfigParse, EnumeratedValuesListTheirChoices) {
    auto result = parse(lines({"[global]", "log_level = verbose", "[listener.web]", "bind = 127.0.0.1:80",
                               "backend = 127.0.0.2:80", "splice = sometimes", "proxy_protocol = v3"}));
    EXPECT_EQ(error_texts(result),
              (std::vector<std::string>{
                  "t.conf:2: global: unknown log_level 'verbose' (expected trace, debug, info, warn, error, "
                  "critical or off)",
                  "t.conf:6: listener 'web': unknown splice 'sometimes' (expected auto, always or never)",
                  "t.conf:7: listener 'web': unknown proxy_protocol 'v3' (expected off, v1 or v2)",
              }));
}

TEST(ConfigParse, RepeatedSingleValuedKeyNamesBothLines) {
    auto result = parse(lines({"[global]", "workers = 2", "workers = 3", "[listener.web]",
                               "bind = 127.0.0.1:80", "scheduler = leastconn", "backend = 127.0.0.2:80",
                               "scheduler = roundrobin"}));
    EXPECT_EQ(error_texts(result),
              (std::vector<std::string>{"t.conf:3: global: workers given twice (lines 2 and 3)",
                                        "t.conf:8: listener 'web': scheduler given twice (lines 6 and 8)"}));
}

TEST(ConfigParse, DuplicateSectionsAreReportedAtTheSecondHeader) {
    auto result = parse(lines({"[global]", "[listener.web]", "bind = 127.0.0.1:80", "backend = 127.0.0.2:80",
                               "[global]", "workers = x", "[listener.web]", "bind = 127.0.0.1:81",
                               "backend = 127.0.0.2:80"}));
    EXPECT_EQ(error_texts(result),
              (std::vector<std::string>{
                  "t.conf:5: duplicate section [global] (first at line 1)",
                  "t.conf:6: global: bad workers 'x' (expected auto or a number 1..256)",
                  "t.conf:7: duplicate listener 'web' (first at line 2)",
              }));
}

TEST(ConfigParse, SyntaxErrorsAreAllReportedAndStopBeforeKeysAreChecked) {
    auto result = parse(lines({"workers = 2", "[global]", "workers", "[]", "[listener.web]",
                               "bind = 127.0.0.1:80", "= 5", "; old = comment", "[listener.x", "nonsense = 1"}));
    // "nonsense" would be an unknown key, but keys are not looked at while the
    // file does not even tokenize.
    EXPECT_EQ(error_texts(result),
              (std::vector<std::string>{
                  "t.conf:1: key 'workers' comes before any section (expected [global], [listener.NAME] or "
                  "[vrrp.NAME] first)",
                  "t.conf:3: expected '[section]' or 'key = value', found 'workers'",
                  "t.conf:4: empty section name '[]'",
                  "t.conf:7: missing key before '='",
                  "t.conf:8: ';' does not start a comment; use '#'",
                  "t.conf:9: expected '[section]' or 'key = value', found '[listener.x'",
              }));
}

TEST(ConfigParse, EveryErrorIsReportedInLineOrder) {
    auto result = parse(lines({
        "[global]",                          // 1
        "workers = many",                    // 2
        "[listener.web]",                    // 3  (no backends)
        "bind = 127.0.0.1:80",               // 4
        "scheduler = fastest",               // 5
        "connect_timeout = 3",               // 6
        "[listener.api]",                    // 7
        "bind = 127.0.0.1:80",               // 8  duplicate bind
        "backend = 127.0.0.2:80 weight=999", // 9  (counts as a backend: no "no backends" noise)
        "colour = blue",                     // 10
        "[backend.b1]",                      // 11
    }));
    EXPECT_EQ(error_texts(result),
              (std::vector<std::string>{
                  "t.conf:2: global: bad workers 'many' (expected auto or a number 1..256)",
                  "t.conf:3: listener 'web': no backends (add 'backend = ADDR:PORT')",
                  "t.conf:5: listener 'web': unknown scheduler 'fastest' (expected leastconn, source-hash or "
                  "roundrobin)",
                  "t.conf:6: listener 'web': bad duration '3' for connect_timeout (expected a whole number "
                  "with ms, s, m or h, e.g. 500ms, 3s, 15m, 1h)",
                  "t.conf:8: listener 'api': bind 127.0.0.1:80 is already used by listener 'web' at line 4",
                  "t.conf:9: listener 'api': backend 127.0.0.2:80: bad weight '999' (expected a number 1..256)",
                  "t.conf:10: listener 'api': unknown key 'colour'",
                  "t.conf:11: unknown section [backend.b1] (expected [global], [listener.NAME] or [vrrp.NAME])",
              }));
    EXPECT_EQ(result.config, nullptr);
}

TEST(ConfigParse, HealthCheckSpecsOfEveryKind) {
    struct Case {
        const char* text;
        HealthCheckSpec expected;
    };
    const Case cases[] = {
        {"none", HealthCheckSpec{}},
        {"tcp", HealthCheckSpec{HealthCheckKind::kTcp, "GET", "/", 200, 200, ""}},
        {"http GET /health expect 200", HealthCheckSpec{HealthCheckKind::kHttp, "GET", "/health", 200, 200, ""}},
        {"http   HEAD /  expect 200-399", HealthCheckSpec{HealthCheckKind::kHttp, "HEAD", "/", 200, 399, ""}},
        {"http GET /status?full=1 expect 204 host api.example.com",
         HealthCheckSpec{HealthCheckKind::kHttp, "GET", "/status?full=1", 204, 204, "api.example.com"}},
    };
    for (const Case& c : cases) {
        auto result = parse(lines({"[listener.a]", "bind = 127.0.0.1:1", "backend = 127.0.0.2:1"}) +
                            "check = " + c.text + "\n");
        ASSERT_TRUE(result.ok()) << c.text << ": " << ::testing::PrintToString(error_texts(result));
        EXPECT_EQ(result.config->listeners[0].check, c.expected) << c.text;
    }
}

TEST(ConfigParse, MalformedHealthChecksAreReported) {
    const std::pair<const char*, const char*> cases[] = {
        {"ping", "bad check 'ping' (expected none, tcp or 'http METHOD PATH expect STATUS [host NAME]')"},
        {"http GET /", "bad check 'http GET /' (expected none, tcp or 'http METHOD PATH expect STATUS [host NAME]')"},
        {"http get / expect 200", "bad check method 'get' (expected upper case, e.g. GET or HEAD)"},
        {"http GET health expect 200", "bad check path 'health' (expected it to start with '/')"},
        {"http GET / want 200", "bad check 'http GET / want 200' (expected none, tcp or 'http METHOD PATH "
                                "expect STATUS [host NAME]')"},
        {"http GET / expect 2xx", "bad check status '2xx' (expected a status 100..599 or a range such as 200-399)"},
        {"http GET / expect 399-200", "bad check status '399-200' (expected a status 100..599 or a range such "
                                      "as 200-399)"},
        {"http GET / expect 200 vhost a", "bad check 'http GET / expect 200 vhost a' (expected none, tcp or "
                                          "'http METHOD PATH expect STATUS [host NAME]')"},
        {"tcp 80", "bad check 'tcp 80' (expected none, tcp or 'http METHOD PATH expect STATUS [host NAME]')"},
    };
    for (auto [text, message] : cases) {
        auto result = parse(lines({"[listener.a]", "bind = 127.0.0.1:1", "backend = 127.0.0.2:1"}) +
                            "check = " + text + "\n");
        EXPECT_EQ(error_texts(result), std::vector<std::string>{"t.conf:4: listener 'a': " + std::string(message)});
    }
}

TEST(ConfigParse, HashTableSizeMustBeAPrimeInRange) {
    auto with_size = [](const char* size) {
        return parse(lines({"[listener.a]", "bind = 127.0.0.1:1", "backend = 127.0.0.2:1"}) +
                     "hash_table_size = " + size + "\n");
    };
    auto prime = with_size("655373");
    ASSERT_TRUE(prime.ok()) << ::testing::PrintToString(error_texts(prime));
    EXPECT_EQ(prime.config->listeners[0].hash_table_size, 655373u);
    EXPECT_TRUE(with_size("1009").ok());
    EXPECT_TRUE(with_size("10000019").ok());
    EXPECT_EQ(error_texts(with_size("65536")),
              std::vector<std::string>{
                  "t.conf:4: listener 'a': hash_table_size 65536 is not a prime (e.g. 65537 or 655373)"});
    EXPECT_EQ(error_texts(with_size("1007")),
              std::vector<std::string>{
                  "t.conf:4: listener 'a': bad hash_table_size '1007' (expected a number 1009..10000019)"});
    EXPECT_FALSE(with_size("10000079").ok());  // prime, but above the limit
}

TEST(ConfigParse, WorkersIsAutoOrACount) {
    auto with_workers = [](const char* value) { return parse("[global]\nworkers = " + std::string(value) + "\n"); };
    EXPECT_EQ(with_workers("auto").config->global.workers, 0);
    EXPECT_EQ(with_workers("1").config->global.workers, 1);
    EXPECT_EQ(with_workers("256").config->global.workers, 256);
    EXPECT_FALSE(with_workers("257").ok());
    EXPECT_FALSE(with_workers("AUTO").ok());
}

TEST(ConfigParse, ControlSocketPathMustFitInSockaddrUn) {
    EXPECT_TRUE(parse("[global]\ncontrol_socket = /" + std::string(106, 'a') + "\n").ok());
    EXPECT_EQ(error_texts(parse("[global]\ncontrol_socket = /" + std::string(107, 'a') + "\n")),
              std::vector<std::string>{
                  "t.conf:2: global: control_socket path is 108 bytes long; a Unix socket path holds at most 107"});
    EXPECT_FALSE(parse("[global]\ncontrol_socket =\n").ok());
}

// Every key set away from its default, so the round trip exercises every writer.
constexpr std::string_view kEveryKey = R"([global]
workers = 8
control_socket = /tmp/ringlb.sock
metrics = [::1]:9650
log_level = debug
access_log = /var/log/ringlb/access.log
shutdown_grace = 90s

[listener.web]
bind = 192.0.2.100:443
scheduler = source-hash
backend = 10.0.1.11:8443 weight=3
backend = [2001:db8::12]:8443 weight=256 backup
backend = 10.0.1.13:8443 backup
check = http HEAD /ready expect 200-299 host web.example
check_port = 8081
check_interval = 500ms
check_timeout = 250ms
rise = 5
fall = 1
connect_timeout = 1500ms
idle_timeout = 1h
half_close_timeout = 10s
queue_timeout = 0
splice = never
retries = 0
max_connections = 1000
proxy_protocol = v2
hash_table_size = 655373

[listener.plain]
bind = 127.0.0.1:9000
scheduler = roundrobin
backend = 127.0.0.2:9000
check = tcp
)";

TEST(ConfigParse, FormattedConfigParsesBackToAnEqualConfig) {
    for (std::string_view text : {kEveryKey, kDesignExample}) expect_round_trip(text);
}

TEST(ConfigParse, RoundTripNoticesAChangedValue) {
    // Guards the round-trip test: equality must see a difference in any field.
    auto parsed = parse(kEveryKey);
    ASSERT_TRUE(parsed.ok());
    Config changed = *parsed.config;
    changed.listeners[0].backends[1].backup = false;
    auto reparsed = parse(format_config(changed));
    ASSERT_TRUE(reparsed.ok());
    EXPECT_NE(without_positions(*reparsed.config), without_positions(*parsed.config));
    EXPECT_EQ(without_positions(*reparsed.config), without_positions(changed));
}

TEST(ConfigParse, FormatWritesOnlyKeysThatDifferFromDefaults) {
    auto parsed = parse(kDesignExample);
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(format_config(*parsed.config),
              "[global]\n"
              "metrics = 127.0.0.1:9650\n"
              "access_log = /var/log/ringlb/access.log\n"
              "\n"
              "[listener.web]\n"
              "bind = 192.0.2.100:80\n"
              "scheduler = leastconn\n"
              "backend = 10.0.1.11:8080 weight=3\n"
              "backend = 10.0.1.12:8080\n"
              "backend = 10.0.1.13:8080 backup\n"
              "check = http GET /health expect 200\n"
              "check_port = 8081\n");
}

TEST(ConfigParse, FormatOfAConfigBuiltInCodeReadsBack) {
    // The control socket builds configs without parsing; they must persist too.
    Config config;
    ListenerConfig listener;
    listener.name = "db";
    listener.bind = addr("[::]:5432");
    listener.scheduler = SchedulerKind::kRoundRobin;
    listener.backends = {BackendConfig{addr("10.0.2.1:5432"), 7, false, 0},
                         BackendConfig{addr("10.0.2.2:5432"), 1, true, 0}};
    listener.idle_timeout = Millis{2 * 3600 * 1000};
    listener.check.kind = HealthCheckKind::kTcp;
    config.listeners.push_back(listener);
    config.global.workers = 3;
    auto parsed = parse(format_config(config));
    ASSERT_TRUE(parsed.ok()) << ::testing::PrintToString(error_texts(parsed));
    EXPECT_EQ(without_positions(*parsed.config), config);
}

TEST(ConfigParse, LoadReportsAnUnreadableFileAsOneErrorAtLineZero) {
    std::string path = ::testing::TempDir() + "ringlb-config-test-does-not-exist.conf";
    std::remove(path.c_str());
    auto result = load_config_file(path);
    EXPECT_EQ(error_texts(result), std::vector<std::string>{path + ":0: cannot read: No such file or directory"});
    EXPECT_EQ(result.config, nullptr);
}

TEST(ConfigParse, LoadReadsTheFileAndNamesItInErrorsAndTheConfig) {
    std::string path = ::testing::TempDir() + "ringlb-config-test.conf";
    {
        std::ofstream out(path);
        out << "[listener.web]\nbind = 127.0.0.1:80\nbackend = 127.0.0.2:80\n";
    }
    auto good = load_config_file(path);
    ASSERT_TRUE(good.ok()) << ::testing::PrintToString(error_texts(good));
    EXPECT_EQ(good.config->source_file, path);
    {
        std::ofstream out(path);
        out << "[listener.web]\nbind = 127.0.0.1:80\n";
    }
    EXPECT_EQ(error_texts(load_config_file(path)),
              std::vector<std::string>{path + ":1: listener 'web': no backends (add 'backend = ADDR:PORT')"});
    std::remove(path.c_str());
}

TEST(ConfigParse, ReadingADirectoryIsACannotReadError) {
    auto result = load_config_file(::testing::TempDir());
    ASSERT_EQ(result.errors.size(), 1u);
    EXPECT_EQ(result.errors[0].line, 0);
    EXPECT_NE(result.errors[0].message.find("cannot read: "), std::string::npos) << result.errors[0].message;
}

}  // namespace
}  // namespace ringlb
