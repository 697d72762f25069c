// See config_section.h.
#include "core/config/config_section.h"

namespace ringlb {

const ConfigEntry* ConfigSection::find(std::string_view key) const {
    for (const ConfigEntry& entry : entries)
        if (entry.key == key) return &entry;
    return nullptr;
}

bool is_first_section_of_its_name(std::map<std::string, int>& header_line_by_name, const ConfigSection& section,
                                  std::string_view kind, ConfigDiagnostics& diag) {
    auto [first, fresh] = header_line_by_name.emplace(section.name, section.line);
    if (!fresh)
        diag.error(section.line, "duplicate " + std::string(kind) + " '" + section.name + "' (first at line " +
                                     std::to_string(first->second) + ")");
    return fresh;
}

}  // namespace ringlb
