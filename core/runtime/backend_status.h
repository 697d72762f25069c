// A backend's health as operators see it. The health checker (core/health/)
// decides it; schedulers, metrics and ringlbctl read it from BackendState.
#pragma once

#include <cstdint>
#include <string_view>

namespace ringlb {

// What operators see, in precedence order: MAINT over DOWN over DRAIN over UP.
// Only an UP backend takes new connections; live ones are never touched.
enum class BackendStatus : uint8_t { kUp = 0, kDown = 1, kDrain = 2, kMaint = 3 };

// "UP", "DOWN", "DRAIN", "MAINT"
inline std::string_view status_name(BackendStatus status) {
    switch (status) {
        case BackendStatus::kUp: return "UP";
        case BackendStatus::kDown: return "DOWN";
        case BackendStatus::kDrain: return "DRAIN";
        case BackendStatus::kMaint: return "MAINT";
    }
    return "?";
}

}  // namespace ringlb
