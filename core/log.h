// Daemon logging (spdlog to stderr; journald under systemd) and a small
// per-key rate limiter so that a failing backend or fd exhaustion logs once a
// second with a count, never once per event.
#pragma once

#include <spdlog/spdlog.h>

#include <atomic>
#include <cstdint>
#include <string>

namespace ringlb {

// Throws std::invalid_argument on an unknown level name.
void init_logging(const std::string& level);
void set_log_level(const std::string& level);

// Lets one event through per interval; counts the ones it swallowed.
class LogRateLimit {
public:
    explicit LogRateLimit(int64_t interval_ms = 1000) : interval_ms_(interval_ms) {}
    // Returns true when the caller should log now; *suppressed receives how many
    // events were swallowed since the last line.
    bool allow(int64_t now_ms, uint64_t* suppressed);

private:
    int64_t interval_ms_;
    std::atomic<int64_t> last_ms_{INT64_MIN / 2};
    std::atomic<uint64_t> suppressed_{0};
};

int64_t monotonic_ms();

}  // namespace ringlb
