// Test helpers for the [listener.NAME] key tests: one listener "web" with one
// backend, the keys under test appended (they start at line 6), and the first
// error of a parse as text.
#pragma once

#include <string>
#include <string_view>

#include "core/config/config_parse.h"

namespace ringlb::testing {

inline std::string listener_with(std::string_view keys) {
    return "[global]\n\n[listener.web]\nbind = 127.0.0.1:8080\nbackend = 127.0.0.1:9001\n" + std::string(keys);
}

inline std::string first_error(const ConfigParseResult& result) {
    return result.errors.empty() ? "" : result.errors[0].to_string();
}

}  // namespace ringlb::testing
