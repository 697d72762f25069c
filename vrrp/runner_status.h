// What the VRRP runner reports about each instance, for `ringlbctl vrrp status` and the
// ringlb_vrrp_* metrics: the state machine's view plus the runner's counters. Pure.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "vrrp/vrrp_fsm.h"
#include "vrrp/vrrp_packet.h"

namespace ringlb {

// What the runner counts per instance as it works (the state machine counts nothing).
struct InstanceCounters {
    int64_t transitions = 0;        // state changes since start
    std::string last_transition;    // reason of the latest one
    uint64_t adverts_sent = 0;
    uint64_t adverts_received = 0;  // packets that passed every check in vrrp_packet.h
    uint64_t send_errors = 0;
    // Received packets dropped, indexed by AdvertVerdict (kOk stays 0).
    std::array<uint64_t, kAdvertVerdictCount> dropped{};
};

// The counters (transitions feed ringlb_vrrp_transitions_total) and the state.
struct VrrpInstanceStatus : InstanceCounters {
    std::string name;
    VrrpState state = VrrpState::kInit;
    int priority = 0;              // effective: configured − track_weight while tracking fails
    std::string master;            // the current master's address, "" when unknown
};

// Before the thread runs: INIT at the configured priority, nothing counted.
VrrpInstanceStatus initial_status(const VrrpInstanceConfig& config);

// The instance as its state machine and the runner's counters say now.
VrrpInstanceStatus build_status(const VrrpInstance& fsm, const InstanceCounters& counters);

// After the VRRP thread died (its VIPs removed): every instance shows INIT, no master,
// and why, instead of the last state it can no longer defend.
void mark_thread_failed(std::vector<VrrpInstanceStatus>& status, const std::string& why);

}  // namespace ringlb
