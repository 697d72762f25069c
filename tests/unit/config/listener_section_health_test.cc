// The health keys of [listener.NAME] (max_fails, fail_timeout, slow_start,
// agent_port, agent_interval): defaults, parsing, errors, format_config round trips.
#include <gtest/gtest.h>

#include <string>

#include "core/config/config_parse.h"

namespace ringlb {
namespace {

std::string listener_with(std::string_view keys) {
    return "[global]\n\n[listener.web]\nbind = 127.0.0.1:8080\nbackend = 127.0.0.1:9001\nbackend = 127.0.0.1:9002\n" +
           std::string(keys);
}

TEST(ListenerSectionHealth, DefaultsFollowNginxForPassiveChecksAndLeaveTheRestOff) {
    ConfigParseResult result = parse_config(listener_with(""), "t.conf");
    ASSERT_TRUE(result.ok());
    const ListenerConfig& web = result.config->listeners.at(0);
    EXPECT_EQ(web.max_fails, 1u);
    EXPECT_EQ(web.fail_timeout, Millis(10000));
    EXPECT_EQ(web.slow_start, Millis(0));
    EXPECT_FALSE(web.agent_port);
    EXPECT_EQ(web.agent_interval, Millis(2000));
}

TEST(ListenerSectionHealth, ParsesEveryHealthKey) {
    ConfigParseResult result = parse_config(listener_with("max_fails = 3\nfail_timeout = 30s\nslow_start = 1m\n"
                                                          "agent_port = 9999\nagent_interval = 500ms\n"),
                                            "t.conf");
    ASSERT_TRUE(result.ok()) << (result.errors.empty() ? "" : result.errors[0].to_string());
    const ListenerConfig& web = result.config->listeners.at(0);
    EXPECT_EQ(web.max_fails, 3u);
    EXPECT_EQ(web.fail_timeout, Millis(30000));
    EXPECT_EQ(web.slow_start, Millis(60000));
    EXPECT_EQ(web.agent_port, uint16_t(9999));
    EXPECT_EQ(web.agent_interval, Millis(500));
}

TEST(ListenerSectionHealth, ZeroMaxFailsTurnsPassiveChecksOff) {
    ConfigParseResult result = parse_config(listener_with("max_fails = 0\n"), "t.conf");
    ASSERT_TRUE(result.ok());
    EXPECT_EQ(result.config->listeners.at(0).max_fails, 0u);
}

TEST(ListenerSectionHealth, BadValuesAreErrorsWithTheirLine) {
    ConfigParseResult result = parse_config(listener_with("max_fails = 1001\nfail_timeout = 0\nslow_start = 2x\n"
                                                          "agent_port = 0\nagent_interval = 0\n"),
                                            "t.conf");
    ASSERT_EQ(result.errors.size(), 5u);
    EXPECT_EQ(result.errors[0].to_string(), "t.conf:7: listener 'web': bad max_fails '1001' (expected a number 0..1000)");
    EXPECT_EQ(result.errors[1].to_string(), "t.conf:8: listener 'web': fail_timeout must be greater than 0");
    EXPECT_EQ(result.errors[2].line, 9);
    EXPECT_EQ(result.errors[3].to_string(), "t.conf:10: listener 'web': bad agent_port '0' (expected a number 1..65535)");
    EXPECT_EQ(result.errors[4].to_string(), "t.conf:11: listener 'web': agent_interval must be greater than 0");
}

TEST(ListenerSectionHealth, FormatConfigWritesChangedHealthKeysAndReadsThemBack) {
    ConfigParseResult result = parse_config(listener_with("max_fails = 0\nfail_timeout = 90s\nslow_start = 20s\n"
                                                          "agent_port = 7777\nagent_interval = 5s\n"),
                                            "t.conf");
    ASSERT_TRUE(result.ok());
    const std::string text = format_config(*result.config);
    EXPECT_NE(text.find("max_fails = 0\n"), std::string::npos) << text;
    EXPECT_NE(text.find("fail_timeout = 90s\n"), std::string::npos) << text;
    EXPECT_NE(text.find("slow_start = 20s\n"), std::string::npos) << text;
    EXPECT_NE(text.find("agent_port = 7777\n"), std::string::npos) << text;
    EXPECT_NE(text.find("agent_interval = 5s\n"), std::string::npos) << text;
    ConfigParseResult again = parse_config(text, "t.conf");
    ASSERT_TRUE(again.ok()) << text;
    const ListenerConfig& a = result.config->listeners.at(0);
    const ListenerConfig& b = again.config->listeners.at(0);
    EXPECT_EQ(a.max_fails, b.max_fails);
    EXPECT_EQ(a.fail_timeout, b.fail_timeout);
    EXPECT_EQ(a.slow_start, b.slow_start);
    EXPECT_EQ(a.agent_port, b.agent_port);
    EXPECT_EQ(a.agent_interval, b.agent_interval);
}

TEST(ListenerSectionHealth, DefaultHealthKeysAreNotWritten) {
    ConfigParseResult result = parse_config(listener_with(""), "t.conf");
    ASSERT_TRUE(result.ok());
    const std::string text = format_config(*result.config);
    for (const char* key : {"max_fails", "fail_timeout", "slow_start", "agent_port", "agent_interval"})
        EXPECT_EQ(text.find(key), std::string::npos) << key << " in\n" << text;
}

}  // namespace
}  // namespace ringlb
