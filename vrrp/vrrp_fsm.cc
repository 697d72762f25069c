// RFC 9568 §6.4 state machine for one VRRP instance. Pure: see vrrp_fsm.h.
#include "vrrp/vrrp_fsm.h"

#include <algorithm>
#include <utility>

namespace ringlb {
namespace {

// The wire cannot say less than one centisecond; a zero from a broken peer would make
// Master_Down_Interval zero and the backup take over on every advert.
constexpr Duration kMinAdverInterval = std::chrono::milliseconds(10);

size_t index(TimerKind kind) { return static_cast<size_t>(kind); }

// Constructs the action in place: building a temporary variant and moving it trips
// GCC 12's -Wmaybe-uninitialized on the std::string inside LogTransition.
template <class T>
void emit(std::vector<Action>& out, T&& action) {
    out.emplace_back(std::in_place_type<std::decay_t<T>>, std::forward<T>(action));
}

uint8_t clamp_priority(int wanted, uint8_t configured) {
    const int top = configured == kVrrpPriorityOwner ? kVrrpPriorityOwner : kVrrpPriorityOwner - 1;
    return uint8_t(std::clamp(wanted, 1, top));
}

std::string priority_text(const Advert& advert) {
    return "priority " + std::to_string(advert.priority) + " from " + format_ipv4(advert.source);
}

}  // namespace

VrrpInstance::VrrpInstance(VrrpInstanceConfig config)
    : config_(std::move(config)),
      priority_(clamp_priority(config_.priority, config_.priority)),
      master_adver_interval_(config_.advert_interval) {}

Duration VrrpInstance::skew_time() const {
    return (256 - int(priority_)) * master_adver_interval_ / 256;
}

Duration VrrpInstance::master_down_interval() const {
    return 3 * master_adver_interval_ + skew_time();
}

std::optional<TimePoint> VrrpInstance::timer_deadline(TimerKind kind) const {
    return deadlines_[index(kind)];
}

Advert VrrpInstance::build_advert(uint8_t priority, Ipv4 destination) const {
    Advert advert;
    advert.source = config_.primary_address;
    advert.destination = destination;
    advert.vrid = config_.vrid;
    advert.priority = priority;
    advert.max_advert_interval = config_.advert_interval;
    for (const auto& vip : config_.vips) advert.addresses.push_back(vip.address);
    return advert;
}

void VrrpInstance::transition(std::vector<Action>& out, VrrpState to, std::string reason) {
    emit(out, LogTransition{state_, to, reason});
    state_ = to;
    last_reason_ = std::move(reason);
    preempt_deadline_.reset();
}

void VrrpInstance::arm(std::vector<Action>& out, TimerKind kind, TimePoint at) {
    deadlines_[index(kind)] = at;
    emit(out, ArmTimer{kind, at});
}

void VrrpInstance::cancel(std::vector<Action>& out, TimerKind kind) {
    if (!deadlines_[index(kind)]) return;
    deadlines_[index(kind)].reset();
    emit(out, CancelTimer{kind});
}

void VrrpInstance::send_advert(std::vector<Action>& out, TimePoint now) {
    emit(out, SendAdvert{priority_});
    last_advert_sent_ = now;
}

void VrrpInstance::send_garp(std::vector<Action>& out, TimePoint now) {
    emit(out, SendGarp{});
    last_garp_round_ = now;
}

void VrrpInstance::start_garp_rounds(std::vector<Action>& out, TimePoint now) {
    send_garp(out, now);
    garp_rounds_left_ = std::max(config_.garp_repeat, 0);
    arm_next_garp(out, now);
}

void VrrpInstance::arm_next_garp(std::vector<Action>& out, TimePoint now) {
    if (garp_rounds_left_ > 0) arm(out, TimerKind::kGarp, now + config_.garp_interval);
    else if (config_.garp_refresh.count() > 0) arm(out, TimerKind::kGarp, now + config_.garp_refresh);
    else cancel(out, TimerKind::kGarp);
}

void VrrpInstance::enter_master(std::vector<Action>& out, TimePoint now, std::string reason) {
    transition(out, VrrpState::kMaster, std::move(reason));
    cancel(out, TimerKind::kMasterDown);
    master_adver_interval_ = config_.advert_interval;
    master_address_ = config_.primary_address;
    // §6.4.1/§6.4.2: send an ADVERTISEMENT, broadcast gratuitous ARP, set Adver_Timer.
    send_advert(out, now);
    emit(out, AddVip{});
    start_garp_rounds(out, now);
    arm(out, TimerKind::kAdver, now + config_.advert_interval);
    emit(out, RunNotify{VrrpState::kMaster});
}

void VrrpInstance::enter_backup(std::vector<Action>& out, TimePoint now, std::string reason,
                                Duration master_adver_interval, Ipv4 master) {
    transition(out, VrrpState::kBackup, std::move(reason));
    cancel(out, TimerKind::kAdver);
    cancel(out, TimerKind::kGarp);
    emit(out, RemoveVip{});
    // §6.4.1/§6.4.3: Master_Adver_Interval, then Master_Down_Timer = Master_Down_Interval.
    master_adver_interval_ = std::max(master_adver_interval, kMinAdverInterval);
    master_address_ = master;
    master_down_reason_ = master ? "no advert from master " + format_ipv4(master) +
                                       " for Master_Down_Interval"
                                 : "no master heard for Master_Down_Interval";
    arm(out, TimerKind::kMasterDown, now + master_down_interval());
    emit(out, RunNotify{VrrpState::kBackup});
}

void VrrpInstance::enter_fault(std::vector<Action>& out, std::string reason) {
    const VrrpState from = state_;
    transition(out, VrrpState::kFault, std::move(reason));
    cancel(out, TimerKind::kMasterDown);
    cancel(out, TimerKind::kAdver);
    cancel(out, TimerKind::kGarp);
    if (from == VrrpState::kMaster) emit(out, SendAdvert{kVrrpPriorityStop});
    emit(out, RemoveVip{});
    master_address_ = 0;
    emit(out, RunNotify{VrrpState::kFault});
}

std::vector<Action> VrrpInstance::on_start(TimePoint now) {
    std::vector<Action> out;
    if (state_ != VrrpState::kInit) return out;
    if (faulted_) {
        enter_fault(out, "fault at start: " + fault_reason_);
    } else if (priority_ == kVrrpPriorityOwner) {
        // §6.4.1: the address owner does not wait for anyone.
        enter_master(out, now, "start as address owner (priority 255)");
    } else {
        enter_backup(out, now, "start", config_.advert_interval, 0);
    }
    return out;
}

std::vector<Action> VrrpInstance::on_advert(const Advert& advert, TimePoint now) {
    std::vector<Action> out;
    if (state_ != VrrpState::kBackup && state_ != VrrpState::kMaster) return out;
    // §7.1: MUST verify the VRID is ours, and the address owner discards every advert.
    if (advert.vrid != config_.vrid) return out;
    if (priority_ == kVrrpPriorityOwner) return out;
    // Our own advert looped back (multicast loop, a bridge reflecting it).
    if (config_.primary_address != 0 && advert.source == config_.primary_address) return out;

    if (state_ == VrrpState::kBackup) advert_as_backup(out, advert, now);
    else advert_as_master(out, advert, now);
    return out;
}

void VrrpInstance::advert_as_backup(std::vector<Action>& out, const Advert& advert, TimePoint now) {
    if (advert.priority == kVrrpPriorityStop) {
        // §6.4.2: the master is leaving; take over after Skew_Time only.
        master_down_reason_ = "master " + format_ipv4(advert.source) + " sent priority 0";
        arm(out, TimerKind::kMasterDown, now + skew_time());
        return;
    }
    // §6.4.2: honour the advert if Preempt_Mode is False or the sender's priority is at
    // least ours; otherwise discard it and let Master_Down_Timer run out (preemption).
    bool honour = !config_.preempt || advert.priority >= priority_;
    if (advert.priority >= priority_) {
        preempt_deadline_.reset();
    } else if (!honour && config_.preempt_delay.count() > 0) {
        // keepalived's preempt_delay: the lower-priority master keeps the VIP for
        // preempt_delay after we first hear it, then we stop honouring it.
        if (!preempt_deadline_) preempt_deadline_ = now + config_.preempt_delay;
        honour = now < *preempt_deadline_;
    }
    master_address_ = advert.source;
    if (!honour) {
        // Preemption: the Master_Down_Timer is left to run out, and the log says so.
        master_down_reason_ = "preempting master " + format_ipv4(advert.source) + " (its priority " +
                              std::to_string(advert.priority) + " < our " + std::to_string(priority_) +
                              (config_.preempt_delay.count() > 0 ? ", after preempt_delay)" : ")");
        return;
    }
    // §6.4.2: Master_Adver_Interval from the advert, recompute Master_Down_Interval,
    // reset Master_Down_Timer.
    master_adver_interval_ = std::max<Duration>(advert.max_advert_interval, kMinAdverInterval);
    master_down_reason_ = "no advert from master " + format_ipv4(advert.source) +
                          " for Master_Down_Interval";
    arm(out, TimerKind::kMasterDown, now + master_down_interval());
}

void VrrpInstance::advert_as_master(std::vector<Action>& out, const Advert& advert, TimePoint now) {
    if (advert.priority == kVrrpPriorityStop) {
        // §6.4.3: someone is leaving; assert ourselves at once and reset Adver_Timer.
        send_advert(out, now);
        arm(out, TimerKind::kAdver, now + config_.advert_interval);
        return;
    }
    // §6.4.3: a higher priority, or an equal one from a higher primary address, wins.
    const bool they_win = advert.priority > priority_ ||
                          (advert.priority == priority_ && advert.source > config_.primary_address);
    if (they_win) {
        const std::string why = advert.priority > priority_
                                    ? "higher " + priority_text(advert)
                                    : "equal " + priority_text(advert) + ", a higher address";
        enter_backup(out, now, why, advert.max_advert_interval, advert.source);
        return;
    }
    // A lower-priority master: a split brain is healing. §6.4.3 discards the advert; we
    // also advertise at once so it steps down, and announce the VIPs afresh since it may
    // have pulled the LAN's ARP caches to itself meanwhile. At most one advert and one
    // round of gratuitous ARP per Advertisement_Interval, whatever arrives: a flood of
    // (spoofed) lower-priority adverts must not make us flood the LAN.
    const auto interval_since = [&](const std::optional<TimePoint>& last) {
        return !last || now - *last >= config_.advert_interval;
    };
    if (interval_since(last_advert_sent_)) {
        send_advert(out, now);
        arm(out, TimerKind::kAdver, now + config_.advert_interval);
    }
    if (interval_since(last_garp_round_)) start_garp_rounds(out, now);
}

std::vector<Action> VrrpInstance::on_timer(TimerKind kind, TimePoint now) {
    std::vector<Action> out;
    auto& deadline = deadlines_[index(kind)];
    if (!deadline) return out;  // cancelled or already handled: a stale expiry
    if (now < *deadline) {      // woke early: keep the deadline
        emit(out, ArmTimer{kind, *deadline});
        return out;
    }
    deadline.reset();
    switch (kind) {
        case TimerKind::kMasterDown:
            // §6.4.2: Master_Down_Timer fired.
            if (state_ == VrrpState::kBackup) enter_master(out, now, master_down_reason_);
            break;
        case TimerKind::kAdver:
            // §6.4.3: Adver_Timer fired.
            if (state_ == VrrpState::kMaster) {
                send_advert(out, now);
                arm(out, TimerKind::kAdver, now + config_.advert_interval);
            }
            break;
        case TimerKind::kGarp:
            if (state_ == VrrpState::kMaster) {
                send_garp(out, now);
                if (garp_rounds_left_ > 0) --garp_rounds_left_;
                arm_next_garp(out, now);
            }
            break;
    }
    return out;
}

std::vector<Action> VrrpInstance::on_shutdown(TimePoint) {
    std::vector<Action> out;
    const VrrpState from = state_;
    if (from == VrrpState::kInit) return out;
    transition(out, VrrpState::kInit, "shutdown");
    cancel(out, TimerKind::kMasterDown);
    cancel(out, TimerKind::kAdver);
    cancel(out, TimerKind::kGarp);
    if (from == VrrpState::kMaster) {
        // §6.4.3 Shutdown: send an ADVERTISEMENT with Priority = 0.
        emit(out, SendAdvert{kVrrpPriorityStop});
        emit(out, RemoveVip{});
    }
    master_address_ = 0;
    master_adver_interval_ = config_.advert_interval;
    emit(out, RunNotify{VrrpState::kInit});
    return out;
}

std::vector<Action> VrrpInstance::on_fault(bool faulted, std::string_view reason, TimePoint now) {
    std::vector<Action> out;
    faulted_ = faulted;
    fault_reason_ = std::string(reason);
    if (faulted) {
        if (state_ == VrrpState::kBackup || state_ == VrrpState::kMaster)
            enter_fault(out, "fault: " + fault_reason_);
    } else if (state_ == VrrpState::kFault) {
        enter_backup(out, now, "fault cleared: " + fault_reason_, config_.advert_interval, 0);
    }
    return out;
}

std::vector<Action> VrrpInstance::on_priority_change(int effective_priority, TimePoint now) {
    std::vector<Action> out;
    const uint8_t wanted = clamp_priority(effective_priority, config_.priority);
    if (wanted == priority_) return out;
    priority_ = wanted;
    if (state_ == VrrpState::kMaster) {
        send_advert(out, now);
        arm(out, TimerKind::kAdver, now + config_.advert_interval);
    }
    return out;
}

namespace {

// The prefixes of `a` that `b` does not hold (a changed prefix length counts as both
// removed and added: the kernel names an address by address and length).
std::vector<Ipv4Prefix> vips_missing_from(const std::vector<Ipv4Prefix>& a, const std::vector<Ipv4Prefix>& b) {
    std::vector<Ipv4Prefix> out;
    for (const Ipv4Prefix& vip : a)
        if (std::find(b.begin(), b.end(), vip) == b.end()) out.push_back(vip);
    return out;
}

}  // namespace

std::vector<Action> VrrpInstance::on_reconfigure(VrrpInstanceConfig next, TimePoint now) {
    std::vector<Action> out;
    const VrrpInstanceConfig old = std::exchange(config_, std::move(next));
    if (config_.preempt != old.preempt || config_.preempt_delay != old.preempt_delay) preempt_deadline_.reset();
    if (state_ == VrrpState::kBackup && master_address_ == 0) master_adver_interval_ = config_.advert_interval;
    if (state_ != VrrpState::kMaster) return out;
    master_adver_interval_ = config_.advert_interval;
    master_address_ = config_.primary_address;
    const std::vector<Ipv4Prefix> removed = vips_missing_from(old.vips, config_.vips);
    const std::vector<Ipv4Prefix> added = vips_missing_from(config_.vips, old.vips);
    if (!removed.empty()) emit(out, RemoveVip{removed});
    // The advert with the new settings before the new addresses are announced, as on
    // becoming master.
    emit(out, SendAdvert{priority_});
    arm(out, TimerKind::kAdver, now + config_.advert_interval);
    if (!added.empty()) {
        emit(out, AddVip{added});
        start_garp_rounds(out, now);
    } else if (config_.garp_refresh != old.garp_refresh || config_.garp_interval != old.garp_interval ||
               config_.garp_repeat != old.garp_repeat) {
        garp_rounds_left_ = std::min(garp_rounds_left_, std::max(config_.garp_repeat, 0));
        arm_next_garp(out, now);
    }
    return out;
}

}  // namespace ringlb
