// Weighted least connections: minimise (active + 1) / weight, ties broken
// round-robin so equal backends share evenly (HAProxy's leastconn, weighted).
#pragma once

#include "core/sched/scheduler.h"

namespace ringlb {

class LeastConnScheduler final : public Scheduler {
public:
    size_t pick(std::span<const Candidate> candidates, uint64_t source_hash) noexcept override;

private:
    uint32_t next_start_ = 0;  // backend index where the tie-break rotation starts
};

}  // namespace ringlb
