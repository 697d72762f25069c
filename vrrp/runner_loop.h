// The VRRP thread's event loop: one epoll around every instance's raw socket, a timerfd
// set to the earliest deadline the state machines asked for, the rtnetlink watch and
// the mailbox's eventfd. Each wake-up feeds the state machines their events (adverts,
// link and health changes, due timers) and hands the actions to the ActionExecutor.
// Time comes from the injected clock only.
#pragma once

#include <memory>
#include <optional>
#include <vector>

#include "core/base/unique_fd.h"
#include "vrrp/action_executor.h"
#include "vrrp/garp_sender.h"
#include "vrrp/runner_instance.h"
#include "vrrp/runner_mailbox.h"
#include "vrrp/vip_netlink.h"
#include "vrrp/vrrp_clock.h"

namespace ringlb {

class RunnerLoop {
public:
    // `state_file`: where the held VIPs are recorded ("" for nowhere).
    RunnerLoop(std::vector<VrrpInstanceConfig> configs, RunnerMailbox& mailbox, VrrpClock clock,
               std::string state_file = {});

    // On the thread that starts the runner: removes what the state file says an earlier
    // run held, opens every socket and instance (runner_setup.h). Throws
    // std::runtime_error on any failure.
    void setup();

    // After run() returned: the addresses the graceful stop removed (the VIPs this host
    // held as master), for the workers to reset the connections made to them.
    const std::vector<Ipv4>& released_at_stop() const { return released_at_stop_; }

    // The thread's body, until the mailbox asks it to stop: starts the instances,
    // loops, then shuts them down (priority-0 adverts, VIPs removed, INIT notified).
    // If the loop fails, every VIP is removed and the status says why.
    void run() noexcept;

private:
    // What a reload prepared for one instance before anything changed (runner_reconfigure.cc).
    struct PreparedStep {
        std::unique_ptr<RunnerInstance> fresh;  // added or restarted: the new instance, opened
        std::optional<VrrpSocket> socket;       // updated: peers switched multicast <-> unicast
        Ipv4 primary = 0;                       // updated: the source address from now on
    };

    void main_loop();
    // A reload's new instance list (as configured): prepared (anything that can fail),
    // then carried out, per plan_instance_reload. A failure changes nothing.
    Result<void> reconfigure(const std::vector<VrrpInstanceConfig>& next);
    PreparedStep prepare_update(size_t running, const VrrpInstanceConfig& next_config,
                                const std::vector<VrrpInstanceConfig>& next);
    void update_instance(RunnerInstance& instance, const VrrpInstanceConfig& configured, PreparedStep& prepared,
                         const RunnerInputs& inputs, TimePoint now);
    // (Re-)registers instance `index`'s socket with epoll under its current index.
    void register_socket(uint32_t index);
    // Removed instances whose INIT notify run has not finished yet.
    void poll_retired();
    void shutdown();
    void apply_health(RunnerInstance& instance, const RunnerInputs& inputs, TimePoint now);
    void check_links();
    void refresh_link(RunnerInstance& instance, uint32_t index);
    void receive_adverts(RunnerInstance& instance);
    void fire_due_timers();
    void arm_timerfd();
    void publish_status();
    void remove_every_vip();

    std::vector<VrrpInstanceConfig> configs_;
    RunnerMailbox& mailbox_;
    VrrpClock clock_;
    std::vector<std::unique_ptr<RunnerInstance>> instances_;
    std::vector<std::unique_ptr<RunnerInstance>> retired_;  // stopped by a reload, notify still running
    std::optional<NetlinkRoute> netlink_;
    std::optional<LinkWatch> link_watch_;
    GarpSender garp_;
    HeldVipsRecord held_;  // before executor_, which writes to it
    std::optional<ActionExecutor> executor_;
    std::vector<Ipv4> released_at_stop_;
    UniqueFd epoll_fd_;
    UniqueFd timer_fd_;
    TimePoint next_link_check_{};
};

}  // namespace ringlb
