#include "core/sched/sched_leastconn.h"

namespace ringlb {

namespace {
// a beats b when (a.active + 1) / a.weight < (b.active + 1) / b.weight,
// compared by cross-multiplication to stay in integers.
bool less_loaded(const Candidate& a, const Candidate& b) {
    return (a.active + 1) * int64_t(b.weight) < (b.active + 1) * int64_t(a.weight);
}
}  // namespace

size_t LeastConnScheduler::pick(std::span<const Candidate> candidates, uint64_t) noexcept {
    // Start the scan at the first candidate at or after next_start_ (by backend
    // index), so that among equally loaded backends each gets its turn.
    const size_t n = candidates.size();
    size_t start = 0;
    for (size_t i = 0; i < n; ++i) {
        if (candidates[i].index >= next_start_) {
            start = i;
            break;
        }
    }
    size_t best = start;
    for (size_t k = 1; k < n; ++k) {
        size_t i = (start + k) % n;
        if (less_loaded(candidates[i], candidates[best])) best = i;
    }
    next_start_ = candidates[best].index + 1;
    return best;
}

}  // namespace ringlb
