// One VRRP instance as the runner's thread holds it: the state machine, the timers it
// asked for, the socket and notify script it acts through, what is known of its
// interface, and what is counted for the status. Owned by the VRRP thread alone.
#pragma once

#include <optional>
#include <string>
#include <utility>

#include "core/base/rate_limit.h"
#include "vrrp/advert_filter.h"
#include "vrrp/garp.h"
#include "vrrp/link_state.h"
#include "vrrp/notify_script.h"
#include "vrrp/runner_status.h"
#include "vrrp/vrrp_fsm.h"
#include "vrrp/vrrp_socket.h"
#include "vrrp/vrrp_timers.h"

namespace ringlb {

struct RunnerInstance {
    // `config` with primary_address filled in.
    explicit RunnerInstance(VrrpInstanceConfig c)
        : config(std::move(c)), fsm(config), filter(config), notify(config.notify, config.name, config.notify_user) {}

    VrrpInstanceConfig config;
    VrrpInstance fsm;
    AdvertFilter filter;                   // the receive rules that need the configuration
    VrrpTimers timers;                     // as fsm's ArmTimer/CancelTimer actions left them
    NotifyScript notify;
    int ifindex = 0;
    std::optional<MacAddress> mac;
    VrrpSocket socket;
    std::string interface_fault;           // from interface_fault(); "" = usable
    InstanceHealth applied;                // what the state machine was last told
    std::optional<TimePoint> last_advert;  // latest advert from another router (priority > 0)
    InstanceCounters counters;
    LogRateLimit drop_log{10000};
    LogRateLimit send_log{10000};
    LogRateLimit mismatch_log{60000};
    LogRateLimit garp_log{10000};
};

}  // namespace ringlb
