// Unit tests for VrrpInstance::on_reconfigure: a reload's new settings take effect at
// once, a master adds and removes VIPs and advertises, a backup only learns them, and a
// new priority goes through on_priority_change to the RFC 9568 election.
#include <gtest/gtest.h>

#include "vrrp/vrrp_fsm.h"

namespace ringlb {
namespace {

using std::chrono::milliseconds;

constexpr Ipv4 kSelf = make_ipv4(10, 7, 0, 1);
constexpr Ipv4 kPeer = make_ipv4(10, 7, 0, 2);
const TimePoint kStart = TimePoint{} + std::chrono::hours(1);
const Ipv4Prefix kOld{make_ipv4(10, 7, 0, 100), 24};
const Ipv4Prefix kNew{make_ipv4(10, 7, 0, 101), 32};

VrrpInstanceConfig settings(uint8_t priority) {
    VrrpInstanceConfig c;
    c.name = "r";
    c.interface = "eth0";
    c.vrid = 9;
    c.priority = priority;
    c.advert_interval = milliseconds(100);
    c.vips = {kOld};
    c.primary_address = kSelf;
    c.garp_refresh = milliseconds(0);
    return c;
}

// A master: started, then its Master_Down_Timer ran out.
VrrpInstance master_of(const VrrpInstanceConfig& config) {
    VrrpInstance fsm(config);
    (void)fsm.on_start(kStart);
    (void)fsm.on_timer(TimerKind::kMasterDown, kStart + std::chrono::seconds(1));
    EXPECT_EQ(fsm.state(), VrrpState::kMaster);
    return fsm;
}

// An advert from the peer at 100 ms carrying the old VIP.
Advert peer_advert(uint8_t priority) {
    Advert advert;
    advert.source = kPeer;
    advert.vrid = 9;
    advert.priority = priority;
    advert.max_advert_interval = milliseconds(100);
    advert.addresses = {kOld.address};
    return advert;
}

template <class T>
std::vector<T> only(const std::vector<Action>& actions) {
    std::vector<T> out;
    for (const Action& action : actions)
        if (const auto* a = std::get_if<T>(&action)) out.push_back(*a);
    return out;
}

TEST(VrrpFsmReconfigure, AMasterRemovesTheVipsTakenOutAddsTheNewOnesAndAdvertisesAtOnce) {
    VrrpInstance fsm = master_of(settings(150));
    VrrpInstanceConfig next = settings(150);
    next.vips = {kNew};
    next.advert_interval = milliseconds(200);
    const TimePoint now = kStart + std::chrono::seconds(2);
    const std::vector<Action> actions = fsm.on_reconfigure(next, now);
    ASSERT_EQ(only<RemoveVip>(actions).size(), 1u);
    EXPECT_EQ(only<RemoveVip>(actions)[0].only, std::vector<Ipv4Prefix>{kOld});
    ASSERT_EQ(only<AddVip>(actions).size(), 1u);
    EXPECT_EQ(only<AddVip>(actions)[0].only, std::vector<Ipv4Prefix>{kNew});
    EXPECT_EQ(only<SendGarp>(actions).size(), 1u);
    EXPECT_EQ(only<SendAdvert>(actions), std::vector<SendAdvert>{SendAdvert{150}});
    EXPECT_EQ(fsm.timer_deadline(TimerKind::kAdver), now + milliseconds(200));
    EXPECT_EQ(fsm.build_advert(150, 0).addresses, std::vector<Ipv4>{kNew.address});
    EXPECT_EQ(fsm.build_advert(150, 0).max_advert_interval, milliseconds(200));
    EXPECT_EQ(fsm.state(), VrrpState::kMaster);  // no transition: no needless failover
}

TEST(VrrpFsmReconfigure, AMasterWhosePriorityFallsBelowThePeersIsTakenOver) {
    VrrpInstance fsm = master_of(settings(150));
    const TimePoint now = kStart + std::chrono::seconds(2);
    EXPECT_TRUE(only<SendAdvert>(fsm.on_reconfigure(settings(50), now)).size() == 1u);
    // The runner passes the new effective priority on; it is advertised at once.
    EXPECT_EQ(only<SendAdvert>(fsm.on_priority_change(50, now)), std::vector<SendAdvert>{SendAdvert{50}});
    // The peer (100, preempting) no longer honours 50 and takes over; its advert wins.
    const Advert from_peer = peer_advert(100);
    const std::vector<Action> actions = fsm.on_advert(from_peer, now + milliseconds(400));
    EXPECT_EQ(fsm.state(), VrrpState::kBackup);
    EXPECT_EQ(only<RemoveVip>(actions).size(), 1u);
}

TEST(VrrpFsmReconfigure, ABackupOnlyLearnsItsNewVipsAndPreemptsOnceItsPriorityIsHigher) {
    VrrpInstance fsm(settings(100));
    (void)fsm.on_start(kStart);
    const Advert from_master = peer_advert(150);
    (void)fsm.on_advert(from_master, kStart + milliseconds(50));
    VrrpInstanceConfig next = settings(200);
    next.vips = {kOld, kNew};
    const TimePoint now = kStart + milliseconds(100);
    EXPECT_TRUE(fsm.on_reconfigure(next, now).empty());  // nothing on the wire or the interface
    EXPECT_TRUE(fsm.on_priority_change(200, now).empty());
    // The master's next advert (150 < 200) is no longer honoured: Master_Down_Timer runs out.
    EXPECT_TRUE(fsm.on_advert(from_master, now + milliseconds(50)).empty());
    const TimePoint down = *fsm.timer_deadline(TimerKind::kMasterDown);
    const std::vector<Action> actions = fsm.on_timer(TimerKind::kMasterDown, down);
    EXPECT_EQ(fsm.state(), VrrpState::kMaster);
    ASSERT_EQ(only<AddVip>(actions).size(), 1u);
    EXPECT_FALSE(only<AddVip>(actions)[0].only.has_value());  // every VIP, the new one included
    EXPECT_EQ(fsm.build_advert(200, 0).addresses, (std::vector<Ipv4>{kOld.address, kNew.address}));
}

TEST(VrrpFsmReconfigure, WithoutPreemptTheHigherPriorityBackupStaysBackup) {
    VrrpInstance fsm(settings(100));
    (void)fsm.on_start(kStart);
    const Advert from_master = peer_advert(150);
    VrrpInstanceConfig next = settings(200);
    next.preempt = false;
    (void)fsm.on_reconfigure(next, kStart);
    (void)fsm.on_priority_change(200, kStart);
    // Honoured: the timer moves with every advert and never fires while the master lives.
    for (int i = 1; i <= 10; ++i) {
        const TimePoint at = kStart + milliseconds(100 * i);
        (void)fsm.on_advert(from_master, at);
        EXPECT_GT(*fsm.timer_deadline(TimerKind::kMasterDown), at);
    }
    EXPECT_EQ(fsm.state(), VrrpState::kBackup);
}

}  // namespace
}  // namespace ringlb
