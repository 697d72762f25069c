// The runner's timer table (vrrp/vrrp_timers.h): kept from the state machine's ArmTimer
// and CancelTimer actions alone, it must say what the machine itself has armed, and fire
// each deadline once. A manual clock drives every test; no sockets.
#include "vrrp/vrrp_timers.h"

#include <gtest/gtest.h>

#include <random>
#include <set>
#include <vector>

#include "vrrp/vrrp_packet.h"

namespace ringlb {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

const TimePoint kT0 = TimePoint{} + seconds(1000);
constexpr Ipv4 kSelf = make_ipv4(10, 99, 7, 2);
constexpr Ipv4 kHigherPeer = make_ipv4(10, 99, 7, 3);
constexpr Ipv4 kLowerPeer = make_ipv4(10, 99, 7, 1);

VrrpInstanceConfig backup_config() {
    VrrpInstanceConfig c;
    c.name = "vip1";
    c.interface = "eth0";
    c.vrid = 51;
    c.priority = 100;
    c.advert_interval = milliseconds(100);
    c.vips = {{make_ipv4(10, 99, 7, 100), 24}};
    c.garp_repeat = 2;
    c.garp_interval = milliseconds(300);
    c.garp_refresh = seconds(1);
    c.primary_address = kSelf;
    return c;
}

Advert advert_from(Ipv4 source, int priority) {
    Advert a;
    a.source = source;
    a.destination = kVrrpMulticastGroup;
    a.vrid = 51;
    a.priority = uint8_t(priority);
    a.max_advert_interval = milliseconds(100);
    a.addresses = {make_ipv4(10, 99, 7, 100)};
    return a;
}

// What the runner does with an action list, as far as timers go.
void apply_timer_actions(VrrpTimers& timers, const std::vector<Action>& actions) {
    for (const Action& action : actions) {
        if (const auto* arm = std::get_if<ArmTimer>(&action)) timers.apply(*arm);
        if (const auto* cancel = std::get_if<CancelTimer>(&action)) timers.apply(*cancel);
    }
}

TEST(VrrpTimers, ArmingReplacesTheDeadlineAndCancellingClearsIt) {
    VrrpTimers timers;
    EXPECT_FALSE(timers.earliest());
    timers.apply(ArmTimer{TimerKind::kAdver, kT0 + seconds(2)});
    timers.apply(ArmTimer{TimerKind::kAdver, kT0 + seconds(1)});
    EXPECT_EQ(timers.deadline(TimerKind::kAdver), kT0 + seconds(1));
    timers.apply(CancelTimer{TimerKind::kAdver});
    EXPECT_FALSE(timers.deadline(TimerKind::kAdver));
    timers.apply(CancelTimer{TimerKind::kGarp});  // cancelling what is not armed is harmless
    EXPECT_FALSE(timers.earliest());
}

TEST(VrrpTimers, EarliestIsTheSoonestDeadlineOfAnyKind) {
    VrrpTimers timers;
    timers.apply(ArmTimer{TimerKind::kGarp, kT0 + milliseconds(300)});
    timers.apply(ArmTimer{TimerKind::kAdver, kT0 + milliseconds(100)});
    EXPECT_EQ(timers.earliest(), kT0 + milliseconds(100));
    timers.apply(CancelTimer{TimerKind::kAdver});
    EXPECT_EQ(timers.earliest(), kT0 + milliseconds(300));
}

TEST(VrrpTimers, ADueTimerFiresOnceAndAnEarlyWakeUpLeavesItArmed) {
    VrrpTimers timers;
    timers.apply(ArmTimer{TimerKind::kMasterDown, kT0 + milliseconds(361)});
    EXPECT_FALSE(timers.take_due(TimerKind::kMasterDown, kT0 + milliseconds(360)));
    EXPECT_EQ(timers.deadline(TimerKind::kMasterDown), kT0 + milliseconds(361));
    EXPECT_FALSE(timers.take_due(TimerKind::kAdver, kT0 + seconds(5)));  // never armed
    EXPECT_TRUE(timers.take_due(TimerKind::kMasterDown, kT0 + milliseconds(361)));
    EXPECT_FALSE(timers.take_due(TimerKind::kMasterDown, kT0 + seconds(5)));
    EXPECT_FALSE(timers.earliest());
}

// The runner's loop in miniature: fire whatever the table says is due, in firing order,
// and keep the table from the actions that come back.
void fire_due(VrrpInstance& fsm, VrrpTimers& timers, TimePoint now) {
    for (TimerKind kind : VrrpTimers::kFiringOrder)
        if (timers.take_due(kind, now)) apply_timer_actions(timers, fsm.on_timer(kind, now));
}

TEST(VrrpTimers, ABackupDrivenOnlyByTheTableTakesOverAtMasterDownAndThenAdvertisesOnTime) {
    VrrpInstance fsm(backup_config());
    VrrpTimers timers;
    apply_timer_actions(timers, fsm.on_start(kT0));
    // Master_Down_Interval for priority 100, 100 ms adverts: 300 + 60.9375 ms.
    const TimePoint down = kT0 + milliseconds(360) + std::chrono::microseconds(937) + std::chrono::nanoseconds(500);
    ASSERT_EQ(timers.earliest(), down);
    fire_due(fsm, timers, down - milliseconds(1));
    EXPECT_EQ(fsm.state(), VrrpState::kBackup);
    fire_due(fsm, timers, down);
    EXPECT_EQ(fsm.state(), VrrpState::kMaster);
    EXPECT_FALSE(timers.deadline(TimerKind::kMasterDown));
    EXPECT_EQ(timers.deadline(TimerKind::kAdver), down + milliseconds(100));
    EXPECT_EQ(timers.deadline(TimerKind::kGarp), down + milliseconds(300));
    EXPECT_EQ(timers.earliest(), down + milliseconds(100));
}

// Random events against one instance (adverts from a higher and a lower peer, priority
// 0 goodbyes, faults, tracking, early and late wake-ups): after every one, the table
// the actions built says exactly what the machine has armed. This is what lets the
// runner follow the actions instead of asking the machine.
TEST(VrrpTimers, KeptFromTheActionsTheTableAgreesWithTheStateMachineThroughEveryEvent) {
    auto config = backup_config();
    config.preempt_delay = milliseconds(250);
    VrrpInstance fsm(config);
    VrrpTimers timers;
    TimePoint now = kT0;
    std::set<VrrpState> visited;
    auto check = [&](int step) {
        for (TimerKind kind : VrrpTimers::kFiringOrder)
            ASSERT_EQ(timers.deadline(kind), fsm.timer_deadline(kind)) << "step " << step << " kind " << int(kind);
        visited.insert(fsm.state());
    };
    apply_timer_actions(timers, fsm.on_start(now));
    check(0);
    std::mt19937 rng(5798);
    bool faulted = false;
    for (int step = 1; step <= 5000; ++step) {
        const int event = int(rng() % 8);
        now += milliseconds(rng() % 120);
        switch (event) {
            case 0:
            case 1:  // the loop wakes at the earliest deadline, or a little late
                if (auto next = timers.earliest()) now = std::max(now, *next + milliseconds(rng() % 3));
                fire_due(fsm, timers, now);
                break;
            case 2:  // an early wake-up fires nothing
                fire_due(fsm, timers, now);
                break;
            case 3: apply_timer_actions(timers, fsm.on_advert(advert_from(kHigherPeer, 150), now)); break;
            case 4: apply_timer_actions(timers, fsm.on_advert(advert_from(kLowerPeer, 50), now)); break;
            case 5: apply_timer_actions(timers, fsm.on_advert(advert_from(kHigherPeer, 0), now)); break;
            case 6:
                if (rng() % 4 == 0) {
                    faulted = !faulted;
                    apply_timer_actions(timers, fsm.on_fault(faulted, "link", now));
                }
                break;
            case 7: apply_timer_actions(timers, fsm.on_priority_change(rng() % 2 ? 100 : 40, now)); break;
        }
        check(step);
        if (::testing::Test::HasFatalFailure()) return;
    }
    // The walk went through every state it can reach while running.
    EXPECT_EQ(visited, (std::set<VrrpState>{VrrpState::kBackup, VrrpState::kMaster, VrrpState::kFault}));
    apply_timer_actions(timers, fsm.on_shutdown(now));
    check(-1);
    EXPECT_FALSE(timers.earliest());
}

}  // namespace
}  // namespace ringlb
