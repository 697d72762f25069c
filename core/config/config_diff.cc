// Key-by-key differences between two configs; see config_diff.h.
#include "core/config/config_diff.h"

#include <algorithm>
#include <utility>

#include "core/config/config_reader.h"
#include "core/config/config_writer.h"

namespace ringlb {
namespace {

// One section as written: its keys in first-appearance order, repeated keys joined.
struct WrittenSection {
    std::string header;
    std::vector<std::pair<std::string, std::string>> keys;

    const std::string* find(const std::string& key) const {
        for (const auto& [name, value] : keys)
            if (name == key) return &value;
        return nullptr;
    }
};

std::vector<WrittenSection> written_sections(const Config& config) {
    ConfigDiagnostics ignored("");  // format_config's text always reads back cleanly
    const IniFile ini = read_ini(format_config(config), ignored);
    std::vector<WrittenSection> out;
    for (const IniSection& section : ini.sections) {
        WrittenSection written{section.header, {}};
        for (const ConfigEntry& entry : section.entries) {
            auto it = std::find_if(written.keys.begin(), written.keys.end(),
                                   [&](const auto& key) { return key.first == entry.key; });
            if (it == written.keys.end()) written.keys.emplace_back(entry.key, entry.value);
            else it->second += ", " + entry.value;
        }
        out.push_back(std::move(written));
    }
    return out;
}

const WrittenSection* find_section(const std::vector<WrittenSection>& sections, const std::string& header) {
    for (const WrittenSection& section : sections)
        if (section.header == header) return &section;
    return nullptr;
}

}  // namespace

std::vector<ConfigKeyChange> diff_configs(const Config& before, const Config& after) {
    using Kind = ConfigKeyChange::Kind;
    const std::vector<WrittenSection> old_sections = written_sections(before);
    const std::vector<WrittenSection> new_sections = written_sections(after);
    std::vector<ConfigKeyChange> changes;
    std::vector<ConfigKeyChange> added;
    for (const WrittenSection& next : new_sections) {
        const WrittenSection* old = find_section(old_sections, next.header);
        if (!old) {
            added.push_back({Kind::kSectionAdded, next.header, "", "", ""});
            continue;
        }
        // Keys in the new section's order, then keys only the old one had.
        for (const auto& [key, value] : next.keys) {
            const std::string* was = old->find(key);
            if (!was || *was != value) changes.push_back({Kind::kKeyChanged, next.header, key, was ? *was : "", value});
        }
        for (const auto& [key, value] : old->keys)
            if (!next.find(key)) changes.push_back({Kind::kKeyChanged, next.header, key, value, ""});
    }
    changes.insert(changes.end(), added.begin(), added.end());
    for (const WrittenSection& old : old_sections)
        if (!find_section(new_sections, old.header)) changes.push_back({Kind::kSectionRemoved, old.header, "", "", ""});
    return changes;
}

}  // namespace ringlb
