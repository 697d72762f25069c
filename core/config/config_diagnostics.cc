// See config_diagnostics.h.
#include "core/config/config_diagnostics.h"

#include <algorithm>

namespace ringlb {

std::string ConfigError::to_string() const { return file + ":" + std::to_string(line) + ": " + message; }

void ConfigDiagnostics::error(int line, std::string message) {
    errors_.push_back({file_, line, std::move(message)});
}

std::vector<ConfigError> ConfigDiagnostics::take_sorted() {
    std::stable_sort(errors_.begin(), errors_.end(),
                     [](const ConfigError& a, const ConfigError& b) { return a.line < b.line; });
    return std::move(errors_);
}

}  // namespace ringlb
