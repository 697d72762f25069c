// Small string helpers shared by the parsers (config file, agent replies).
#pragma once

#include <string_view>

namespace ringlb {

// Without leading and trailing spaces, tabs, CR and LF.
inline std::string_view trim(std::string_view text) {
    constexpr std::string_view kSpace = " \t\r\n";
    const size_t start = text.find_first_not_of(kSpace);
    if (start == std::string_view::npos) return {};
    return text.substr(start, text.find_last_not_of(kSpace) - start + 1);
}

}  // namespace ringlb
