// Helpers shared by the config parser's unit tests (config_parse_test, config_vrrp_test):
// texts built line by line, errors as "FILE:LINE: message", and the format → parse round
// trip that must give back an equal Config.
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
