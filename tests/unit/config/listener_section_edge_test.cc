// The client-address and edge keys of [listener.NAME]: allow, deny,
// accept_proxy*, transparent*, tcp_keepalive / keepalive_*, drain_timeout.
// Defaults, parsing, errors with their line, round trips through the writer.
#include <gtest/gtest.h>

#include <string>

#include "core/config/config_parse.h"
#include "tests/unit/config/listener_text.h"

namespace ringlb {
namespace {

using testing::first_error;
using testing::listener_with;

TEST(ListenerSectionEdge, EverythingIsOffByDefault) {
    ConfigParseResult result = parse_config(listener_with(""), "t.conf");
    ASSERT_TRUE(result.ok()) << first_error(result);
    const ListenerConfig& web = result.config->listeners.at(0);
    EXPECT_TRUE(web.allow.empty());
    EXPECT_TRUE(web.deny.empty());
    EXPECT_EQ(web.accept_proxy, AcceptProxy::kOff);
    EXPECT_EQ(web.accept_proxy_timeout, Millis(3000));
    EXPECT_FALSE(web.transparent);
    EXPECT_EQ(web.transparent_mark, 1u);
    EXPECT_FALSE(web.tcp_keepalive);
    EXPECT_EQ(web.keepalive_idle, Millis(60000));
    EXPECT_EQ(web.keepalive_interval, Millis(10000));
    EXPECT_EQ(web.keepalive_count, 6u);
    EXPECT_EQ(web.drain_timeout, Millis(0));
}

TEST(ListenerSectionEdge, AllowAndDenyTakeListsAndRepeatedLinesAdd) {
    ConfigParseResult result = parse_config(
        listener_with("allow = 10.0.0.0/8, 2001:db8::/32\nallow = 192.0.2.7\ndeny = 10.1.0.0/16\n"), "t.conf");
    ASSERT_TRUE(result.ok()) << first_error(result);
    const ListenerConfig& web = result.config->listeners.at(0);
    ASSERT_EQ(web.allow.size(), 3u);
    EXPECT_EQ(web.allow[0].to_string(), "10.0.0.0/8");
    EXPECT_EQ(web.allow[1].to_string(), "2001:db8::/32");
    EXPECT_EQ(web.allow[2].to_string(), "192.0.2.7/32");
    ASSERT_EQ(web.deny.size(), 1u);
    EXPECT_EQ(web.deny[0].to_string(), "10.1.0.0/16");
}

TEST(ListenerSectionEdge, BadValuesAreErrorsWithTheirLine) {
    const std::pair<std::string, std::string> cases[] = {
        {"allow = 10.0.0.0/33", "allow: "},
        {"deny = 10.0.0.1/8", "deny: "},
        {"allow = ", "allow lists no prefix"},
        {"accept_proxy = v3", "unknown accept_proxy 'v3' (expected off, v1, v2 or any)"},
        {"transparent = yes", "bad transparent 'yes' (expected on or off)"},
        {"tcp_keepalive = 1", "bad tcp_keepalive '1' (expected on or off)"},
        {"keepalive_idle = 1500ms", "bad keepalive_idle '1500ms' (expected whole seconds from 1s to 32767s)"},
        {"keepalive_interval = 0s", "bad keepalive_interval '0s' (expected whole seconds from 1s to 32767s)"},
        {"keepalive_count = 128", "bad keepalive_count '128'"},
        {"keepalive_count = 0", "bad keepalive_count '0'"},
        {"drain_timeout = soon", "bad duration 'soon' for drain_timeout"},
    };
    for (const auto& [line, message] : cases) {
        ConfigParseResult result = parse_config(listener_with(line + "\n"), "t.conf");
        ASSERT_EQ(result.errors.size(), 1u) << line;
        EXPECT_NE(result.errors[0].to_string().find("t.conf:6: listener 'web': " + message), std::string::npos)
            << line << " → " << result.errors[0].to_string();
    }
}

TEST(ListenerSectionEdge, AcceptProxyNeedsAcceptProxyFrom) {
    ConfigParseResult result = parse_config(listener_with("accept_proxy = v1\n"), "t.conf");
    ASSERT_EQ(result.errors.size(), 1u);
    EXPECT_NE(result.errors[0].to_string().find("t.conf:6: listener 'web': accept_proxy = v1 needs accept_proxy_from"),
              std::string::npos)
        << result.errors[0].to_string();
    ConfigParseResult any =
        parse_config(listener_with("accept_proxy = any\naccept_proxy_from = 127.0.0.0/8\n"), "t.conf");
    ASSERT_TRUE(any.ok()) << first_error(any);
    EXPECT_EQ(any.config->listeners.at(0).accept_proxy, AcceptProxy::kAny);
    ConfigParseResult off = parse_config(listener_with("accept_proxy = off\naccept_proxy_from = 127.0.0.0/8\n"), "t.conf");
    ASSERT_TRUE(off.ok()) << first_error(off);
}

TEST(ListenerSectionEdge, TransparentIsNotSupportedYetAndRefusesABackendOfTheOtherFamily) {
    ConfigParseResult result =
        parse_config(listener_with("transparent = on\nbackend = [::1]:9002\n"), "t.conf");
    ASSERT_EQ(result.errors.size(), 2u);
    EXPECT_EQ(result.errors[0].to_string(), "t.conf:6: listener 'web': transparent = on is not supported by this ringlbd yet");
    EXPECT_NE(result.errors[1].to_string().find("t.conf:7: listener 'web': transparent = on"), std::string::npos)
        << result.errors[1].to_string();
}

TEST(ListenerSectionEdge, FormatConfigWritesEveryKeyAndReadsItBack) {
    std::string keys = "accept_proxy = v2\naccept_proxy_timeout = 5s\naccept_proxy_from = 127.0.0.2, ::1\n"
                       "transparent_mark = 7\ntcp_keepalive = on\nkeepalive_idle = 30s\n"
                       "keepalive_interval = 5s\nkeepalive_count = 3\ndrain_timeout = 20s\ndeny = 10.9.0.0/16\n";
    for (int i = 0; i < 20; ++i) keys += "allow = 10.0." + std::to_string(i) + ".0/24\n";
    ConfigParseResult result = parse_config(listener_with(keys), "t.conf");
    ASSERT_TRUE(result.ok()) << first_error(result);
    const std::string text = format_config(*result.config);
    EXPECT_NE(text.find("transparent_mark = 7\n"), std::string::npos) << text;
    EXPECT_NE(text.find("drain_timeout = 20s\n"), std::string::npos) << text;
    ConfigParseResult again = parse_config(text, "t.conf");
    ASSERT_TRUE(again.ok()) << first_error(again) << "\n" << text;
    EXPECT_EQ(again.config->listeners.at(0).allow.size(), 20u);
    ListenerConfig before = result.config->listeners.at(0), after = again.config->listeners.at(0);
    before.line = after.line = 0;
    for (auto& b : before.backends) b.line = 0;
    for (auto& b : after.backends) b.line = 0;
    EXPECT_EQ(before, after) << text;
}

TEST(ListenerSectionEdge, UnsetKeysAreNotWritten) {
    ConfigParseResult result = parse_config(listener_with(""), "t.conf");
    ASSERT_TRUE(result.ok()) << first_error(result);
    const std::string text = format_config(*result.config);
    for (const char* key : {"allow", "deny", "accept_proxy", "transparent", "keepalive", "drain_timeout"})
        EXPECT_EQ(text.find(key), std::string::npos) << key << "\n" << text;
}

}  // namespace
}  // namespace ringlb
