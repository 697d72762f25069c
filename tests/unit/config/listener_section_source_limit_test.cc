// The abuse-limit keys of [listener.NAME] (max_conn_per_source,
// rate_per_source): defaults, parsing, errors with their line, round trips.
#include <gtest/gtest.h>

#include <string>

#include "core/config/config_parse.h"
#include "tests/unit/config/listener_text.h"

namespace ringlb {
namespace {

using testing::first_error;
using testing::listener_with;

TEST(ListenerSectionSourceLimit, BothLimitsAreOffByDefault) {
    ConfigParseResult result = parse_config(listener_with(""), "t.conf");
    ASSERT_TRUE(result.ok()) << first_error(result);
    const ListenerConfig& web = result.config->listeners.at(0);
    EXPECT_EQ(web.max_conn_per_source, 0u);
    EXPECT_EQ(web.rate_per_source, 0u);
}

TEST(ListenerSectionSourceLimit, ParsesBothKeys) {
    ConfigParseResult result =
        parse_config(listener_with("max_conn_per_source = 20\nrate_per_source = 50\n"), "t.conf");
    ASSERT_TRUE(result.ok()) << first_error(result);
    const ListenerConfig& web = result.config->listeners.at(0);
    EXPECT_EQ(web.max_conn_per_source, 20u);
    EXPECT_EQ(web.rate_per_source, 50u);
}

TEST(ListenerSectionSourceLimit, ZeroMeansUnlimitedAndTheLargestValuesAreAccepted) {
    ConfigParseResult zero = parse_config(listener_with("max_conn_per_source = 0\nrate_per_source = 0\n"), "t.conf");
    ASSERT_TRUE(zero.ok()) << first_error(zero);
    EXPECT_EQ(zero.config->listeners.at(0).max_conn_per_source, 0u);
    ConfigParseResult big =
        parse_config(listener_with("max_conn_per_source = 4294967295\nrate_per_source = 1000000\n"), "t.conf");
    ASSERT_TRUE(big.ok()) << first_error(big);
    EXPECT_EQ(big.config->listeners.at(0).max_conn_per_source, 4294967295u);
    EXPECT_EQ(big.config->listeners.at(0).rate_per_source, 1000000u);
}

TEST(ListenerSectionSourceLimit, BadValuesAreErrorsWithTheirLine) {
    // Line 6 is the first after the listener's bind and backend.
    const std::pair<std::string, std::string> cases[] = {
        {"max_conn_per_source = -1", "bad max_conn_per_source '-1' (expected a number 0..4294967295)"},
        {"max_conn_per_source = 4294967296", "bad max_conn_per_source '4294967296' (expected a number 0..4294967295)"},
        {"max_conn_per_source = ten", "bad max_conn_per_source 'ten' (expected a number 0..4294967295)"},
        {"rate_per_source = 1000001", "bad rate_per_source '1000001' (expected a number 0..1000000)"},
        {"rate_per_source = 5/s", "bad rate_per_source '5/s' (expected a number 0..1000000)"},
        {"rate_per_source = 2.5", "bad rate_per_source '2.5' (expected a number 0..1000000)"},
    };
    for (const auto& [line, message] : cases) {
        ConfigParseResult result = parse_config(listener_with(line + "\n"), "t.conf");
        ASSERT_EQ(result.errors.size(), 1u) << line;
        EXPECT_EQ(result.errors[0].to_string(), "t.conf:6: listener 'web': " + message);
    }
}

TEST(ListenerSectionSourceLimit, AKeyGivenTwiceIsAnError) {
    ConfigParseResult result = parse_config(listener_with("rate_per_source = 5\nrate_per_source = 6\n"), "t.conf");
    ASSERT_EQ(result.errors.size(), 1u);
    EXPECT_EQ(result.errors[0].to_string(), "t.conf:7: listener 'web': rate_per_source given twice (lines 6 and 7)");
}

TEST(ListenerSectionSourceLimit, FormatConfigWritesTheLimitsAndReadsThemBack) {
    ConfigParseResult result =
        parse_config(listener_with("max_conn_per_source = 7\nrate_per_source = 3\n"), "t.conf");
    ASSERT_TRUE(result.ok()) << first_error(result);
    const std::string text = format_config(*result.config);
    EXPECT_NE(text.find("max_conn_per_source = 7\n"), std::string::npos) << text;
    EXPECT_NE(text.find("rate_per_source = 3\n"), std::string::npos) << text;
    ConfigParseResult again = parse_config(text, "t.conf");
    ASSERT_TRUE(again.ok()) << text;
    EXPECT_EQ(again.config->listeners.at(0).max_conn_per_source, 7u);
    EXPECT_EQ(again.config->listeners.at(0).rate_per_source, 3u);
}

TEST(ListenerSectionSourceLimit, UnsetLimitsAreNotWritten) {
    ConfigParseResult result = parse_config(listener_with("max_conn_per_source = 0\n"), "t.conf");
    ASSERT_TRUE(result.ok()) << first_error(result);
    const std::string text = format_config(*result.config);
    EXPECT_EQ(text.find("_per_source"), std::string::npos) << text;
}

}  // namespace
}  // namespace ringlb
