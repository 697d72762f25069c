// ringlb.conf → Config; see config_parse.h. Reads the INI text, sorts its sections
// by kind (rejecting unknown and misnamed headers), and hands each kind to its
// parser, in the order of kSectionKinds.
#include "core/config/config_parse.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include "core/config/config_reader.h"
#include "core/config/config_section.h"
#include "core/config/global_section.h"
#include "core/config/listener_section.h"
#include "core/config/vrrp_section.h"

namespace ringlb {

namespace {

struct SectionKind {
    std::string_view kind;  // the header text before the first '.'
    bool named;             // [kind.NAME] rather than [kind]
    SectionParser parse;
};

// A kind's parser runs after those of the rows above it.
const SectionKind kSectionKinds[] = {
    {"global", false, parse_global_sections},
    {"listener", true, parse_listener_sections},
    {"vrrp", true, parse_vrrp_sections},
};

// "[global], [listener.NAME] or [vrrp.NAME]"
std::string expected_sections() {
    return choice_list(kSectionKinds, [](const SectionKind& kind) {
        return "[" + std::string(kind.kind) + (kind.named ? ".NAME]" : "]");
    });
}

bool is_valid_section_name(std::string_view name) {
    return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    });
}

// Splits each header into kind and name and checks it against kSectionKinds; the
// entries of a rejected section are dropped (its header carries the error).
std::vector<std::vector<ConfigSection>> sections_by_kind(std::vector<IniSection>& sections, ConfigDiagnostics& diag) {
    std::vector<std::vector<ConfigSection>> by_kind(std::size(kSectionKinds));
    for (IniSection& section : sections) {
        const std::string_view header = section.header;
        const size_t dot = header.find('.');
        const std::string_view kind = header.substr(0, dot);
        const std::string_view name = dot == std::string_view::npos ? std::string_view{} : header.substr(dot + 1);
        const auto match = std::find_if(std::begin(kSectionKinds), std::end(kSectionKinds),
                                        [&](const SectionKind& candidate) { return candidate.kind == kind; });
        const std::string shown = "[" + section.header + "]";
        if (match == std::end(kSectionKinds)) {
            diag.error(section.line, "unknown section " + shown + " (expected " + expected_sections() + ")");
        } else if (match->named && dot == std::string_view::npos) {
            diag.error(section.line, "section " + shown + " needs a name: [" + std::string(kind) + ".NAME]");
        } else if (!match->named && dot != std::string_view::npos) {
            diag.error(section.line, "section [" + std::string(kind) + "] takes no name, found " + shown);
        } else if (match->named && !is_valid_section_name(name)) {
            diag.error(section.line, "bad " + std::string(kind) + " name '" + std::string(name) +
                                         "' (letters, digits, '-' and '_' only)");
        } else {
            by_kind[size_t(match - std::begin(kSectionKinds))].push_back(
                {std::string(name), section.line, std::move(section.entries)});
        }
    }
    return by_kind;
}

struct CloseFile {
    void operator()(std::FILE* file) const { std::fclose(file); }
};

// The file's bytes into `text`; 0, or the errno of the failed open or read.
int read_whole_file(const std::string& path, std::string& text) {
    std::unique_ptr<std::FILE, CloseFile> file(std::fopen(path.c_str(), "rb"));
    if (file == nullptr) return errno;
    char buffer[65536];
    size_t count;
    while ((count = std::fread(buffer, 1, sizeof(buffer), file.get())) > 0) text.append(buffer, count);
    if (std::ferror(file.get())) return errno != 0 ? errno : EIO;
    return 0;
}

}  // namespace

ConfigParseResult parse_config(std::string_view text, const std::string& file_name) {
    ConfigDiagnostics diag(file_name);
    ConfigParseResult result;
    IniFile file = read_ini(text, diag);
    for (const ConfigEntry& entry : file.entries_before_any_section)
        diag.error(entry.line,
                   "key '" + entry.key + "' comes before any section (expected " + expected_sections() + " first)");
    if (diag.has_errors()) {
        result.errors = diag.take_sorted();
        return result;
    }
    auto config = std::make_shared<Config>();
    config->source_file = file_name;
    auto by_kind = sections_by_kind(file.sections, diag);
    for (size_t k = 0; k < std::size(kSectionKinds); ++k) kSectionKinds[k].parse(by_kind[k], *config, diag);
    result.errors = diag.take_sorted();
    if (result.errors.empty()) result.config = std::move(config);
    return result;
}

ConfigParseResult load_config_file(const std::string& path) {
    std::string text;
    if (int read_errno = read_whole_file(path, text); read_errno != 0) {
        ConfigParseResult result;
        result.errors.push_back({path, 0, std::string("cannot read: ") + std::strerror(read_errno)});
        return result;
    }
    return parse_config(text, path);
}

}  // namespace ringlb
