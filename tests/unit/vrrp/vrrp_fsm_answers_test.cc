// How a VRRP master answers lower-priority adverts (a split brain healing, or a flood of
// spoofed ones): at most one advert and one round of gratuitous ARP per advert_interval;
// and how a preempting backup names its reason (RFC 9568 §6.4.2/§6.4.3).
#include <gtest/gtest.h>

#include <variant>

#include "vrrp/vrrp_fsm.h"

namespace ringlb {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr Ipv4 kHostA = make_ipv4(10, 99, 8, 1);
constexpr Ipv4 kHostB = make_ipv4(10, 99, 8, 2);
constexpr Ipv4 kVip = make_ipv4(10, 99, 8, 100);
const TimePoint kT0 = TimePoint{} + seconds(500);

VrrpInstanceConfig config_with(int priority) {
    VrrpInstanceConfig c;
    c.name = "vip1";
    c.interface = "eth0";
    c.vrid = 51;
    c.priority = uint8_t(priority);
    c.advert_interval = milliseconds(100);
    c.vips = {{kVip, 24}};
    c.garp_repeat = 0;
    c.garp_refresh = milliseconds(0);
    c.primary_address = kHostA;
    return c;
}

Advert lower_advert(int priority = 50) {
    Advert a;
    a.source = kHostB;
    a.destination = make_ipv4(224, 0, 0, 18);
    a.vrid = 51;
    a.priority = uint8_t(priority);
    a.max_advert_interval = milliseconds(100);
    a.addresses = {kVip};
    return a;
}

template <class T>
int count_of(const std::vector<Action>& actions) {
    int n = 0;
    for (const Action& action : actions) n += std::holds_alternative<T>(action) ? 1 : 0;
    return n;
}

// A master that took over at kT0 (its advert and gratuitous ARP went out then).
VrrpInstance master_at_t0() {
    VrrpInstance vi(config_with(100));
    vi.on_start(kT0 - seconds(1));
    vi.on_timer(TimerKind::kMasterDown, kT0);
    EXPECT_EQ(vi.state(), VrrpState::kMaster);
    return vi;
}

TEST(VrrpFsmAnswers, MasterAnswersALowerMasterOncePerInterval) {
    VrrpInstance vi = master_at_t0();
    // An interval after its last advert and announcement: answered with both at once.
    auto actions = vi.on_advert(lower_advert(), kT0 + milliseconds(100));
    EXPECT_EQ(count_of<SendAdvert>(actions), 1);
    EXPECT_EQ(count_of<SendGarp>(actions), 1);
    EXPECT_EQ(vi.timer_deadline(TimerKind::kAdver), kT0 + milliseconds(200));
    // Within that interval: nothing, however many arrive.
    for (int i = 0; i < 50; ++i) EXPECT_TRUE(vi.on_advert(lower_advert(), kT0 + milliseconds(150 + i)).empty());
    EXPECT_EQ(vi.state(), VrrpState::kMaster);
}

TEST(VrrpFsmAnswers, AFloodOfLowerAdvertsSendsAtMostOneAdvertAndOneArpRoundPerInterval) {
    VrrpInstance vi = master_at_t0();
    int adverts = 0, garps = 0;
    TimePoint now = kT0;
    // 1,000 spoofed adverts, one every 2 ms (2 s), with the master's own timers firing
    // in between as the runner would fire them.
    for (int i = 0; i < 1000; ++i) {
        now += milliseconds(2);
        for (TimerKind kind : {TimerKind::kAdver, TimerKind::kGarp}) {
            auto deadline = vi.timer_deadline(kind);
            if (!deadline || *deadline > now) continue;
            auto fired = vi.on_timer(kind, *deadline);
            adverts += count_of<SendAdvert>(fired);
            garps += count_of<SendGarp>(fired);
        }
        auto answered = vi.on_advert(lower_advert(), now);
        adverts += count_of<SendAdvert>(answered);
        garps += count_of<SendGarp>(answered);
    }
    // 2 s at 100 ms: 20 intervals, so about 20 adverts (never 1,000) and at most as many rounds.
    EXPECT_GE(adverts, 19);
    EXPECT_LE(adverts, 21);
    EXPECT_LE(garps, 21);
    EXPECT_EQ(vi.state(), VrrpState::kMaster);
}

TEST(VrrpFsmAnswers, APriorityZeroAdvertIsStillAnsweredAtOnce) {
    VrrpInstance vi = master_at_t0();
    auto actions = vi.on_advert(lower_advert(0), kT0 + milliseconds(10));
    EXPECT_EQ(count_of<SendAdvert>(actions), 1);
}

TEST(VrrpFsmAnswers, APreemptingBackupSaysItPreempts) {
    VrrpInstance vi(config_with(200));
    vi.on_start(kT0);
    EXPECT_TRUE(vi.on_advert(lower_advert(100), kT0 + milliseconds(50)).empty());
    vi.on_timer(TimerKind::kMasterDown, *vi.timer_deadline(TimerKind::kMasterDown));
    EXPECT_EQ(vi.state(), VrrpState::kMaster);
    EXPECT_EQ(vi.last_transition_reason(), "preempting master 10.99.8.2 (its priority 100 < our 200)");
}

TEST(VrrpFsmAnswers, ABackupThatHonoursTheMasterKeepsTheSilenceReason) {
    VrrpInstance vi(config_with(100));
    vi.on_start(kT0);
    vi.on_advert(lower_advert(200), kT0 + milliseconds(50));
    vi.on_timer(TimerKind::kMasterDown, *vi.timer_deadline(TimerKind::kMasterDown));
    EXPECT_EQ(vi.last_transition_reason(), "no advert from master 10.99.8.2 for Master_Down_Interval");
}

}  // namespace
}  // namespace ringlb
