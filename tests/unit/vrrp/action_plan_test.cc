// What the runner does for a state machine's actions (vrrp/action_plan.h), step by step:
// one advert per destination with its own checksum, one address change and one ARP
// frame per VIP, in the machine's order, and the takeover reason with the age of the
// last advert. Real state machines and codecs; the time is a parameter.
#include "vrrp/action_plan.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "vrrp/vrrp_packet.h"

namespace ringlb {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

const TimePoint kT0 = TimePoint{} + seconds(1000);
constexpr Ipv4 kSelf = make_ipv4(10, 99, 7, 1);
constexpr Ipv4 kPeerB = make_ipv4(10, 99, 7, 2);
constexpr Ipv4 kPeerC = make_ipv4(10, 99, 7, 3);
const Ipv4Prefix kVip1{make_ipv4(10, 99, 7, 100), 24};
const Ipv4Prefix kVip2{make_ipv4(192, 0, 2, 7), 32};
constexpr MacAddress kMac = {0x02, 0x00, 0x00, 0x99, 0x07, 0x01};

VrrpInstanceConfig two_vip_config() {
    VrrpInstanceConfig c;
    c.name = "vip1";
    c.interface = "eth0";
    c.vrid = 51;
    c.priority = 100;
    c.advert_interval = seconds(1);
    c.vips = {kVip1, kVip2};
    c.garp_repeat = 2;
    c.garp_interval = milliseconds(500);
    c.garp_refresh = milliseconds(0);
    c.primary_address = kSelf;
    return c;
}

// One word per step, so a failing expectation shows the whole sequence.
std::string describe(const std::vector<ActionStep>& steps) {
    std::string out;
    for (const ActionStep& step : steps) {
        if (!out.empty()) out += ' ';
        std::visit(
            [&](const auto& s) {
                using T = std::decay_t<decltype(s)>;
                if constexpr (std::is_same_v<T, SendAdvertTo>) out += "Advert>" + format_ipv4(s.destination);
                else if constexpr (std::is_same_v<T, AddAddress>) out += "Add(" + format_vip(s.vip) + ")";
                else if constexpr (std::is_same_v<T, RemoveAddress>) out += "Remove(" + format_vip(s.vip) + ")";
                else if constexpr (std::is_same_v<T, SendGarpFrame>) out += "Garp(" + format_ipv4(s.vip) + ")";
                else if constexpr (std::is_same_v<T, ArmTimer>) out += "Arm";
                else if constexpr (std::is_same_v<T, CancelTimer>) out += "Cancel";
                else if constexpr (std::is_same_v<T, RunNotify>) out += std::string("Notify(") + to_string(s.state) + ")";
                else if constexpr (std::is_same_v<T, RecordTransition>)
                    out += std::string("Record(") + to_string(s.from) + "->" + to_string(s.to) + ")";
            },
            step);
    }
    return out;
}

template <class T>
std::vector<T> steps_of(const std::vector<ActionStep>& steps) {
    std::vector<T> out;
    for (const ActionStep& step : steps)
        if (const auto* s = std::get_if<T>(&step)) out.push_back(*s);
    return out;
}

// A backup whose Master_Down_Timer ran out; returns the actions of the takeover.
std::vector<Action> take_over(VrrpInstance& fsm, TimePoint* when) {
    fsm.on_start(kT0);
    *when = *fsm.timer_deadline(TimerKind::kMasterDown);
    return fsm.on_timer(TimerKind::kMasterDown, *when);
}

TEST(VrrpActionPlan, ATakeoverAdvertisesToEachPeerBeforeAddingAndAnnouncingEachVip) {
    auto config = two_vip_config();
    config.unicast_peers = {kPeerB, kPeerC};
    VrrpInstance fsm(config);
    TimePoint now;
    const auto actions = take_over(fsm, &now);
    const auto steps = plan_action_steps(fsm, actions, PlanFacts{kMac, now - milliseconds(300), now});

    EXPECT_EQ(describe(steps),
              "Record(BACKUP->MASTER) Advert>10.99.7.2 Advert>10.99.7.3 Add(10.99.7.100/24) Add(192.0.2.7/32) "
              "Garp(10.99.7.100) Garp(192.0.2.7) Arm Arm Notify(MASTER)");
    // Each advert is the machine's own, checksummed over its own destination (§5.2.8).
    for (const SendAdvertTo& send : steps_of<SendAdvertTo>(steps)) {
        EXPECT_EQ(send.payload, encode_advert(fsm.build_advert(100, send.destination)));
        EXPECT_EQ(vrrp_checksum(kSelf, send.destination, send.payload), 0) << format_ipv4(send.destination);
    }
    for (const SendGarpFrame& garp : steps_of<SendGarpFrame>(steps))
        EXPECT_EQ(garp.frame, build_garp_frame(kMac, garp.vip));
    // The timer steps are the machine's, unchanged.
    const auto arms = steps_of<ArmTimer>(steps);
    ASSERT_EQ(arms.size(), 2u);
    EXPECT_EQ(arms[0], (ArmTimer{TimerKind::kGarp, now + milliseconds(500)}));
    EXPECT_EQ(arms[1], (ArmTimer{TimerKind::kAdver, now + seconds(1)}));
}

TEST(VrrpActionPlan, ATakeoverSaysHowLongAgoTheMasterWasLastHeard) {
    VrrpInstance fsm(two_vip_config());
    TimePoint now;
    const auto actions = take_over(fsm, &now);
    const auto heard = steps_of<RecordTransition>(plan_action_steps(fsm, actions, {kMac, now - milliseconds(3250), now}));
    ASSERT_EQ(heard.size(), 1u);
    EXPECT_EQ(heard[0].reason, "no master heard for Master_Down_Interval; last advert 3.250s ago");
    // Never heard: the machine's reason as it is.
    const auto unheard = steps_of<RecordTransition>(plan_action_steps(fsm, actions, {kMac, std::nullopt, now}));
    ASSERT_EQ(unheard.size(), 1u);
    EXPECT_EQ(unheard[0].reason, "no master heard for Master_Down_Interval");
}

TEST(VrrpActionPlan, OnlyATakeoverFromBackupCarriesTheAgeOfTheLastAdvert) {
    VrrpInstance fsm(two_vip_config());
    fsm.on_start(kT0);
    const TimePoint now = kT0 + milliseconds(100);
    const auto steps = plan_action_steps(fsm, fsm.on_fault(true, "interface eth0 is down", now),
                                         {kMac, kT0, now});
    EXPECT_EQ(describe(steps), "Record(BACKUP->FAULT) Cancel Remove(10.99.7.100/24) Remove(192.0.2.7/32) Notify(FAULT)");
    EXPECT_EQ(steps_of<RecordTransition>(steps).at(0).reason, "fault: interface eth0 is down");
}

TEST(VrrpActionPlan, AMulticastInstanceAdvertisesOnceTo224_0_0_18) {
    VrrpInstance fsm(two_vip_config());
    TimePoint now;
    const auto actions = take_over(fsm, &now);
    const auto sends = steps_of<SendAdvertTo>(plan_action_steps(fsm, actions, {kMac, std::nullopt, now}));
    ASSERT_EQ(sends.size(), 1u);
    EXPECT_EQ(sends[0].destination, kVrrpMulticastGroup);
}

TEST(VrrpActionPlan, WithoutAnEthernetAddressNoGratuitousArpIsPlanned) {
    VrrpInstance fsm(two_vip_config());
    TimePoint now;
    const auto actions = take_over(fsm, &now);
    EXPECT_EQ(describe(plan_action_steps(fsm, actions, {std::nullopt, std::nullopt, now})),
              "Record(BACKUP->MASTER) Advert>224.0.0.18 Add(10.99.7.100/24) Add(192.0.2.7/32) Arm Arm Notify(MASTER)");
}

TEST(VrrpActionPlan, AStoppingMasterSaysGoodbyeWithPriorityZeroBeforeItRemovesTheVips) {
    VrrpInstance fsm(two_vip_config());
    TimePoint now;
    take_over(fsm, &now);
    now += milliseconds(50);
    const auto steps = plan_action_steps(fsm, fsm.on_shutdown(now), {kMac, std::nullopt, now});
    EXPECT_EQ(describe(steps),
              "Record(MASTER->INIT) Cancel Cancel Advert>224.0.0.18 Remove(10.99.7.100/24) Remove(192.0.2.7/32) "
              "Notify(INIT)");
    EXPECT_EQ(steps_of<SendAdvertTo>(steps).at(0).payload,
              encode_advert(fsm.build_advert(kVrrpPriorityStop, kVrrpMulticastGroup)));
}

TEST(VrrpActionPlan, NoActionsPlanNoSteps) {
    VrrpInstance fsm(two_vip_config());
    EXPECT_TRUE(plan_action_steps(fsm, {}, {kMac, std::nullopt, kT0}).empty());
}

}  // namespace
}  // namespace ringlb
