// Reads ringlb.conf (INI, DESIGN §6) into a Config, reporting every error as
// FILE:LINE, and writes a Config back as INI text. Pure: only load_config_file
// touches the file system.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/config/config.h"
#include "core/config/config_names.h"

namespace ringlb {

struct ConfigError {
    std::string file;
    int line = 0;           // 1-based; 0 when the error is about the file as a whole
    std::string message;

    std::string to_string() const;  // "FILE:LINE: message"
    bool operator==(const ConfigError&) const = default;
};

struct ConfigParseResult {
    std::shared_ptr<Config> config;   // set only when no error was found
    std::vector<ConfigError> errors;  // every error found, in line order

    bool ok() const { return errors.empty() && config; }
};

// Parses `text`; `file_name` only labels errors and becomes Config::source_file.
ConfigParseResult parse_config(std::string_view text, const std::string& file_name);

// Reads `path` and parses it. An unreadable file is the single error
// "PATH:0: cannot read: <strerror>".
ConfigParseResult load_config_file(const std::string& path);

// Writes `config` as ringlb.conf text: [global], each listener, then each
// [vrrp.NAME], in order; bind, scheduler and backends (interface, vrid,
// priority and vips) always, other keys only where they differ from the
// defaults in config.h. For any config parse_config produced,
// parse_config(format_config(c)) equals c except for the line and source_file
// fields. Values are written verbatim: a string containing '#' or a newline
// cannot be represented and does not come back.
std::string format_config(const Config& config);

// ---------------------------------------------------------------------------
// The pieces a section parser works with. Adding a section kind ([vrrp.NAME])
// means writing one SectionParser and adding one row to kSectionKinds in
// config_parse.cc; nothing else in the parser changes.

// One `key = value` line, as Boost.Program_options tokenized it.
struct ConfigEntry {
    std::string key;
    std::string value;
    int line = 0;
};

// A section header and the entries under it, in file order.
struct ConfigSection {
    std::string kind;                  // "listener" for [listener.web]
    std::string name;                  // "web"; empty for unnamed kinds such as [global]
    int line = 0;                      // the header's line
    std::vector<ConfigEntry> entries;

    const ConfigEntry* find(std::string_view key) const;  // the first entry with this key
};

// Collects the errors of one file.
class ConfigDiagnostics {
public:
    explicit ConfigDiagnostics(std::string file) : file_(std::move(file)) {}

    void error(int line, std::string message);
    bool has_errors() const { return !errors_.empty(); }
    // Every error, sorted by line (stable, so one line's errors keep their order).
    std::vector<ConfigError> take_sorted();

private:
    std::string file_;
    std::vector<ConfigError> errors_;
};

// Parses every section of one kind, in file order, into `config`. Kinds run in
// the order of kSectionKinds, so a later kind may check references to what an
// earlier one built (a VRRP instance tracking a listener).
using SectionParser = void (*)(std::span<const ConfigSection> sections, Config& config,
                               ConfigDiagnostics& diag);

// How one key of a section is applied to the object the section builds.
// `apply` returns a message (without file, line or section) when the value is bad.
template <class Target>
struct ConfigKeyRule {
    std::string_view key;
    bool repeatable;  // may appear more than once; otherwise a repeat is an error
    std::optional<std::string> (*apply)(Target& target, const ConfigEntry& entry);
};

// Runs every entry of `section` through the rule for its key. Unknown keys,
// repeats of single-valued keys and bad values are errors, each prefixed with
// `label` ("listener 'web'"). A repeated single-valued key keeps its first value.
template <class Target>
void apply_config_keys(const ConfigSection& section, std::span<const ConfigKeyRule<Target>> rules,
                       Target& target, const std::string& label, ConfigDiagnostics& diag) {
    std::map<std::string_view, int> first_line;
    for (const ConfigEntry& entry : section.entries) {
        const ConfigKeyRule<Target>* rule = nullptr;
        for (const auto& candidate : rules)
            if (candidate.key == entry.key) rule = &candidate;
        if (rule == nullptr) {
            diag.error(entry.line, label + ": unknown key '" + entry.key + "'");
            continue;
        }
        auto [seen, inserted] = first_line.emplace(rule->key, entry.line);
        if (!inserted && !rule->repeatable) {
            diag.error(entry.line, label + ": " + entry.key + " given twice (lines " +
                                       std::to_string(seen->second) + " and " +
                                       std::to_string(entry.line) + ")");
            continue;
        }
        if (auto message = rule->apply(target, entry)) diag.error(entry.line, label + ": " + *message);
    }
}

// Decimal digits only (no sign, no spaces); nullopt if empty or too large.
std::optional<uint64_t> parse_config_uint(std::string_view text);

}  // namespace ringlb
