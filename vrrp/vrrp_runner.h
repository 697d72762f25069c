// The VRRP thread (DESIGN §2, §9): owns every VrrpInstance and drives them from one
// epoll loop — adverts from the raw sockets, timers from a timerfd, link and address
// changes from rtnetlink, and the daemon's inputs — and carries out their actions
// (adverts, VIPs, gratuitous ARP, notify scripts). It does not parse configuration.
// This class is the daemon's handle on that thread; the parts are runner_setup (start),
// runner_loop (events), action_plan/action_executor (actions), runner_status and
// runner_mailbox (what the daemon sees and says).
#pragma once

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/base/result.h"
#include "vrrp/held_vips_file.h"
#include "vrrp/runner_status.h"
#include "vrrp/vrrp_types.h"

namespace ringlb {

class RunnerMailbox;
class RunnerLoop;

class VrrpRunner {
public:
    using InstanceStatus = VrrpInstanceStatus;

    // `instances` as parsed, primary_address 0 unless configured (the interface's own
    // address is then found at start()). `state_file`: where the VIPs held are recorded
    // (held_vips_file.h); "" for nowhere.
    explicit VrrpRunner(std::vector<VrrpInstanceConfig> instances, std::string state_file = {});
    // Stops the thread gracefully if it is still running.
    ~VrrpRunner();
    VrrpRunner(const VrrpRunner&) = delete;
    VrrpRunner& operator=(const VrrpRunner&) = delete;

    // Opens every socket, removes VIPs a previous run left on the interfaces, finds each
    // interface's own address, then spawns the thread, where instances enter BACKUP (or
    // MASTER as address owner, FAULT if the link is down). Throws std::runtime_error on
    // setup errors: an interface missing or without an IPv4 address, no CAP_NET_RAW /
    // CAP_NET_ADMIN. Call once. The thread blocks the usual process signals.
    void start();

    // Masters send a priority-0 advert (the peer takes over after Skew_Time), every
    // instance drops its VIPs, notify scripts get INIT (waited for up to 1 s), and the
    // thread is joined. Idempotent; a no-op before start(). Returns the addresses it
    // removed (held as master until now): connections to them cannot finish here.
    std::vector<Ipv4> stop_graceful();

    // A reload: the new [vrrp.*] sections, as parsed. The VRRP thread applies them
    // (vrrp/instance_reload_plan.h says what happens to each instance) and answers;
    // waits for it up to 5 s. On a failure (an interface missing, a source address not
    // on it, no socket) nothing changed. Daemon thread, after start().
    Result<void> reconfigure(std::vector<VrrpInstanceConfig> instances);

    // Thread-safe inputs from the daemon. A listener never reported counts as healthy.
    void set_tracking(const std::string& listener, bool has_healthy_backend);
    // True when a worker missed its heartbeats: every instance goes to FAULT until false.
    void set_forwarder_stuck(bool stuck);

    // Thread-safe snapshot, in configuration order; refreshed after each event.
    std::vector<InstanceStatus> status() const;

private:
    std::vector<VrrpInstanceConfig> configs_;
    std::string state_file_;
    std::unique_ptr<RunnerMailbox> mailbox_;
    std::unique_ptr<RunnerLoop> loop_;
    std::thread thread_;
    bool started_ = false;
    bool stopped_ = false;
};

// For `ringlbd --release`, first step, before the config is read: for each instance the
// state file at `path` lists, one priority-0 advert from what it recorded (source, VRID,
// interval, destinations, address list), then the recorded VIPs still on the interface
// are removed and, when all are gone, the file too. Returns the names of the instances
// whose VIPs it removed. Errors are logged and the next instance is tried; a file that
// cannot be read is logged and releases nothing.
std::vector<std::string> release_recorded(const std::string& path);

// For `ringlbd --release -c FILE` (systemd ExecStopPost, after any exit of the daemon):
// for each instance whose VIPs are still on this host's interface, sends one priority-0
// advertisement (the peer takes over after Skew_Time rather than Master_Down_Interval)
// and removes those VIPs. Instances whose VIPs are gone are left alone. Errors are logged
// and the next instance is tried. Returns how many instances were released. Must not run
// while a daemon owns the instances.
int release_vips(const std::vector<VrrpInstanceConfig>& instances);

}  // namespace ringlb
