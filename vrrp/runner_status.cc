// Status snapshots of VRRP instances; see runner_status.h.
#include "vrrp/runner_status.h"

namespace ringlb {

VrrpInstanceStatus initial_status(const VrrpInstanceConfig& config) {
    VrrpInstanceStatus status;
    status.name = config.name;
    status.priority = config.priority;
    return status;
}

VrrpInstanceStatus build_status(const VrrpInstance& fsm, const InstanceCounters& counters) {
    VrrpInstanceStatus status;
    static_cast<InstanceCounters&>(status) = counters;
    status.name = fsm.config().name;
    status.state = fsm.state();
    status.priority = fsm.priority();
    status.master = fsm.master_address() ? format_ipv4(fsm.master_address()) : "";
    return status;
}

void mark_thread_failed(std::vector<VrrpInstanceStatus>& status, const std::string& why) {
    for (VrrpInstanceStatus& instance : status) {
        instance.state = VrrpState::kInit;
        instance.master.clear();
        instance.last_transition = "vrrp thread failed: " + why;
    }
}

}  // namespace ringlb
