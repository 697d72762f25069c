// The [global] key table; see global_section.h.
#include "core/config/global_section.h"

namespace ringlb {

namespace {

constexpr int kMaxWorkers = 256;
// sockaddr_un::sun_path holds 108 bytes including the terminating NUL.
constexpr size_t kMaxSocketPath = 107;

constexpr std::string_view kLogLevels[] = {"trace", "debug", "info", "warn", "error", "critical", "off"};

const ConfigKeyRule<GlobalConfig> kGlobalKeys[] = {
    {"workers", false,
     [](GlobalConfig& global, const ConfigEntry& entry) -> ValueError {
         if (entry.value == "auto") {
             global.workers = 0;
             return std::nullopt;
         }
         auto number = parse_config_uint(entry.value);
         if (!number || *number < 1 || *number > kMaxWorkers)
             return "bad workers '" + entry.value + "' (expected auto or a number 1.." +
                    std::to_string(kMaxWorkers) + ")";
         global.workers = static_cast<int>(*number);
         return std::nullopt;
     }},
    {"control_socket", false,
     [](GlobalConfig& global, const ConfigEntry& entry) -> ValueError {
         if (entry.value.empty()) return std::string("control_socket must not be empty");
         if (entry.value.size() > kMaxSocketPath)
             return "control_socket path is " + std::to_string(entry.value.size()) +
                    " bytes long; a Unix socket path holds at most " + std::to_string(kMaxSocketPath);
         global.control_socket = entry.value;
         return std::nullopt;
     }},
    {"metrics", false,
     [](GlobalConfig& global, const ConfigEntry& entry) -> ValueError {
         InetAddr address;
         if (auto error = set_address(address, entry)) return error;
         global.metrics = address;
         return std::nullopt;
     }},
    {"log_level", false,
     [](GlobalConfig& global, const ConfigEntry& entry) -> ValueError {
         for (std::string_view level : kLogLevels) {
             if (level == entry.value) {
                 global.log_level = entry.value;
                 return std::nullopt;
             }
         }
         return "unknown log_level '" + entry.value + "' (expected " +
                choice_list(kLogLevels, [](std::string_view level) { return level; }) + ")";
     }},
    {"access_log", false,
     [](GlobalConfig& global, const ConfigEntry& entry) -> ValueError {
         global.access_log = entry.value;
         return std::nullopt;
     }},
    {"shutdown_grace", false, duration_key<&GlobalConfig::shutdown_grace>},
};

}  // namespace

void parse_global_sections(std::span<const ConfigSection> sections, Config& config, ConfigDiagnostics& diag) {
    for (size_t i = 0; i < sections.size(); ++i) {
        // A second [global] is still checked key by key, into a copy nobody keeps.
        GlobalConfig ignored;
        GlobalConfig& target = i == 0 ? config.global : ignored;
        if (i > 0)
            diag.error(sections[i].line,
                       "duplicate section [global] (first at line " + std::to_string(sections[0].line) + ")");
        apply_config_keys<GlobalConfig>(sections[i], kGlobalKeys, target, "global", diag);
    }
}

}  // namespace ringlb
