// Small string helpers shared by the parsers (config file, agent replies).
#pragma once

#include <string>
#include <string_view>

namespace ringlb {

// Without leading and trailing spaces, tabs, CR and LF.
inline std::string_view trim(std::string_view text) {
    constexpr std::string_view kSpace = " \t\r\n";
    const size_t start = text.find_first_not_of(kSpace);
    if (start == std::string_view::npos) return {};
    return text.substr(start, text.find_last_not_of(kSpace) - start + 1);
}

// `text` fit for a log line or a status field when it came from the network (an
// agent's reply, a status line): every byte outside printable ASCII (control
// characters, ESC sequences, DEL, bytes >= 0x80, NUL) becomes '?', so a backend
// cannot forge log lines, move a terminal's cursor or smuggle a newline into the
// journal. At most `max` bytes are kept.
inline std::string printable(std::string_view text, size_t max = std::string_view::npos) {
    std::string out(text.substr(0, max));
    for (char& c : out)
        if (c < 0x20 || c > 0x7e) c = '?';
    return out;
}

}  // namespace ringlb
