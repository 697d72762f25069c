// RFC 9568 §6.4 state machine: every transition as a table row with a manual clock,
// the §6.1 timer arithmetic, and two instances wired together through the codec.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "vrrp/vrrp_fsm.h"
#include "vrrp/vrrp_packet.h"

namespace ringlb {

inline void PrintTo(VrrpState state, std::ostream* os) { *os << to_string(state); }

namespace {

using std::chrono::milliseconds;
using std::chrono::nanoseconds;
using std::chrono::seconds;

constexpr Ipv4 kHostA = make_ipv4(10, 99, 7, 1);
constexpr Ipv4 kHostB = make_ipv4(10, 99, 7, 2);
constexpr Ipv4 kLowerHost = make_ipv4(10, 99, 6, 9);
constexpr Ipv4 kVip = make_ipv4(10, 99, 7, 100);
const TimePoint kT0 = TimePoint{} + seconds(1000);

VrrpInstanceConfig base_config() {
    VrrpInstanceConfig c;
    c.name = "vip1";
    c.interface = "veth0";
    c.vrid = 51;
    c.priority = 100;
    c.advert_interval = milliseconds(1000);
    c.vips = {{kVip, 24}};
    c.preempt = true;
    c.garp_repeat = 2;
    c.garp_interval = milliseconds(500);
    c.garp_refresh = milliseconds(0);
    c.primary_address = kHostA;
    return c;
}

Advert advert_from(Ipv4 source, int priority, milliseconds interval = milliseconds(1000),
                   uint8_t vrid = 51) {
    Advert a;
    a.source = source;
    a.destination = kVrrpMulticastGroup;
    a.vrid = vrid;
    a.priority = uint8_t(priority);
    a.max_advert_interval = interval;
    a.addresses = {kVip};
    return a;
}

const char* timer_name(TimerKind kind) {
    switch (kind) {
        case TimerKind::kAdver: return "Adver";
        case TimerKind::kMasterDown: return "MasterDown";
        case TimerKind::kGarp: return "Garp";
    }
    return "?";
}

// "+3609.375ms": exact, since every interval here is a whole number of nanoseconds.
std::string offset(TimePoint at, TimePoint base) {
    const auto ns = std::chrono::duration_cast<nanoseconds>(at - base).count();
    char buf[64];
    std::snprintf(buf, sizeof buf, "%s%lld.%06lld", ns < 0 ? "-" : "+", std::llabs(ns) / 1000000LL,
                  std::llabs(ns) % 1000000LL);
    std::string s = buf;
    while (s.back() == '0') s.pop_back();
    if (s.back() == '.') s.pop_back();
    return s + "ms";
}

// One line per action list, times relative to `base`, so a failing row shows the whole
// difference at a glance.
std::string describe(const std::vector<Action>& actions, TimePoint base) {
    std::string out;
    for (const auto& action : actions) {
        if (!out.empty()) out += ' ';
        std::visit(
            [&](const auto& a) {
                using T = std::decay_t<decltype(a)>;
                if constexpr (std::is_same_v<T, SendAdvert>) out += "Advert(" + std::to_string(a.priority) + ")";
                else if constexpr (std::is_same_v<T, AddVip>) out += "AddVip";
                else if constexpr (std::is_same_v<T, RemoveVip>) out += "RemoveVip";
                else if constexpr (std::is_same_v<T, SendGarp>) out += "Garp";
                else if constexpr (std::is_same_v<T, ArmTimer>)
                    out += std::string("Arm(") + timer_name(a.kind) + "," + offset(a.at, base) + ")";
                else if constexpr (std::is_same_v<T, CancelTimer>)
                    out += std::string("Cancel(") + timer_name(a.kind) + ")";
                else if constexpr (std::is_same_v<T, RunNotify>)
                    out += std::string("Notify(") + to_string(a.state) + ")";
                else if constexpr (std::is_same_v<T, LogTransition>)
                    out += std::string("Log(") + to_string(a.from) + "->" + to_string(a.to) + ")";
            },
            action);
    }
    return out;
}

// ---------------------------------------------------------------- §6.1 arithmetic

TEST(VrrpFsm, SkewTimeAndMasterDownIntervalFollowRfc9568Section6_1) {
    struct Case {
        int priority;
        nanoseconds skew;
    };
    // Skew_Time = ((256 − Priority) × Master_Adver_Interval) / 256, interval 1 s.
    const Case cases[] = {{1, nanoseconds(996093750)},
                          {100, nanoseconds(609375000)},
                          {150, nanoseconds(414062500)},
                          {254, nanoseconds(7812500)},
                          {255, nanoseconds(3906250)}};
    for (const auto& c : cases) {
        auto config = base_config();
        config.priority = uint8_t(c.priority);
        VrrpInstance vi(config);
        EXPECT_EQ(vi.skew_time(), c.skew) << c.priority;
        EXPECT_EQ(vi.master_down_interval(), seconds(3) + c.skew) << c.priority;
    }
}

TEST(VrrpFsm, HigherPriorityBackupTimesOutFirst) {
    Duration previous = Duration::max();
    for (int p = 1; p <= 254; ++p) {
        auto config = base_config();
        config.priority = uint8_t(p);
        const Duration down = VrrpInstance(config).master_down_interval();
        EXPECT_LT(down, previous) << p;
        previous = down;
    }
}

TEST(VrrpFsm, BackupLearnsMasterAdverIntervalFromTheAdvert) {
    VrrpInstance vi(base_config());
    vi.on_start(kT0);
    const auto actions = vi.on_advert(advert_from(kHostB, 200, milliseconds(3000)), kT0);
    EXPECT_EQ(vi.master_adver_interval(), seconds(3));
    // 3 × 3 s + 156 × 3 s / 256
    EXPECT_EQ(describe(actions, kT0), "Arm(MasterDown,+10828.125ms)");
    EXPECT_EQ(vi.timer_deadline(TimerKind::kMasterDown), kT0 + milliseconds(10828) + nanoseconds(125000));
}

TEST(VrrpFsm, MasterUsesItsOwnIntervalAgainAfterTakingOver) {
    VrrpInstance vi(base_config());
    vi.on_start(kT0);
    vi.on_advert(advert_from(kHostB, 200, milliseconds(3000)), kT0);
    const TimePoint down = *vi.timer_deadline(TimerKind::kMasterDown);
    vi.on_timer(TimerKind::kMasterDown, down);
    ASSERT_EQ(vi.state(), VrrpState::kMaster);
    EXPECT_EQ(vi.master_adver_interval(), seconds(1));
    EXPECT_EQ(vi.timer_deadline(TimerKind::kAdver), down + seconds(1));
    EXPECT_EQ(vi.build_advert(vi.priority(), kVrrpMulticastGroup).max_advert_interval, seconds(1));
}

TEST(VrrpFsm, ZeroIntervalAdvertCountsAsOneCentisecond) {
    VrrpInstance vi(base_config());
    vi.on_start(kT0);
    vi.on_advert(advert_from(kHostB, 200, milliseconds(0)), kT0);
    EXPECT_EQ(vi.master_adver_interval(), milliseconds(10));
    EXPECT_GT(vi.master_down_interval(), milliseconds(30));
}

// ---------------------------------------------------------------- §6.4 transitions

enum class Ev { kStart, kFaultThenStart, kAdvert, kTimer, kShutdown, kFault, kRecover, kPriority };

struct Row {
    const char* name;
    VrrpState from;
    int priority;          // configured priority of the instance under test
    bool preempt;
    Ev event;
    int advert_priority;   // kAdvert: priority in the advert; kPriority: new priority
    Ipv4 advert_source;
    int advert_interval_ms;
    uint8_t advert_vrid;
    TimerKind timer;       // kTimer
    VrrpState to;
    const char* actions;   // describe() of what the event returns, times from the event
};

constexpr TimerKind kNoTimer = TimerKind::kAdver;

void PrintTo(const Row& row, std::ostream* os) { *os << row.name; }

const Row kRows[] = {
    // §6.4.1 Initialize
    {"InitStartsAsBackupAndArmsMasterDownTimer", VrrpState::kInit, 100, true, Ev::kStart, 0, 0, 0, 51,
     kNoTimer, VrrpState::kBackup,
     "Log(INIT->BACKUP) RemoveVip Arm(MasterDown,+3609.375ms) Notify(BACKUP)"},
    {"InitAddressOwnerStartsAsMaster", VrrpState::kInit, 255, true, Ev::kStart, 0, 0, 0, 51, kNoTimer,
     VrrpState::kMaster,
     "Log(INIT->MASTER) Advert(255) AddVip Garp Arm(Garp,+500ms) Arm(Adver,+1000ms) Notify(MASTER)"},
    {"InitWithAFaultStartsInFault", VrrpState::kInit, 100, true, Ev::kFaultThenStart, 0, 0, 0, 51,
     kNoTimer, VrrpState::kFault, "Log(INIT->FAULT) RemoveVip Notify(FAULT)"},
    {"InitIgnoresAdverts", VrrpState::kInit, 100, true, Ev::kAdvert, 200, kHostB, 1000, 51, kNoTimer,
     VrrpState::kInit, ""},
    {"InitShutdownDoesNothing", VrrpState::kInit, 100, true, Ev::kShutdown, 0, 0, 0, 51, kNoTimer,
     VrrpState::kInit, ""},

    // §6.4.2 Backup
    {"BackupBecomesMasterWhenMasterDownTimerFires", VrrpState::kBackup, 100, true, Ev::kTimer, 0, 0, 0,
     51, TimerKind::kMasterDown, VrrpState::kMaster,
     "Log(BACKUP->MASTER) Advert(100) AddVip Garp Arm(Garp,+500ms) Arm(Adver,+1000ms) Notify(MASTER)"},
    {"BackupSetsMasterDownTimerToSkewTimeOnPriorityZero", VrrpState::kBackup, 100, true, Ev::kAdvert, 0,
     kHostB, 1000, 51, kNoTimer, VrrpState::kBackup, "Arm(MasterDown,+609.375ms)"},
    {"BackupResetsMasterDownTimerOnHigherPriority", VrrpState::kBackup, 100, true, Ev::kAdvert, 200,
     kHostB, 2000, 51, kNoTimer, VrrpState::kBackup, "Arm(MasterDown,+7218.75ms)"},
    {"BackupResetsMasterDownTimerOnEqualPriority", VrrpState::kBackup, 100, true, Ev::kAdvert, 100,
     kLowerHost, 1000, 51, kNoTimer, VrrpState::kBackup, "Arm(MasterDown,+3609.375ms)"},
    {"BackupWithPreemptDiscardsLowerPriority", VrrpState::kBackup, 100, true, Ev::kAdvert, 50, kHostB,
     1000, 51, kNoTimer, VrrpState::kBackup, ""},
    {"BackupWithoutPreemptHonoursLowerPriority", VrrpState::kBackup, 100, false, Ev::kAdvert, 50, kHostB,
     1000, 51, kNoTimer, VrrpState::kBackup, "Arm(MasterDown,+3609.375ms)"},
    {"BackupIgnoresAnotherVrid", VrrpState::kBackup, 100, true, Ev::kAdvert, 200, kHostB, 1000, 52,
     kNoTimer, VrrpState::kBackup, ""},
    {"BackupIgnoresItsOwnAddress", VrrpState::kBackup, 100, true, Ev::kAdvert, 200, kHostA, 1000, 51,
     kNoTimer, VrrpState::kBackup, ""},
    {"BackupShutdownCancelsMasterDownTimer", VrrpState::kBackup, 100, true, Ev::kShutdown, 0, 0, 0, 51,
     kNoTimer, VrrpState::kInit, "Log(BACKUP->INIT) Cancel(MasterDown) Notify(INIT)"},
    {"BackupFaultCancelsMasterDownTimer", VrrpState::kBackup, 100, true, Ev::kFault, 0, 0, 0, 51,
     kNoTimer, VrrpState::kFault, "Log(BACKUP->FAULT) Cancel(MasterDown) RemoveVip Notify(FAULT)"},
    {"BackupPriorityChangeActsOnTheNextAdvert", VrrpState::kBackup, 100, true, Ev::kPriority, 180, 0, 0,
     51, kNoTimer, VrrpState::kBackup, ""},

    // §6.4.3 Master
    {"MasterSendsAdvertWhenAdverTimerFires", VrrpState::kMaster, 100, true, Ev::kTimer, 0, 0, 0, 51,
     TimerKind::kAdver, VrrpState::kMaster, "Advert(100) Arm(Adver,+1000ms)"},
    {"MasterRepeatsGratuitousArpWhenGarpTimerFires", VrrpState::kMaster, 100, true, Ev::kTimer, 0, 0, 0,
     51, TimerKind::kGarp, VrrpState::kMaster, "Garp Arm(Garp,+500ms)"},
    {"MasterStepsDownForHigherPriority", VrrpState::kMaster, 100, true, Ev::kAdvert, 200, kLowerHost,
     2000, 51, kNoTimer, VrrpState::kBackup,
     "Log(MASTER->BACKUP) Cancel(Adver) Cancel(Garp) RemoveVip Arm(MasterDown,+7218.75ms) "
     "Notify(BACKUP)"},
    {"MasterStepsDownForEqualPriorityFromHigherAddress", VrrpState::kMaster, 100, true, Ev::kAdvert, 100,
     kHostB, 1000, 51, kNoTimer, VrrpState::kBackup,
     "Log(MASTER->BACKUP) Cancel(Adver) Cancel(Garp) RemoveVip Arm(MasterDown,+3609.375ms) "
     "Notify(BACKUP)"},
    // 100 ms after becoming master it advertised and announced already: nothing more
    // until an interval has passed (MasterAnswersALowerMasterOncePerInterval).
    {"MasterStaysForEqualPriorityFromLowerAddress", VrrpState::kMaster, 100, true, Ev::kAdvert, 100,
     kLowerHost, 1000, 51, kNoTimer, VrrpState::kMaster, ""},
    {"MasterStaysForLowerPriority", VrrpState::kMaster, 100, true, Ev::kAdvert, 50,
     kHostB, 1000, 51, kNoTimer, VrrpState::kMaster, ""},
    {"MasterAnswersPriorityZeroWithAnAdvert", VrrpState::kMaster, 100, true, Ev::kAdvert, 0, kHostB,
     1000, 51, kNoTimer, VrrpState::kMaster, "Advert(100) Arm(Adver,+1000ms)"},
    {"MasterIgnoresAnotherVrid", VrrpState::kMaster, 100, true, Ev::kAdvert, 200, kHostB, 1000, 7,
     kNoTimer, VrrpState::kMaster, ""},
    {"MasterAddressOwnerIgnoresEveryAdvert", VrrpState::kMaster, 255, true, Ev::kAdvert, 255, kHostB,
     1000, 51, kNoTimer, VrrpState::kMaster, ""},
    {"MasterShutdownSendsPriorityZeroAndReleasesVip", VrrpState::kMaster, 100, true, Ev::kShutdown, 0, 0,
     0, 51, kNoTimer, VrrpState::kInit,
     "Log(MASTER->INIT) Cancel(Adver) Cancel(Garp) Advert(0) RemoveVip Notify(INIT)"},
    {"MasterFaultSendsPriorityZeroOnceAndReleasesVip", VrrpState::kMaster, 100, true, Ev::kFault, 0, 0,
     0, 51, kNoTimer, VrrpState::kFault,
     "Log(MASTER->FAULT) Cancel(Adver) Cancel(Garp) Advert(0) RemoveVip Notify(FAULT)"},
    {"MasterAdvertisesALoweredPriorityAtOnce", VrrpState::kMaster, 100, true, Ev::kPriority, 40, 0, 0,
     51, kNoTimer, VrrpState::kMaster, "Advert(40) Arm(Adver,+1000ms)"},

    // FAULT
    {"FaultRecoveryGoesToBackup", VrrpState::kFault, 100, true, Ev::kRecover, 0, 0, 0, 51, kNoTimer,
     VrrpState::kBackup, "Log(FAULT->BACKUP) RemoveVip Arm(MasterDown,+3609.375ms) Notify(BACKUP)"},
    {"FaultAddressOwnerRecoveryGoesToBackupToo", VrrpState::kFault, 255, true, Ev::kRecover, 0, 0, 0, 51,
     kNoTimer, VrrpState::kBackup,
     "Log(FAULT->BACKUP) RemoveVip Arm(MasterDown,+3003.90625ms) Notify(BACKUP)"},
    {"FaultIgnoresAdverts", VrrpState::kFault, 100, true, Ev::kAdvert, 0, kHostB, 1000, 51, kNoTimer,
     VrrpState::kFault, ""},
    {"FaultSendsNothingWhenAFormerTimerFires", VrrpState::kFault, 100, true, Ev::kTimer, 0, 0, 0, 51,
     TimerKind::kMasterDown, VrrpState::kFault, ""},
    {"FaultShutdownJustStops", VrrpState::kFault, 100, true, Ev::kShutdown, 0, 0, 0, 51, kNoTimer,
     VrrpState::kInit, "Log(FAULT->INIT) Notify(INIT)"},
    {"FaultStaysFaultWhenAnotherSourceFails", VrrpState::kFault, 100, true, Ev::kFault, 0, 0, 0, 51,
     kNoTimer, VrrpState::kFault, ""},
};

// Drives a fresh instance into `state`; returns the time the event will happen at.
TimePoint bring_to(VrrpInstance& vi, VrrpState state) {
    TimePoint now = kT0;
    if (state == VrrpState::kInit) return now + milliseconds(100);
    vi.on_start(now);
    if (state == VrrpState::kMaster && vi.state() == VrrpState::kBackup) {
        now = *vi.timer_deadline(TimerKind::kMasterDown);
        vi.on_timer(TimerKind::kMasterDown, now);
    }
    if (state == VrrpState::kFault) vi.on_fault(true, "link down", now);
    EXPECT_EQ(vi.state(), state);
    return now + milliseconds(100);
}

class VrrpFsmTransition : public ::testing::TestWithParam<Row> {};

TEST_P(VrrpFsmTransition, FollowsRfc9568Section6_4) {
    const Row& row = GetParam();
    auto config = base_config();
    config.priority = uint8_t(row.priority);
    config.preempt = row.preempt;
    VrrpInstance vi(config);
    // A FAULT entered from BACKUP keeps no timers: use the former Master_Down deadline.
    const auto former_down = kT0 + vi.master_down_interval();
    TimePoint now = bring_to(vi, row.from);

    std::vector<Action> actions;
    switch (row.event) {
        case Ev::kStart: actions = vi.on_start(now); break;
        case Ev::kFaultThenStart: {
            actions = vi.on_fault(true, "link down", now);
            EXPECT_TRUE(actions.empty());
            actions = vi.on_start(now);
            break;
        }
        case Ev::kAdvert:
            actions = vi.on_advert(advert_from(row.advert_source, row.advert_priority,
                                               milliseconds(row.advert_interval_ms), row.advert_vrid),
                                   now);
            break;
        case Ev::kTimer: {
            const auto deadline = vi.timer_deadline(row.timer);
            now = deadline ? *deadline : former_down;
            actions = vi.on_timer(row.timer, now);
            break;
        }
        case Ev::kShutdown: actions = vi.on_shutdown(now); break;
        case Ev::kFault: actions = vi.on_fault(true, "worker stuck", now); break;
        case Ev::kRecover: actions = vi.on_fault(false, "link up", now); break;
        case Ev::kPriority: actions = vi.on_priority_change(row.advert_priority, now); break;
    }
    EXPECT_EQ(describe(actions, now), row.actions);
    EXPECT_EQ(vi.state(), row.to);
    // Whatever the FSM says it armed, it reports as armed, and nothing else.
    std::map<TimerKind, TimePoint> armed;
    for (const auto& a : actions) {
        if (auto* arm = std::get_if<ArmTimer>(&a)) armed[arm->kind] = arm->at;
        if (auto* cancel = std::get_if<CancelTimer>(&a)) armed.erase(cancel->kind);
    }
    for (auto& [kind, at] : armed) EXPECT_EQ(vi.timer_deadline(kind), at) << timer_name(kind);
    // Only MASTER holds timers for adverts and GARP; only BACKUP waits for the master.
    if (vi.state() != VrrpState::kMaster) {
        EXPECT_FALSE(vi.timer_deadline(TimerKind::kAdver));
        EXPECT_FALSE(vi.timer_deadline(TimerKind::kGarp));
    }
    if (vi.state() != VrrpState::kBackup) {
        EXPECT_FALSE(vi.timer_deadline(TimerKind::kMasterDown));
    }
}

INSTANTIATE_TEST_SUITE_P(Vrrp, VrrpFsmTransition, ::testing::ValuesIn(kRows),
                         [](const auto& info) { return std::string(info.param.name); });

// ---------------------------------------------------------------- finer points

TEST(VrrpFsm, BackupTakesOverSkewTimeAfterPriorityZero) {
    VrrpInstance vi(base_config());
    vi.on_start(kT0);
    vi.on_advert(advert_from(kHostB, 200), kT0 + milliseconds(500));
    const TimePoint bye = kT0 + milliseconds(1500);
    vi.on_advert(advert_from(kHostB, 0), bye);
    EXPECT_EQ(vi.timer_deadline(TimerKind::kMasterDown), bye + milliseconds(609) + nanoseconds(375000));
    vi.on_timer(TimerKind::kMasterDown, bye + milliseconds(609) + nanoseconds(375000));
    EXPECT_EQ(vi.state(), VrrpState::kMaster);
    EXPECT_EQ(vi.last_transition_reason(), "master 10.99.7.2 sent priority 0");
}

TEST(VrrpFsm, PreemptingBackupTakesOverWhenTheLowerMasterIsDiscarded) {
    auto config = base_config();
    config.priority = 150;
    VrrpInstance vi(config);
    vi.on_start(kT0);
    const TimePoint down = *vi.timer_deadline(TimerKind::kMasterDown);
    for (int i = 0; i < 3; ++i)
        EXPECT_TRUE(vi.on_advert(advert_from(kHostB, 100), kT0 + seconds(i)).empty());
    EXPECT_EQ(vi.master_address(), kHostB);
    vi.on_timer(TimerKind::kMasterDown, down);
    EXPECT_EQ(vi.state(), VrrpState::kMaster);
    EXPECT_EQ(vi.master_address(), kHostA);
}

TEST(VrrpFsm, PreemptDelayHonoursTheLowerMasterUntilItRunsOut) {
    auto config = base_config();
    config.priority = 150;
    config.preempt_delay = seconds(5);
    VrrpInstance vi(config);
    vi.on_start(kT0);
    // First lower-priority advert at T0+1 s starts the 5 s delay.
    for (int i = 1; i <= 5; ++i) {
        const auto actions = vi.on_advert(advert_from(kHostB, 100), kT0 + seconds(i));
        EXPECT_EQ(actions.size(), 1u) << i;  // re-armed Master_Down_Timer
    }
    // From T0+6 s on it is discarded, so the timer armed at T0+5 s runs out.
    EXPECT_TRUE(vi.on_advert(advert_from(kHostB, 100), kT0 + seconds(6)).empty());
    EXPECT_TRUE(vi.on_advert(advert_from(kHostB, 100), kT0 + seconds(7)).empty());
    const TimePoint down = *vi.timer_deadline(TimerKind::kMasterDown);
    EXPECT_EQ(down, kT0 + seconds(5) + vi.master_down_interval());
    vi.on_timer(TimerKind::kMasterDown, down);
    EXPECT_EQ(vi.state(), VrrpState::kMaster);
}

TEST(VrrpFsm, PreemptDelayStartsAgainAfterAHigherMasterWasSeen) {
    auto config = base_config();
    config.priority = 150;
    config.preempt_delay = seconds(5);
    VrrpInstance vi(config);
    vi.on_start(kT0);
    vi.on_advert(advert_from(kHostB, 100), kT0);
    vi.on_advert(advert_from(kHostB, 200), kT0 + seconds(4));  // a higher master: delay reset
    EXPECT_EQ(vi.on_advert(advert_from(kHostB, 100), kT0 + seconds(8)).size(), 1u);
    EXPECT_EQ(vi.on_advert(advert_from(kHostB, 100), kT0 + milliseconds(12900)).size(), 1u);
    EXPECT_TRUE(vi.on_advert(advert_from(kHostB, 100), kT0 + seconds(13)).empty());
}

TEST(VrrpFsm, GratuitousArpIsRepeatedGarpRepeatTimesThenStops) {
    auto config = base_config();
    config.garp_repeat = 2;
    VrrpInstance vi(config);
    vi.on_start(kT0);
    TimePoint now = *vi.timer_deadline(TimerKind::kMasterDown);
    auto count_garps = [](const std::vector<Action>& actions) {
        return std::count_if(actions.begin(), actions.end(),
                             [](const Action& a) { return std::holds_alternative<SendGarp>(a); });
    };
    int garps = int(count_garps(vi.on_timer(TimerKind::kMasterDown, now)));
    for (int i = 0; i < 10 && vi.timer_deadline(TimerKind::kGarp); ++i) {
        now = *vi.timer_deadline(TimerKind::kGarp);
        garps += int(count_garps(vi.on_timer(TimerKind::kGarp, now)));
    }
    EXPECT_EQ(garps, 3);  // at once, then 2 repeats
    EXPECT_FALSE(vi.timer_deadline(TimerKind::kGarp));
    EXPECT_TRUE(vi.on_timer(TimerKind::kGarp, now + seconds(1)).empty());
}

TEST(VrrpFsm, GratuitousArpIsRefreshedWhileMaster) {
    auto config = base_config();
    config.priority = 255;
    config.garp_repeat = 1;
    config.garp_refresh = seconds(30);
    VrrpInstance vi(config);
    vi.on_start(kT0);
    EXPECT_EQ(vi.timer_deadline(TimerKind::kGarp), kT0 + milliseconds(500));
    EXPECT_EQ(describe(vi.on_timer(TimerKind::kGarp, kT0 + milliseconds(500)), kT0 + milliseconds(500)),
              "Garp Arm(Garp,+30000ms)");
    const TimePoint refresh = kT0 + milliseconds(30500);
    EXPECT_EQ(describe(vi.on_timer(TimerKind::kGarp, refresh), refresh), "Garp Arm(Garp,+30000ms)");
    vi.on_shutdown(refresh + seconds(1));
    EXPECT_FALSE(vi.timer_deadline(TimerKind::kGarp));
}

TEST(VrrpFsm, NoGarpTimerWithoutRepeats) {
    auto config = base_config();
    config.priority = 255;
    config.garp_repeat = 0;
    VrrpInstance vi(config);
    EXPECT_EQ(describe(vi.on_start(kT0), kT0),
              "Log(INIT->MASTER) Advert(255) AddVip Garp Arm(Adver,+1000ms) Notify(MASTER)");
}

TEST(VrrpFsm, CancelledTimerFiringLateIsIgnored) {
    VrrpInstance vi(base_config());
    vi.on_start(kT0);
    const TimePoint down = *vi.timer_deadline(TimerKind::kMasterDown);
    vi.on_shutdown(kT0 + milliseconds(10));
    EXPECT_TRUE(vi.on_timer(TimerKind::kMasterDown, down).empty());
    EXPECT_EQ(vi.state(), VrrpState::kInit);
}

TEST(VrrpFsm, SupersededTimerDeadlineIsKept) {
    VrrpInstance vi(base_config());
    vi.on_start(kT0);
    const TimePoint first = *vi.timer_deadline(TimerKind::kMasterDown);
    vi.on_advert(advert_from(kHostB, 200), kT0 + seconds(1));  // pushed out by 1 s
    const TimePoint second = *vi.timer_deadline(TimerKind::kMasterDown);
    ASSERT_EQ(second, first + seconds(1));
    // The runner's old expiry comes in: the FSM re-arms the real deadline.
    EXPECT_EQ(describe(vi.on_timer(TimerKind::kMasterDown, first), first), "Arm(MasterDown,+1000ms)");
    EXPECT_EQ(vi.state(), VrrpState::kBackup);
    vi.on_timer(TimerKind::kMasterDown, second);
    EXPECT_EQ(vi.state(), VrrpState::kMaster);
}

TEST(VrrpFsm, StartIsIgnoredOnceStarted) {
    VrrpInstance vi(base_config());
    vi.on_start(kT0);
    EXPECT_TRUE(vi.on_start(kT0 + seconds(1)).empty());
}

TEST(VrrpFsm, RestartAfterShutdownBeginsAgainAsBackup) {
    VrrpInstance vi(base_config());
    vi.on_start(kT0);
    vi.on_timer(TimerKind::kMasterDown, *vi.timer_deadline(TimerKind::kMasterDown));
    vi.on_shutdown(kT0 + seconds(10));
    const auto actions = vi.on_start(kT0 + seconds(20));
    EXPECT_EQ(describe(actions, kT0 + seconds(20)),
              "Log(INIT->BACKUP) RemoveVip Arm(MasterDown,+3609.375ms) Notify(BACKUP)");
}

TEST(VrrpFsm, FaultClearedBeforeStartStartsNormally) {
    VrrpInstance vi(base_config());
    vi.on_fault(true, "link down", kT0);
    vi.on_fault(false, "link up", kT0);
    vi.on_start(kT0);
    EXPECT_EQ(vi.state(), VrrpState::kBackup);
}

TEST(VrrpFsm, FaultSendsNoAdvertsWhileItLasts) {
    VrrpInstance vi(base_config());
    vi.on_start(kT0);
    vi.on_timer(TimerKind::kMasterDown, *vi.timer_deadline(TimerKind::kMasterDown));
    ASSERT_EQ(vi.state(), VrrpState::kMaster);
    const TimePoint adver = *vi.timer_deadline(TimerKind::kAdver);
    vi.on_fault(true, "interface veth0 down", adver - milliseconds(1));
    for (int i = 0; i < 5; ++i) {
        for (auto kind : {TimerKind::kAdver, TimerKind::kGarp, TimerKind::kMasterDown})
            EXPECT_TRUE(vi.on_timer(kind, adver + seconds(i)).empty());
        EXPECT_TRUE(vi.on_advert(advert_from(kHostB, 50), adver + seconds(i)).empty());
        EXPECT_TRUE(vi.on_priority_change(10 + i, adver + seconds(i)).empty());
    }
    EXPECT_EQ(vi.state(), VrrpState::kFault);
    EXPECT_EQ(vi.last_transition_reason(), "fault: interface veth0 down");
    EXPECT_EQ(vi.master_address(), 0u);
}

TEST(VrrpFsm, PriorityIsClampedAndOnlyTheOwnerKeeps255) {
    VrrpInstance vi(base_config());
    vi.on_priority_change(-20, kT0);
    EXPECT_EQ(vi.priority(), 1);
    vi.on_priority_change(300, kT0);
    EXPECT_EQ(vi.priority(), 254);
    auto owner_config = base_config();
    owner_config.priority = 255;
    VrrpInstance owner(owner_config);
    owner.on_priority_change(205, kT0);
    EXPECT_EQ(owner.priority(), 205);
    owner.on_priority_change(255, kT0);
    EXPECT_EQ(owner.priority(), 255);
}

TEST(VrrpFsm, TransitionReasonsNameTheCause) {
    VrrpInstance vi(base_config());
    vi.on_start(kT0);
    EXPECT_EQ(vi.last_transition_reason(), "start");
    vi.on_timer(TimerKind::kMasterDown, *vi.timer_deadline(TimerKind::kMasterDown));
    EXPECT_EQ(vi.last_transition_reason(), "no master heard for Master_Down_Interval");
    vi.on_advert(advert_from(kHostB, 200), kT0 + seconds(10));
    EXPECT_EQ(vi.last_transition_reason(), "higher priority 200 from 10.99.7.2");
    EXPECT_EQ(vi.master_address(), kHostB);
    vi.on_timer(TimerKind::kMasterDown, *vi.timer_deadline(TimerKind::kMasterDown));
    EXPECT_EQ(vi.last_transition_reason(), "no advert from master 10.99.7.2 for Master_Down_Interval");
    vi.on_advert(advert_from(kHostB, 100), kT0 + seconds(20));
    EXPECT_EQ(vi.last_transition_reason(), "equal priority 100 from 10.99.7.2, a higher address");
}

TEST(VrrpFsm, BuildAdvertCarriesTheConfiguredFieldsThroughTheCodec) {
    auto config = base_config();
    config.vips = {{kVip, 24}, {make_ipv4(10, 99, 7, 101), 32}};
    config.advert_interval = milliseconds(250);
    VrrpInstance vi(config);
    const Advert sent = vi.build_advert(100, kHostB);
    std::vector<uint8_t> packet(20, 0);
    const auto vrrp = encode_advert(sent);
    packet[0] = 0x45;
    packet[3] = uint8_t(20 + vrrp.size());
    packet[8] = 255;
    packet[9] = 112;
    packet[12] = 10, packet[13] = 99, packet[14] = 7, packet[15] = 1;
    packet[16] = 10, packet[17] = 99, packet[18] = 7, packet[19] = 2;
    packet.insert(packet.end(), vrrp.begin(), vrrp.end());
    const DecodedAdvert got = decode_advert(packet);
    ASSERT_EQ(got.verdict, AdvertVerdict::kOk);
    EXPECT_EQ(got.advert.source, kHostA);
    EXPECT_EQ(got.advert.destination, kHostB);
    EXPECT_EQ(got.advert.vrid, 51);
    EXPECT_EQ(got.advert.priority, 100);
    EXPECT_EQ(got.advert.max_advert_interval, milliseconds(250));
    EXPECT_EQ(got.advert.addresses, (std::vector<Ipv4>{kVip, make_ipv4(10, 99, 7, 101)}));
}

// ---------------------------------------------------------------- two hosts on a LAN

// Two (or more) instances joined by a simulated LAN: adverts go through encode_advert
// and decode_advert with zero latency, timers fire in time order on a manual clock.
class Lan {
public:
    struct Host {
        explicit Host(VrrpInstanceConfig c) : fsm(std::move(c)) {}
        VrrpInstance fsm;
        std::map<TimerKind, TimePoint> timers;
        bool alive = true;       // false: the process died (no shutdown, no adverts)
        bool has_vip = false;
        int garps = 0;
        std::vector<std::pair<TimePoint, VrrpState>> history;
    };

    explicit Lan(std::vector<VrrpInstanceConfig> configs) {
        for (auto& c : configs) hosts_.emplace_back(std::move(c));
    }

    Host& host(size_t i) { return hosts_[i]; }
    TimePoint now() const { return now_; }
    bool partitioned = false;

    void start(size_t i) { apply(i, hosts_[i].fsm.on_start(now_)); }
    void shutdown(size_t i) { apply(i, hosts_[i].fsm.on_shutdown(now_)); }
    void fault(size_t i, bool on) { apply(i, hosts_[i].fsm.on_fault(on, "link", now_)); }
    void priority(size_t i, int p) { apply(i, hosts_[i].fsm.on_priority_change(p, now_)); }
    void kill(size_t i) {
        hosts_[i].alive = false;
        hosts_[i].timers.clear();
    }

    // Fires every timer due up to `end`, in order, then sets the clock to `end`.
    // `check` runs after every event.
    template <class Check>
    void run_until(TimePoint end, Check check) {
        for (int step = 0; step < 100000; ++step) {
            size_t who = 0;
            std::optional<std::pair<TimePoint, TimerKind>> next;
            for (size_t i = 0; i < hosts_.size(); ++i)
                for (auto& [kind, at] : hosts_[i].timers)
                    if (!next || at < next->first) next = {{at, kind}}, who = i;
            if (!next || next->first > end) break;
            now_ = next->first;
            hosts_[who].timers.erase(next->second);
            apply(who, hosts_[who].fsm.on_timer(next->second, now_));
            check();
        }
        now_ = end;
    }
    void run_until(TimePoint end) {
        run_until(end, [] {});
    }

    int masters() const {
        return int(std::count_if(hosts_.begin(), hosts_.end(), [](const Host& h) {
            return h.alive && h.fsm.state() == VrrpState::kMaster;
        }));
    }
    int vip_holders() const {
        return int(std::count_if(hosts_.begin(), hosts_.end(), [](const Host& h) { return h.alive && h.has_vip; }));
    }
    // When host i last entered `state`.
    std::optional<TimePoint> entered(size_t i, VrrpState state) const {
        std::optional<TimePoint> at;
        for (auto& [t, s] : hosts_[i].history)
            if (s == state) at = t;
        return at;
    }

private:
    void apply(size_t i, const std::vector<Action>& actions) {
        std::vector<std::pair<size_t, std::vector<uint8_t>>> wire;
        Host& h = hosts_[i];
        for (const auto& action : actions) {
            if (auto* a = std::get_if<SendAdvert>(&action)) {
                const Advert adv = h.fsm.build_advert(a->priority, kVrrpMulticastGroup);
                wire.emplace_back(i, ip_packet(adv));
            } else if (std::holds_alternative<AddVip>(action)) {
                h.has_vip = true;
            } else if (std::holds_alternative<RemoveVip>(action)) {
                h.has_vip = false;
            } else if (std::holds_alternative<SendGarp>(action)) {
                ++h.garps;
            } else if (auto* arm = std::get_if<ArmTimer>(&action)) {
                h.timers[arm->kind] = arm->at;
            } else if (auto* cancel = std::get_if<CancelTimer>(&action)) {
                h.timers.erase(cancel->kind);
            } else if (auto* log = std::get_if<LogTransition>(&action)) {
                h.history.emplace_back(now_, log->to);
            }
        }
        for (auto& [from, packet] : wire) {
            if (partitioned) continue;
            for (size_t j = 0; j < hosts_.size(); ++j) {
                if (j == from || !hosts_[j].alive) continue;
                const DecodedAdvert d = decode_advert(packet);
                EXPECT_EQ(d.verdict, AdvertVerdict::kOk);
                apply(j, hosts_[j].fsm.on_advert(d.advert, now_));
            }
        }
    }

    static std::vector<uint8_t> ip_packet(const Advert& adv) {
        const auto vrrp = encode_advert(adv);
        std::vector<uint8_t> p = {0x45, 0xc0, 0, uint8_t(20 + vrrp.size()), 0, 0, 0, 0, 255, 112, 0, 0};
        for (Ipv4 a : {adv.source, adv.destination})
            for (int s = 24; s >= 0; s -= 8) p.push_back(uint8_t(a >> s));
        p.insert(p.end(), vrrp.begin(), vrrp.end());
        return p;
    }

    std::vector<Host> hosts_;
    TimePoint now_ = kT0;
};

VrrpInstanceConfig host_config(Ipv4 address, int priority) {
    auto c = base_config();
    c.primary_address = address;
    c.priority = uint8_t(priority);
    return c;
}

TEST(VrrpPair, HigherPriorityHostBecomesTheOnlyMaster) {
    Lan lan({host_config(kHostA, 150), host_config(kHostB, 100)});
    lan.start(0);
    lan.start(1);
    lan.run_until(kT0 + seconds(60), [&] { EXPECT_LE(lan.vip_holders(), 1); });
    EXPECT_EQ(lan.host(0).fsm.state(), VrrpState::kMaster);
    EXPECT_EQ(lan.host(1).fsm.state(), VrrpState::kBackup);
    EXPECT_EQ(lan.host(1).fsm.master_address(), kHostA);
    // A became master after its own Master_Down_Interval: 3 s + 106/256 s.
    EXPECT_EQ(lan.entered(0, VrrpState::kMaster), kT0 + seconds(3) + nanoseconds(414062500));
    EXPECT_FALSE(lan.entered(1, VrrpState::kMaster));
}

TEST(VrrpPair, EqualPrioritiesElectTheHigherAddress) {
    Lan lan({host_config(kHostA, 100), host_config(kHostB, 100)});
    // Started apart, both claim mastership; once they hear each other §6.4.3 settles it
    // on the primary address.
    lan.partitioned = true;
    lan.start(0);
    lan.start(1);
    lan.run_until(kT0 + seconds(10));
    ASSERT_EQ(lan.masters(), 2);
    lan.partitioned = false;
    lan.run_until(kT0 + seconds(20), [&] { EXPECT_GE(lan.masters(), 1); });
    EXPECT_EQ(lan.host(0).fsm.state(), VrrpState::kBackup);
    EXPECT_EQ(lan.host(1).fsm.state(), VrrpState::kMaster);
    EXPECT_EQ(lan.masters(), 1);
    EXPECT_EQ(lan.vip_holders(), 1);
}

TEST(VrrpPair, EqualPrioritiesStartedTogetherKeepTheFirstMaster) {
    Lan lan({host_config(kHostA, 100), host_config(kHostB, 100)});
    lan.start(0);
    lan.start(1);
    lan.run_until(kT0 + seconds(30), [&] { EXPECT_LE(lan.masters(), 1); });
    // Zero latency: whoever times out first is heard by the other, whose equal priority
    // makes it honour the advert (§6.4.2 "greater than or equal"); no flapping after.
    EXPECT_EQ(lan.masters(), 1);
    EXPECT_EQ(lan.vip_holders(), 1);
}

TEST(VrrpPair, GracefulShutdownHandsOverAfterSkewTime) {
    Lan lan({host_config(kHostA, 150), host_config(kHostB, 100)});
    lan.start(0);
    lan.start(1);
    lan.run_until(kT0 + milliseconds(10500));
    ASSERT_EQ(lan.host(0).fsm.state(), VrrpState::kMaster);
    const TimePoint stop = lan.now();
    lan.shutdown(0);
    lan.run_until(stop + seconds(10));
    // B's Skew_Time = 156/256 × 1 s, not 3 adverts.
    EXPECT_EQ(lan.entered(1, VrrpState::kMaster), stop + nanoseconds(609375000));
    EXPECT_EQ(lan.vip_holders(), 1);
    EXPECT_TRUE(lan.host(1).has_vip);
}

TEST(VrrpPair, DeadMasterIsReplacedAfterMasterDownInterval) {
    Lan lan({host_config(kHostA, 150), host_config(kHostB, 100)});
    lan.start(0);
    lan.start(1);
    lan.run_until(kT0 + milliseconds(10500));
    lan.kill(0);  // the last advert went out at T0 + 10.414 s
    const TimePoint last_advert = kT0 + seconds(10) + nanoseconds(414062500);
    lan.run_until(kT0 + seconds(30));
    EXPECT_EQ(lan.entered(1, VrrpState::kMaster), last_advert + seconds(3) + nanoseconds(609375000));
}

TEST(VrrpPair, RestartedHigherPriorityHostPreemptsTheBackup) {
    Lan lan({host_config(kHostA, 150), host_config(kHostB, 100)});
    lan.start(1);
    lan.run_until(kT0 + seconds(10));
    ASSERT_EQ(lan.host(1).fsm.state(), VrrpState::kMaster);
    const TimePoint start = lan.now();
    lan.start(0);
    lan.run_until(start + seconds(20), [&] { EXPECT_LE(lan.masters(), 1); });
    EXPECT_EQ(lan.host(0).fsm.state(), VrrpState::kMaster);
    EXPECT_EQ(lan.host(1).fsm.state(), VrrpState::kBackup);
    EXPECT_EQ(lan.entered(0, VrrpState::kMaster), start + seconds(3) + nanoseconds(414062500));
}

TEST(VrrpPair, WithoutPreemptRestartedHigherPriorityHostStaysBackup) {
    auto a = host_config(kHostA, 150);
    a.preempt = false;
    Lan lan({a, host_config(kHostB, 100)});
    lan.start(1);
    lan.run_until(kT0 + seconds(10));
    lan.start(0);
    lan.run_until(kT0 + seconds(120));
    EXPECT_EQ(lan.host(0).fsm.state(), VrrpState::kBackup);
    EXPECT_EQ(lan.host(1).fsm.state(), VrrpState::kMaster);
}

TEST(VrrpPair, PreemptDelayPostponesTheTakeover) {
    auto a = host_config(kHostA, 150);
    a.preempt_delay = seconds(10);
    Lan lan({a, host_config(kHostB, 100)});
    lan.start(1);
    lan.run_until(kT0 + seconds(10));
    const TimePoint start = lan.now();
    lan.start(0);
    lan.run_until(start + seconds(60));
    ASSERT_EQ(lan.host(0).fsm.state(), VrrpState::kMaster);
    const TimePoint took_over = *lan.entered(0, VrrpState::kMaster);
    EXPECT_GE(took_over, start + seconds(10));
    EXPECT_LE(took_over, start + seconds(11) + lan.host(0).fsm.master_down_interval());
}

TEST(VrrpPair, TrackingWeightMovesTheVipAndBack) {
    Lan lan({host_config(kHostA, 150), host_config(kHostB, 100)});
    lan.start(0);
    lan.start(1);
    lan.run_until(kT0 + seconds(10));
    ASSERT_TRUE(lan.host(0).has_vip);
    lan.priority(0, 150 - 60);  // tracked listener lost its backends
    lan.run_until(lan.now() + seconds(10), [&] { EXPECT_LE(lan.vip_holders(), 1); });
    EXPECT_TRUE(lan.host(1).has_vip);
    EXPECT_EQ(lan.host(0).fsm.state(), VrrpState::kBackup);
    lan.priority(0, 150);  // backends healthy again
    lan.run_until(lan.now() + seconds(10), [&] { EXPECT_LE(lan.vip_holders(), 1); });
    EXPECT_TRUE(lan.host(0).has_vip);
    EXPECT_EQ(lan.host(1).fsm.state(), VrrpState::kBackup);
}

TEST(VrrpPair, HealedSplitBrainIsReannouncedByTheRefreshWhenTheLowerMasterYieldsUnheard) {
    auto a = host_config(kHostA, 150);
    a.garp_refresh = seconds(20);
    Lan lan({a, host_config(kHostB, 100)});
    lan.start(0);
    lan.start(1);
    lan.run_until(kT0 + seconds(10));
    lan.partitioned = true;
    lan.run_until(kT0 + seconds(20));
    ASSERT_EQ(lan.masters(), 2);
    // A advertises at T0 + k + 0.414 s, B at T0 + k + 0.023 s: healing at T0 + 20.2 s, A's
    // advert crosses first and B steps down without A ever hearing it.
    lan.run_until(kT0 + milliseconds(20200));
    const int garps_before = lan.host(0).garps;
    lan.partitioned = false;
    lan.run_until(kT0 + milliseconds(20500));
    ASSERT_EQ(lan.masters(), 1);
    EXPECT_EQ(lan.host(0).garps, garps_before);
    lan.run_until(kT0 + milliseconds(20200) + a.garp_refresh);
    EXPECT_GT(lan.host(0).garps, garps_before);
}

TEST(VrrpPair, HealedSplitBrainLeavesOneMasterThatAnnouncesTheVipAfresh) {
    Lan lan({host_config(kHostA, 150), host_config(kHostB, 100)});
    lan.start(0);
    lan.start(1);
    lan.run_until(kT0 + seconds(10));
    lan.partitioned = true;
    lan.run_until(kT0 + seconds(20));
    ASSERT_EQ(lan.masters(), 2);  // both hold the VIP: the split brain
    const int garps_before = lan.host(0).garps;
    lan.partitioned = false;
    lan.run_until(kT0 + seconds(30));
    EXPECT_EQ(lan.masters(), 1);
    EXPECT_EQ(lan.host(0).fsm.state(), VrrpState::kMaster);
    EXPECT_FALSE(lan.host(1).has_vip);
    // B's GARPs pulled the LAN to itself during the split; A re-announces.
    EXPECT_GT(lan.host(0).garps, garps_before);
}

TEST(VrrpPair, FaultOnTheMasterHandsOverAfterSkewTimeAndRecoveryTakesItBack) {
    Lan lan({host_config(kHostA, 150), host_config(kHostB, 100)});
    lan.start(0);
    lan.start(1);
    lan.run_until(kT0 + seconds(10));
    const TimePoint fault = lan.now();
    lan.fault(0, true);
    lan.run_until(fault + seconds(10));
    EXPECT_EQ(lan.entered(1, VrrpState::kMaster), fault + nanoseconds(609375000));
    EXPECT_EQ(lan.host(0).fsm.state(), VrrpState::kFault);
    EXPECT_FALSE(lan.host(0).has_vip);
    lan.fault(0, false);
    lan.run_until(lan.now() + seconds(10));
    EXPECT_EQ(lan.host(0).fsm.state(), VrrpState::kMaster);
    EXPECT_EQ(lan.host(1).fsm.state(), VrrpState::kBackup);
    EXPECT_EQ(lan.vip_holders(), 1);
}

}  // namespace
}  // namespace ringlb
