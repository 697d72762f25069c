// Reads ringlb.conf (INI, DESIGN §6) into a Config, reporting every error as
// FILE:LINE. Pure: only load_config_file touches the file system. The stages:
// config_reader (INI syntax), the section parsers (*_section.h), config_writer
// (Config back to text).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/config/config.h"
#include "core/config/config_diagnostics.h"
// format_config, the inverse of parse_config, for the users of both directions.
#include "core/config/config_writer.h"

namespace ringlb {

struct ConfigParseResult {
    std::shared_ptr<Config> config;   // set only when no error was found
    std::vector<ConfigError> errors;  // every error found, in line order

    bool ok() const { return errors.empty() && config; }
};

// Parses `text`; `file_name` only labels errors and becomes Config::source_file.
// A syntax error stops the parse before any key is checked: the sections of a file
// that does not read as INI are not worth a list of follow-on errors.
ConfigParseResult parse_config(std::string_view text, const std::string& file_name);

// Reads `path` and parses it. An unreadable file is the single error
// "PATH:0: cannot read: <strerror>".
ConfigParseResult load_config_file(const std::string& path);

}  // namespace ringlb
