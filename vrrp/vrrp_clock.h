// The VRRP thread's one source of time. The runner's loop reads it through a VrrpClock
// handed to it, and passes the time on as a parameter to everything below it (state
// machine, timer table, action plan), which therefore never reads a clock.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>

#include "vrrp/vrrp_types.h"

namespace ringlb {

using VrrpClock = std::function<TimePoint()>;

// The real clock: steady_clock, CLOCK_MONOTONIC on Linux.
inline TimePoint steady_clock_now() { return std::chrono::steady_clock::now(); }

// `at` in whole milliseconds, the unit LogRateLimit counts in.
inline int64_t whole_milliseconds(TimePoint at) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(at.time_since_epoch()).count();
}

}  // namespace ringlb
