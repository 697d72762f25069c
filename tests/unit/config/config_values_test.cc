// Unit tests for core/config/config_values: the value parsers the section parsers
// share, their messages, and that a refused value leaves the target alone.
#include "core/config/config_values.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ringlb {
namespace {

ConfigEntry entry(std::string key, std::string value) { return {std::move(key), std::move(value), 7}; }

TEST(ConfigValues, UnsignedNumbersAreDecimalDigitsOnly) {
    EXPECT_EQ(parse_config_uint("0"), 0u);
    EXPECT_EQ(parse_config_uint("007"), 7u);
    EXPECT_EQ(parse_config_uint("18446744073709551615"), UINT64_MAX);
    for (std::string_view bad : {"", "18446744073709551616", "+1", "-1", " 1", "1 ", "0x10", "1e3", "1.0"})
        EXPECT_EQ(parse_config_uint(bad), std::nullopt) << bad;
}

TEST(ConfigValues, Ipv4IsFourPartDottedDecimalInHostOrder) {
    EXPECT_EQ(parse_ipv4("10.99.7.1"), make_ipv4(10, 99, 7, 1));
    EXPECT_EQ(parse_ipv4("255.255.255.255"), make_ipv4(255, 255, 255, 255));
    for (std::string_view bad : {"", "10.1", "10.0.0", "256.0.0.1", "10.0.0.1 ", "1.2.3.4.5", "::1", "0010.0.0.1"})
        EXPECT_EQ(parse_ipv4(bad), std::nullopt) << bad;
}

TEST(ConfigValues, WordsAreSplitAtRunsOfSpacesAndTabs) {
    EXPECT_EQ(split_words("  a\tb   c \t"), (std::vector<std::string_view>{"a", "b", "c"}));
    EXPECT_EQ(split_words("one"), (std::vector<std::string_view>{"one"}));
    EXPECT_TRUE(split_words(" \t ").empty());
    EXPECT_TRUE(split_words("").empty());
}

TEST(ConfigValues, ChoiceListsReadAsEnglish) {
    auto same = [](std::string_view word) { return word; };
    EXPECT_EQ(choice_list(std::vector<std::string_view>{"a"}, same), "a");
    EXPECT_EQ(choice_list(std::vector<std::string_view>{"a", "b"}, same), "a or b");
    EXPECT_EQ(choice_list(std::vector<std::string_view>{"a", "b", "c"}, same), "a, b or c");
    EXPECT_EQ(expected_names<SpliceMode>(kSpliceModeNames), "auto, always or never");
}

TEST(ConfigValues, NumbersOutsideTheirRangeAreRefusedWithTheRange) {
    uint16_t port = 99;
    EXPECT_EQ(set_number(port, entry("port", "65535"), 1, 65535), std::nullopt);
    EXPECT_EQ(port, 65535);
    EXPECT_EQ(set_number(port, entry("port", "0"), 1, 65535), "bad port '0' (expected a number 1..65535)");
    EXPECT_EQ(set_number(port, entry("port", "x"), 1, 65535), "bad port 'x' (expected a number 1..65535)");
    EXPECT_EQ(port, 65535);
}

TEST(ConfigValues, DurationsTakeZeroUnlessTheyMustBePositive) {
    Millis value{123};
    EXPECT_EQ(set_duration(value, entry("grace", "0")), std::nullopt);
    EXPECT_EQ(value, Millis{0});
    EXPECT_EQ(set_duration(value, entry("grace", "15m")), std::nullopt);
    EXPECT_EQ(value, Millis{15 * 60 * 1000});
    EXPECT_EQ(set_positive_duration(value, entry("timeout", "0")), "timeout must be greater than 0");
    EXPECT_EQ(set_positive_duration(value, entry("timeout", "1.5s")),
              "bad duration '1.5s' for timeout (expected a whole number with ms, s, m or h, e.g. 500ms, 3s, 15m, "
              "1h)");
    EXPECT_EQ(value, Millis{15 * 60 * 1000});
    EXPECT_EQ(set_positive_duration(value, entry("timeout", "500ms")), std::nullopt);
    EXPECT_EQ(value, Millis{500});
}

TEST(ConfigValues, AddressesNeedANumericHostAndAPort) {
    InetAddr address;
    EXPECT_EQ(set_address(address, entry("bind", "[::1]:8080")), std::nullopt);
    EXPECT_EQ(address.to_string(), "[::1]:8080");
    EXPECT_EQ(set_address(address, entry("bind", "localhost:80")),
              "bad address 'localhost:80' for bind (expected IPV4:PORT or [IPV6]:PORT, port 1..65535)");
    EXPECT_EQ(address.to_string(), "[::1]:8080");
}

TEST(ConfigValues, BoolsAreTrueOrFalseSpeltOut) {
    bool flag = false;
    EXPECT_EQ(set_bool(flag, entry("preempt", "true")), std::nullopt);
    EXPECT_TRUE(flag);
    EXPECT_EQ(set_bool(flag, entry("preempt", "false")), std::nullopt);
    EXPECT_FALSE(flag);
    EXPECT_EQ(set_bool(flag, entry("preempt", "yes")), "bad preempt 'yes' (expected true or false)");
    EXPECT_EQ(set_bool(flag, entry("preempt", "TRUE")), "bad preempt 'TRUE' (expected true or false)");
    EXPECT_FALSE(flag);
}

TEST(ConfigValues, NamedChoicesListEveryNameWhenUnknown) {
    ProxyProtocol protocol = ProxyProtocol::kOff;
    EXPECT_EQ(set_named<ProxyProtocol>(protocol, entry("proxy_protocol", "v2"), kProxyProtocolNames), std::nullopt);
    EXPECT_EQ(protocol, ProxyProtocol::kV2);
    EXPECT_EQ(set_named<ProxyProtocol>(protocol, entry("proxy_protocol", "V1"), kProxyProtocolNames),
              "unknown proxy_protocol 'V1' (expected off, v1 or v2)");
    EXPECT_EQ(protocol, ProxyProtocol::kV2);
}

}  // namespace
}  // namespace ringlb
