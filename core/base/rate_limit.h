// Lets one event per interval through to the log and counts the rest, so that a
// failing backend or fd exhaustion logs once a second with a count. Thread-safe
// (atomics only) and clock-free: the caller passes the time in.
#pragma once

#include <atomic>
#include <cstdint>

namespace ringlb {

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

}  // namespace ringlb
