// What differs between two configs, key by key, as an operator reads the file: each
// section compared through the text format_config writes for it (so every key the
// writer knows is compared, and a key added to the model is compared once the writer
// writes it). Pure: no I/O. What to do about each difference is the reload plan's
// business (core/daemon/reload_plan.h).
#pragma once

#include <string>
#include <vector>

#include "core/config/config.h"

namespace ringlb {

struct ConfigKeyChange {
    enum class Kind {
        kKeyChanged,      // `key` differs inside a section both configs have
        kSectionAdded,    // `section` is only in the new config (key empty)
        kSectionRemoved,  // `section` is only in the old config (key empty)
    };
    Kind kind = Kind::kKeyChanged;
    std::string section;  // "global", "listener.web", "vrrp.vip1"
    std::string key;      // "workers", "vip", ...; empty for a whole section
    // The values as written in the file; a repeated key (backend, vip, unicast_peer)
    // is its values joined with ", ". Empty: not set (the default applies).
    std::string from;
    std::string to;
    friend bool operator==(const ConfigKeyChange&, const ConfigKeyChange&) = default;
};

// Every difference from `before` to `after`: changed keys of the sections both have
// (in the order the writer writes them), sections added (in `after`'s order), then
// sections removed (in `before`'s order). Equal configs give an empty list. Lines and
// source_file are not compared.
std::vector<ConfigKeyChange> diff_configs(const Config& before, const Config& after);

}  // namespace ringlb
