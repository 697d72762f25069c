// A section as the section parsers see it, and the key tables they are written as:
// one ConfigKeyRule per key, run by apply_config_keys, which reports unknown and
// repeated keys. Adding a section kind means one SectionParser and one row in
// config_parse.cc's kSectionKinds; nothing else changes.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "core/config/config.h"
#include "core/config/config_diagnostics.h"
#include "core/config/config_reader.h"
#include "core/config/config_values.h"

namespace ringlb {

// A section whose header named a known kind: [global] or [listener.web].
struct ConfigSection {
    std::string name;                  // "web"; empty for unnamed kinds such as [global]
    int line = 0;                      // the header's line
    std::vector<ConfigEntry> entries;

    const ConfigEntry* find(std::string_view key) const;  // the first entry with this key
};

// Parses every section of one kind, in file order, into `config`. Kinds run in
// the order of kSectionKinds, so a later kind may check references to what an
// earlier one built (a VRRP instance tracking a listener).
using SectionParser = void (*)(std::span<const ConfigSection> sections, Config& config, ConfigDiagnostics& diag);

// How one key of a section is applied to the object the section builds.
template <class Target>
struct ConfigKeyRule {
    std::string_view key;
    bool repeatable;  // may appear more than once; otherwise a repeat is an error
    ValueError (*apply)(Target& target, const ConfigEntry& entry);
};

// Rules for a key that sets one field through one value parser, so that a table row
// reads as key, field and range: {"rise", false, number_key<&ListenerConfig::rise, 1, 100>}.
template <auto field, uint64_t min, uint64_t max, class Target>
ValueError number_key(Target& target, const ConfigEntry& entry) {
    return set_number(target.*field, entry, min, max);
}
template <auto field, class Target>
ValueError duration_key(Target& target, const ConfigEntry& entry) {
    return set_duration(target.*field, entry);
}
template <auto field, class Target>
ValueError positive_duration_key(Target& target, const ConfigEntry& entry) {
    return set_positive_duration(target.*field, entry);
}
template <auto field, class Target>
ValueError bool_key(Target& target, const ConfigEntry& entry) {
    return set_bool(target.*field, entry);
}
template <auto field, class Target>
ValueError switch_key(Target& target, const ConfigEntry& entry) {
    return set_switch(target.*field, entry);
}
template <auto field, class Target>
ValueError prefixes_key(Target& target, const ConfigEntry& entry) {
    return add_prefixes(target.*field, entry);
}
template <auto field, const auto& names, class Target>
ValueError named_key(Target& target, const ConfigEntry& entry) {
    using E = std::remove_cvref_t<decltype(target.*field)>;
    return set_named<E>(target.*field, entry, names);
}

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
            diag.error(entry.line, label + ": " + entry.key + " given twice (lines " + std::to_string(seen->second) +
                                       " and " + std::to_string(entry.line) + ")");
            continue;
        }
        if (auto message = rule->apply(target, entry)) diag.error(entry.line, label + ": " + *message);
    }
}

// "listener 'web'": how errors name a [kind.NAME] section.
inline std::string section_label(std::string_view kind, const ConfigSection& section) {
    return std::string(kind) + " '" + section.name + "'";
}

// The object a [kind.NAME] section builds: its name and header line, then its keys.
template <class Target>
Target build_named_section(const ConfigSection& section, std::span<const ConfigKeyRule<Target>> rules,
                           const std::string& label, ConfigDiagnostics& diag) {
    Target target;
    target.name = section.name;
    target.line = section.line;
    apply_config_keys<Target>(section, rules, target, label, diag);
    return target;
}

// For [kind.NAME] sections: records the header line of `section`'s name and returns
// true the first time; a repeat is reported at its header, naming the first, and
// returns false (the caller still checks that section, but does not keep it).
bool is_first_section_of_its_name(std::map<std::string, int>& header_line_by_name, const ConfigSection& section,
                                  std::string_view kind, ConfigDiagnostics& diag);

}  // namespace ringlb
