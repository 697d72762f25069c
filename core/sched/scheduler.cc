#include "core/sched/scheduler.h"

#include "core/sched/sched_leastconn.h"
#include "core/sched/sched_roundrobin.h"
#include "core/sched/sched_source_hash.h"

namespace ringlb {

std::unique_ptr<Scheduler> make_scheduler(SchedulerKind kind, size_t backend_count,
                                          std::shared_ptr<MaglevSlot> maglev) noexcept {
    switch (kind) {
        case SchedulerKind::kRoundRobin:
            return std::make_unique<RoundRobinScheduler>(backend_count);
        case SchedulerKind::kSourceHash:
            if (maglev) return std::make_unique<SourceHashScheduler>(std::move(maglev), backend_count);
            break;
        case SchedulerKind::kLeastConn:
            break;
    }
    return std::make_unique<LeastConnScheduler>();
}

}  // namespace ringlb
