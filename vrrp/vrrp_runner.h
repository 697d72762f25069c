// The VRRP thread (DESIGN §2, §9): owns every VrrpInstance and drives them from one
// epoll loop — adverts from the raw sockets, timers from a timerfd, link and address
// changes from rtnetlink, and the daemon's inputs — and carries out their actions
// (adverts, VIPs, gratuitous ARP, notify scripts). It does not parse configuration.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "vrrp/vrrp_packet.h"
#include "vrrp/vrrp_types.h"

namespace ringlb {

class VrrpRunner {
public:
    struct InstanceStatus {
        std::string name;
        VrrpState state = VrrpState::kInit;
        int priority = 0;              // effective: configured − track_weight while tracking fails
        std::string master;            // the current master's address, "" when unknown
        std::string last_transition;   // reason of the latest state change
        int64_t transitions = 0;       // state changes since start (for ringlb_vrrp_transitions_total)
        uint64_t adverts_sent = 0;
        uint64_t adverts_received = 0; // packets that passed every check in vrrp_packet.h
        uint64_t send_errors = 0;
        // Received packets dropped, indexed by AdvertVerdict (kOk stays 0).
        std::array<uint64_t, kAdvertVerdictCount> dropped{};
    };

    // `instances` as parsed, primary_address 0 unless configured (the interface's own
    // address is then found at start()).
    explicit VrrpRunner(std::vector<VrrpInstanceConfig> instances);
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
    // thread is joined. Idempotent; a no-op before start().
    void stop_graceful();

    // Thread-safe inputs from the daemon. A listener never reported counts as healthy.
    void set_tracking(const std::string& listener, bool has_healthy_backend);
    // True when a worker missed its heartbeats: every instance goes to FAULT until false.
    void set_forwarder_stuck(bool stuck);

    // Thread-safe snapshot, in configuration order; refreshed after each event.
    std::vector<InstanceStatus> status() const;

private:
    struct Shared;  // the daemon's inputs and the status snapshot, under one mutex
    class Loop;     // everything the VRRP thread owns

    std::vector<VrrpInstanceConfig> configs_;
    std::shared_ptr<Shared> shared_;
    std::unique_ptr<Loop> loop_;
    std::thread thread_;
    bool started_ = false;
    bool stopped_ = false;
};

// For `ringlbd --release -c FILE` (systemd ExecStopPost, after any exit of the daemon):
// for each instance whose VIPs are still on this host's interface, sends one priority-0
// advertisement (the peer takes over after Skew_Time rather than Master_Down_Interval)
// and removes those VIPs. Instances whose VIPs are gone are left alone. Errors are logged
// and the next instance is tried. Returns how many instances were released. Must not run
// while a daemon owns the instances.
int release_vips(const std::vector<VrrpInstanceConfig>& instances);

}  // namespace ringlb
