// Daemon logging (spdlog to stderr; journald under systemd). Callers that log
// per event go through a LogRateLimit (rate_limit.h) so that a failing backend
// or fd exhaustion logs once a second with a count, never once per event.
#pragma once

#include <spdlog/spdlog.h>

#include <string>

#include "core/base/clock.h"
#include "core/base/rate_limit.h"
#include "core/base/result.h"

namespace ringlb {

// At start-up: throws std::invalid_argument on an unknown level name.
void init_logging(const std::string& level);
// On reload: an unknown level name leaves the level as it was.
Result<void> set_log_level(const std::string& level);

}  // namespace ringlb
