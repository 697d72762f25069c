// The timers one instance's state machine has asked for, as the runner keeps them: set
// by ArmTimer, cleared by CancelTimer and by firing. The runner sets its timerfd to the
// earliest deadline over every instance and, when woken, fires what is due. Pure: the
// time is a parameter.
#pragma once

#include <array>
#include <optional>

#include "vrrp/vrrp_fsm.h"

namespace ringlb {

class VrrpTimers {
public:
    // The order in which the runner checks an instance's timers on one wake-up.
    static constexpr std::array<TimerKind, kTimerKindCount> kFiringOrder = {
        TimerKind::kMasterDown, TimerKind::kAdver, TimerKind::kGarp};

    // Replaces any earlier deadline of that kind.
    void apply(const ArmTimer& arm) { deadlines_[index(arm.kind)] = arm.at; }
    void apply(const CancelTimer& cancel) { deadlines_[index(cancel.kind)].reset(); }

    // True when the timer of `kind` is armed and due at `now`; it is then cleared, so
    // it fires once (the state machine re-arms what repeats).
    bool take_due(TimerKind kind, TimePoint now);

    std::optional<TimePoint> deadline(TimerKind kind) const { return deadlines_[index(kind)]; }
    // The soonest deadline of any kind; nullopt when none is armed.
    std::optional<TimePoint> earliest() const;

private:
    static size_t index(TimerKind kind) { return static_cast<size_t>(kind); }
    std::array<std::optional<TimePoint>, kTimerKindCount> deadlines_;
};

}  // namespace ringlb
