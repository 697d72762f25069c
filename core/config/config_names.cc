// The one-line text of a health check; see config_names.h.
#include "core/config/config_names.h"

namespace ringlb {

std::string format_health_check(const HealthCheckSpec& check) {
    switch (check.kind) {
    case HealthCheckKind::kNone: return "none";
    case HealthCheckKind::kTcp: return "tcp";
    case HealthCheckKind::kHttp: break;
    }
    std::string text = "http " + check.http_method + " " + check.http_path + " expect " +
                       std::to_string(check.expect_status_min);
    if (check.expect_status_max != check.expect_status_min) text += "-" + std::to_string(check.expect_status_max);
    if (!check.http_host.empty()) text += " host " + check.http_host;
    return text;
}

}  // namespace ringlb
