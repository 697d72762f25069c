#include "core/sched/sched_roundrobin.h"

namespace ringlb {

size_t RoundRobinScheduler::pick(std::span<const Candidate> candidates, uint64_t) noexcept {
    int64_t total = 0;
    size_t best = 0;
    for (size_t i = 0; i < candidates.size(); ++i) {
        const Candidate& c = candidates[i];
        if (c.index >= current_.size()) current_.resize(c.index + 1, 0);
        current_[c.index] += c.weight;
        total += c.weight;
        if (current_[c.index] > current_[candidates[best].index]) best = i;
    }
    current_[candidates[best].index] -= total;
    return best;
}

}  // namespace ringlb
