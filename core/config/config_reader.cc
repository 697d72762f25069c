// The INI reader; see config_reader.h. Ours rather than Boost.Program_options'
// parse_config_file (which ringlbd's command line keeps, core/daemon/main.cc): Boost
// keeps no line numbers, stops at the first bad line with an exception, and
// dereferences an empty string on "[]" (1.74 to 1.85); every config error needs its
// FILE:LINE, and one run should report them all.
#include "core/config/config_reader.h"

#include "core/base/text.h"

namespace ringlb {

namespace {

// Everything before the first '#', which has no escape.
std::string_view without_comment(std::string_view line) { return line.substr(0, line.find('#')); }

}  // namespace

IniFile read_ini(std::string_view text, ConfigDiagnostics& diag) {
    IniFile file;
    int line_number = 0;
    size_t pos = 0;
    while (pos < text.size()) {
        size_t end = text.find('\n', pos);
        if (end == std::string_view::npos) end = text.size();
        const std::string_view raw = text.substr(pos, end - pos);
        pos = end + 1;
        ++line_number;

        // Values reach C APIs (inet_pton, open, if_nametoindex) that stop at a NUL and
        // would silently use what comes before it, so a NUL anywhere, comments
        // included, marks a damaged or binary file (found by tests/fuzz/fuzz_config).
        if (raw.find('\0') != std::string_view::npos) {
            diag.error(line_number, "line contains a NUL byte");
            continue;
        }
        std::string_view line = without_comment(raw);
        // Many INI dialects read ';' as a comment, Boost 1.74 as part of a key;
        // refusing it keeps a file from meaning one thing to its author and another here.
        if (line.starts_with(';')) {
            diag.error(line_number, "';' does not start a comment; use '#'");
            continue;
        }
        line = trim(line);
        if (line.empty()) continue;
        if (line.front() == '[' && line.back() == ']') {
            const std::string_view header = trim(line.substr(1, line.size() - 2));
            if (header.empty()) {
                diag.error(line_number, "empty section name '" + std::string(line) + "'");
                continue;
            }
            file.sections.push_back({std::string(header), line_number, {}});
            continue;
        }
        const size_t equals = line.find('=');
        if (equals == std::string_view::npos) {
            diag.error(line_number, "expected '[section]' or 'key = value', found '" + std::string(line) + "'");
            continue;
        }
        const std::string_view key = trim(line.substr(0, equals));
        if (key.empty()) {
            diag.error(line_number, "missing key before '='");
            continue;
        }
        auto& entries = file.sections.empty() ? file.entries_before_any_section : file.sections.back().entries;
        entries.push_back({std::string(key), std::string(trim(line.substr(equals + 1))), line_number});
    }
    return file;
}

}  // namespace ringlb
