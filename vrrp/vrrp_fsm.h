// vrrp/vrrp_fsm.h — one VRRP instance's state machine, RFC 9568 §6.4. Pure: events in,
// actions out, time passed in. No sockets, no clock reads, no logging; the VRRP thread
// (runner_loop, action_executor) executes the actions and feeds back timer expiries and
// adverts. RFC 9568 keeps RFC 5798's section numbers but calls MASTER "Active" (and
// Master_Down_Interval Active_Down_Interval); the code keeps keepalived's names.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "vrrp/vrrp_types.h"

namespace ringlb {

enum class TimerKind {
    kAdver,       // MASTER: next advertisement (RFC 9568 Adver_Timer)
    kMasterDown,  // BACKUP: the master is presumed dead when it fires (Master_Down_Timer)
    kGarp,        // MASTER: next round of gratuitous ARP (repeat or refresh)
};
inline constexpr size_t kTimerKindCount = 3;

// Send one advertisement with this priority (0 = "I am leaving", RFC 9568 §5.2.4).
// The runner builds it with VrrpInstance::build_advert.
struct SendAdvert {
    uint8_t priority = 0;
    friend bool operator==(const SendAdvert&, const SendAdvert&) = default;
};
// Put every configured VIP on the interface, or only `only` (a reload added them).
struct AddVip {
    std::optional<std::vector<Ipv4Prefix>> only;
    friend bool operator==(const AddVip&, const AddVip&) = default;
};
// Take every configured VIP off the interface. Emitted on entering BACKUP or FAULT even
// when the VIPs should already be gone (a crashed previous run may have left them), so
// the runner treats "not there" as success. With `only`, just those (a reload took them
// out of the configuration, so they are no longer among the configured VIPs).
struct RemoveVip {
    std::optional<std::vector<Ipv4Prefix>> only;
    friend bool operator==(const RemoveVip&, const RemoveVip&) = default;
};
// Broadcast one gratuitous ARP per VIP.
struct SendGarp {
    friend bool operator==(const SendGarp&, const SendGarp&) = default;
};
// (Re)arm the one timer of this kind to fire at `at`; replaces any earlier deadline.
struct ArmTimer {
    TimerKind kind{};
    TimePoint at{};
    friend bool operator==(const ArmTimer&, const ArmTimer&) = default;
};
struct CancelTimer {
    TimerKind kind{};
    friend bool operator==(const CancelTimer&, const CancelTimer&) = default;
};
// Run the notify script for the state just entered (kInit means the instance stopped).
struct RunNotify {
    VrrpState state{};
    friend bool operator==(const RunNotify&, const RunNotify&) = default;
};
struct LogTransition {
    VrrpState from{};
    VrrpState to{};
    std::string reason;
    friend bool operator==(const LogTransition&, const LogTransition&) = default;
};

using Action = std::variant<SendAdvert, AddVip, RemoveVip, SendGarp, ArmTimer, CancelTimer,
                            RunNotify, LogTransition>;

// One virtual router. Not thread-safe: the VRRP thread owns it. Every on_* returns the
// actions to execute in order. A transition lists LogTransition first and RunNotify last,
// and on becoming master the advert goes out before the VIP is added and announced, so
// the old master lets go of the address before the ARP caches move (keepalived's order).
class VrrpInstance {
public:
    explicit VrrpInstance(VrrpInstanceConfig config);

    // RFC 9568 §6.4.1 Startup: the address owner (priority 255) becomes MASTER at once,
    // anyone else BACKUP with Master_Down_Timer = Master_Down_Interval; FAULT instead if
    // on_fault(true) came before. Ignored unless in INIT.
    std::vector<Action> on_start(TimePoint now);

    // An advert that decode_advert accepted (TTL, checksum, ... already checked). Dropped
    // here: wrong VRID, our own address as source, any advert while INIT or FAULT, and
    // any advert while we are the address owner (§7.1). BACKUP follows §6.4.2, MASTER
    // §6.4.3; a MASTER that hears a lower-priority master (split brain healing) answers
    // with an advert and a fresh round of gratuitous ARP, each at most once per
    // advert_interval (counted from the last one sent), so a flood cannot amplify.
    std::vector<Action> on_advert(const Advert& advert, TimePoint now);

    // A timer armed by an earlier ArmTimer fired. A cancelled or superseded timer is
    // ignored; one that fires before its deadline is re-armed.
    std::vector<Action> on_timer(TimerKind kind, TimePoint now);

    // §6.4.2/§6.4.3 Shutdown: MASTER sends a priority-0 advert (the backup takes over
    // after Skew_Time instead of Master_Down_Interval) and drops the VIPs. Ends in INIT.
    std::vector<Action> on_shutdown(TimePoint now);

    // `faulted` is the aggregate of every fault source (interface down, a stuck worker).
    // Entering FAULT drops the VIPs and sends no adverts from then on; a MASTER sends
    // one last priority-0 advert on the way so the backup takes over after Skew_Time
    // (keepalived does the same). Leaving FAULT goes to BACKUP.
    std::vector<Action> on_fault(bool faulted, std::string_view reason, TimePoint now);

    // Effective priority after tracking (configured priority − track_weight while the
    // tracked listener has no healthy backend). Clamped to 1..254, or 255 when the
    // configured priority is 255. A MASTER advertises the new value at once, so a
    // preempting backup sees it without waiting an Advertisement_Interval.
    std::vector<Action> on_priority_change(int effective_priority, TimePoint now);

    // A reload changed this instance's configuration; interface and vrid are the same
    // (the runner restarts the instance otherwise) and primary_address is resolved.
    // Every key takes effect at once. A MASTER removes the VIPs no longer configured,
    // adds the new ones with a fresh round of gratuitous ARP, and advertises at once so
    // the peer sees the new interval, addresses, source or peers; a BACKUP just knows
    // what it would take. The priority is not changed here: the runner passes the new
    // effective priority to on_priority_change, as tracking does, so a master whose
    // priority fell below the peer's is taken over, and a backup whose priority rose
    // above the master's preempts if allowed (RFC 9568 §6.4.2).
    std::vector<Action> on_reconfigure(VrrpInstanceConfig next, TimePoint now);

    VrrpState state() const { return state_; }
    const std::string& last_transition_reason() const { return last_reason_; }
    // The current master: its advert source while BACKUP, our primary address while
    // MASTER, 0 when unknown (INIT, FAULT, or no advert heard yet).
    Ipv4 master_address() const { return master_address_; }
    uint8_t priority() const { return priority_; }
    const VrrpInstanceConfig& config() const { return config_; }

    // RFC 9568 §6.1. Master_Adver_Interval is learned from the master's adverts while
    // BACKUP and is our own Advertisement_Interval otherwise.
    Duration master_adver_interval() const { return master_adver_interval_; }
    // Skew_Time = ((256 − Priority) × Master_Adver_Interval) / 256
    Duration skew_time() const;
    // Master_Down_Interval = 3 × Master_Adver_Interval + Skew_Time
    Duration master_down_interval() const;
    // When the timer of this kind is due, if armed: the machine's own record, which
    // on_timer checks to tell a stale expiry. The runner does not read it; it keeps
    // what the ArmTimer/CancelTimer actions say (vrrp_timers.h), and the unit tests
    // check that the two agree.
    std::optional<TimePoint> timer_deadline(TimerKind kind) const;

    // The advert this instance sends with `priority` to `destination` (224.0.0.18 or a
    // unicast peer), ready for encode_advert.
    Advert build_advert(uint8_t priority, Ipv4 destination) const;

private:
    void transition(std::vector<Action>& out, VrrpState to, std::string reason);
    void arm(std::vector<Action>& out, TimerKind kind, TimePoint at);
    void cancel(std::vector<Action>& out, TimerKind kind);
    void send_advert(std::vector<Action>& out, TimePoint now);  // at our priority; remembered
    void send_garp(std::vector<Action>& out, TimePoint now);    // one round; remembered
    void start_garp_rounds(std::vector<Action>& out, TimePoint now);
    void arm_next_garp(std::vector<Action>& out, TimePoint now);
    void enter_master(std::vector<Action>& out, TimePoint now, std::string reason);
    void enter_backup(std::vector<Action>& out, TimePoint now, std::string reason,
                      Duration master_adver_interval, Ipv4 master);
    void enter_fault(std::vector<Action>& out, std::string reason);
    void advert_as_backup(std::vector<Action>& out, const Advert& advert, TimePoint now);
    void advert_as_master(std::vector<Action>& out, const Advert& advert, TimePoint now);

    VrrpInstanceConfig config_;
    VrrpState state_ = VrrpState::kInit;
    uint8_t priority_;
    Duration master_adver_interval_;
    Ipv4 master_address_ = 0;
    std::array<std::optional<TimePoint>, kTimerKindCount> deadlines_;
    int garp_rounds_left_ = 0;
    // When we last advertised at our priority and last sent a round of gratuitous ARP:
    // answers to lower-priority adverts are limited to one of each per interval.
    std::optional<TimePoint> last_advert_sent_;
    std::optional<TimePoint> last_garp_round_;
    // BACKUP with preempt_delay: until then a lower-priority master is still honoured.
    std::optional<TimePoint> preempt_deadline_;
    bool faulted_ = false;
    std::string fault_reason_;
    std::string master_down_reason_;
    std::string last_reason_;
};

}  // namespace ringlb
