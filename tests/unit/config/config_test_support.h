// Helpers shared by the config parser's unit tests: texts built line by line, errors as
// "FILE:LINE: message", the format → parse round trip that must give back an equal
// Config, and DESIGN §6's example.
#pragma once

#include <gtest/gtest.h>

#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "core/config/config_parse.h"
#include "tests/config_positions.h"

namespace ringlb::config_test {

// Joins lines with '\n', so in the tests line N is the Nth string.
inline std::string lines(std::initializer_list<std::string_view> text_lines) {
    std::string text;
    for (std::string_view line : text_lines) text.append(line).append("\n");
    return text;
}

inline std::string lines(const std::vector<std::string>& text_lines) {
    std::string text;
    for (const std::string& line : text_lines) text.append(line).append("\n");
    return text;
}

inline InetAddr addr(std::string_view text) {
    auto parsed = InetAddr::parse(text);
    EXPECT_TRUE(parsed) << text;
    return parsed.value_or(InetAddr{});
}

// DESIGN §6 without [vrrp.vip1], comments included.
inline constexpr std::string_view kDesignExampleWithoutVrrp = R"([global]
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

inline ConfigParseResult parse(std::string_view text) { return parse_config(text, "t.conf"); }

inline std::vector<std::string> error_texts(const ConfigParseResult& result) {
    std::vector<std::string> texts;
    for (const ConfigError& error : result.errors) texts.push_back(error.to_string());
    return texts;
}

// text parses; format_config of it parses to an equal Config and formats the same again.
inline void expect_round_trip(std::string_view text) {
    auto first = parse(text);
    ASSERT_TRUE(first.ok()) << ::testing::PrintToString(error_texts(first));
    const std::string formatted = format_config(*first.config);
    auto second = parse(formatted);
    ASSERT_TRUE(second.ok()) << formatted << ::testing::PrintToString(error_texts(second));
    EXPECT_EQ(without_positions(*second.config), without_positions(*first.config)) << formatted;
    EXPECT_EQ(format_config(*second.config), formatted);
}

}  // namespace ringlb::config_test
