// ringlb.conf's INI syntax → `[header]` sections of `key = value` entries, each with
// its line. Syntax only: which sections and keys exist is for the section parsers.
// The reader is ours, not Boost.Program_options' parse_config_file: config_reader.cc
// says why.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/config/config_diagnostics.h"

namespace ringlb {

// One `key = value` line; key and value without the spaces around them.
struct ConfigEntry {
    std::string key;
    std::string value;
    int line = 0;
};

// A `[header]` line and the entries under it, in file order.
struct IniSection {
    std::string header;  // between the brackets, without spaces: "listener.web"
    int line = 0;
    std::vector<ConfigEntry> entries;
};

struct IniFile {
    // Keys above the first header. The reader keeps them; the caller decides they
    // are an error, so that its message can name the sections it expects.
    std::vector<ConfigEntry> entries_before_any_section;
    std::vector<IniSection> sections;  // in file order
};

// Lines split at '\n'; '#' starts a comment anywhere; spaces, tabs and a CR at either
// end are ignored; blank lines are skipped. Every other line must be `[header]` or
// `key = value` (split at the first '='; the value may be empty). Reports, each at
// its line: a NUL byte, a line starting with ';', an empty header, a line that is
// neither form, a missing key.
IniFile read_ini(std::string_view text, ConfigDiagnostics& diag);

}  // namespace ringlb
