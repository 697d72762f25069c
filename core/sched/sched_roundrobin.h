// Smooth weighted round robin (nginx's algorithm): every pick adds each
// candidate's weight to its running score, takes the highest, and subtracts
// the total from the winner. Weights 5,1,1 give a a b a c a a.
#pragma once

#include <vector>

#include "core/sched/scheduler.h"

namespace ringlb {

class RoundRobinScheduler final : public Scheduler {
public:
    explicit RoundRobinScheduler(size_t backend_count) noexcept : current_(backend_count, 0) {}
    size_t pick(std::span<const Candidate> candidates, uint64_t source_hash) noexcept override;

private:
    std::vector<int64_t> current_;  // running score per backend index
};

}  // namespace ringlb
