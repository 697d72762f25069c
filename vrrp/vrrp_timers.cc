// The runner's record of one instance's timers; see vrrp_timers.h.
#include "vrrp/vrrp_timers.h"

namespace ringlb {

bool VrrpTimers::take_due(TimerKind kind, TimePoint now) {
    std::optional<TimePoint>& deadline = deadlines_[index(kind)];
    if (!deadline || *deadline > now) return false;
    deadline.reset();
    return true;
}

std::optional<TimePoint> VrrpTimers::earliest() const {
    std::optional<TimePoint> soonest;
    for (const auto& deadline : deadlines_)
        if (deadline && (!soonest || *deadline < *soonest)) soonest = deadline;
    return soonest;
}

}  // namespace ringlb
