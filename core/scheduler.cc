#include "core/scheduler.h"

#include "core/sched_leastconn.h"
#include "core/sched_roundrobin.h"

namespace ringlb {

std::unique_ptr<Scheduler> make_scheduler(SchedulerKind kind, size_t backend_count) {
    switch (kind) {
        case SchedulerKind::kRoundRobin:
            return std::make_unique<RoundRobinScheduler>(backend_count);
        case SchedulerKind::kLeastConn:
        case SchedulerKind::kSourceHash:  // source-hash falls back to leastconn until Maglev lands
            return std::make_unique<LeastConnScheduler>();
    }
    return std::make_unique<LeastConnScheduler>();
}

}  // namespace ringlb
