#include "core/base/rate_limit.h"

namespace ringlb {

bool LogRateLimit::allow(int64_t now_ms, uint64_t* suppressed) {
    int64_t last = last_ms_.load(std::memory_order_relaxed);
    if (now_ms - last >= interval_ms_ &&
        last_ms_.compare_exchange_strong(last, now_ms, std::memory_order_relaxed)) {
        *suppressed = suppressed_.exchange(0, std::memory_order_relaxed);
        return true;
    }
    suppressed_.fetch_add(1, std::memory_order_relaxed);
    return false;
}

}  // namespace ringlb
