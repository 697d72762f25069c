// Carries out one instance's state-machine actions on this host: adverts through its raw
// socket, VIPs through rtnetlink, gratuitous ARP through the AF_PACKET sender, timers
// into its VrrpTimers, notify runs queued; counts and logs what happened. What each
// action means is decided by plan_action_steps (pure); this file does the I/O only.
#pragma once

#include <vector>

#include "vrrp/action_plan.h"
#include "vrrp/garp_sender.h"
#include "vrrp/held_vips_record.h"
#include "vrrp/runner_instance.h"
#include "vrrp/vip_netlink.h"

namespace ringlb {

class ActionExecutor {
public:
    // All outlive the executor; VRRP thread only. Each VIP added or removed is written
    // to `held` (the state file of held VIPs) at once.
    ActionExecutor(NetlinkRoute& netlink, const GarpSender& garp, HeldVipsRecord& held)
        : netlink_(netlink), garp_(garp), held_(held) {}

    // `actions` as the instance's state machine returned them for an event handled at
    // `now`. Failures are logged (rate-limited where they can repeat) and counted;
    // nothing throws.
    void execute(RunnerInstance& instance, const std::vector<Action>& actions, TimePoint now);

private:
    void carry_out(RunnerInstance& instance, const SendAdvertTo& send, TimePoint now);
    void carry_out(RunnerInstance& instance, const AddAddress& add, TimePoint now);
    void carry_out(RunnerInstance& instance, const RemoveAddress& remove, TimePoint now);
    void carry_out(RunnerInstance& instance, const SendGarpFrame& garp, TimePoint now);
    void carry_out(RunnerInstance& instance, const ArmTimer& arm, TimePoint now);
    void carry_out(RunnerInstance& instance, const CancelTimer& cancel, TimePoint now);
    void carry_out(RunnerInstance& instance, const RunNotify& run, TimePoint now);
    void carry_out(RunnerInstance& instance, const RecordTransition& transition, TimePoint now);

    NetlinkRoute& netlink_;
    const GarpSender& garp_;
    HeldVipsRecord& held_;
};

}  // namespace ringlb
