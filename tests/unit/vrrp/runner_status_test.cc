// The VRRP status the daemon shows (vrrp/runner_status.h): the state machine's view
// joined with the runner's counters, and what a dead VRRP thread leaves behind.
#include "vrrp/runner_status.h"

#include <gtest/gtest.h>

namespace ringlb {
namespace {

using std::chrono::milliseconds;

VrrpInstanceConfig config_for(const char* name, int priority) {
    VrrpInstanceConfig c;
    c.name = name;
    c.interface = "eth0";
    c.vrid = 51;
    c.priority = uint8_t(priority);
    c.advert_interval = milliseconds(100);
    c.vips = {{make_ipv4(10, 99, 7, 100), 24}};
    c.primary_address = make_ipv4(10, 99, 7, 1);
    return c;
}

TEST(VrrpRunnerStatus, BeforeTheThreadRunsAnInstanceIsInitAtItsConfiguredPriority) {
    const VrrpInstanceStatus status = initial_status(config_for("vip1", 150));
    EXPECT_EQ(status.name, "vip1");
    EXPECT_EQ(status.state, VrrpState::kInit);
    EXPECT_EQ(status.priority, 150);
    EXPECT_EQ(status.master, "");
    EXPECT_EQ(status.transitions, 0);
}

TEST(VrrpRunnerStatus, ShowsTheMachinesStateMasterAndPriorityWithTheRunnersCounters) {
    VrrpInstance fsm(config_for("vip1", 100));
    const TimePoint t0 = TimePoint{} + std::chrono::seconds(5);
    fsm.on_start(t0);
    Advert advert;
    advert.source = make_ipv4(10, 99, 7, 2);
    advert.vrid = 51;
    advert.priority = 200;
    advert.max_advert_interval = milliseconds(100);
    advert.addresses = {make_ipv4(10, 99, 7, 100)};
    fsm.on_advert(advert, t0);
    fsm.on_priority_change(60, t0);
    InstanceCounters counters;
    counters.transitions = 1;
    counters.last_transition = "start";
    counters.adverts_received = 7;
    counters.dropped[size_t(AdvertVerdict::kBadTtl)] = 3;

    const VrrpInstanceStatus status = build_status(fsm, counters);
    EXPECT_EQ(status.state, VrrpState::kBackup);
    EXPECT_EQ(status.master, "10.99.7.2");
    EXPECT_EQ(status.priority, 60);
    EXPECT_EQ(status.last_transition, "start");
    EXPECT_EQ(status.adverts_received, 7u);
    EXPECT_EQ(status.dropped[size_t(AdvertVerdict::kBadTtl)], 3u);
}

TEST(VrrpRunnerStatus, AFailedThreadLeavesEveryInstanceInInitWithoutAMasterAndSaysWhy) {
    std::vector<VrrpInstanceStatus> status = {initial_status(config_for("a", 100)), initial_status(config_for("b", 50))};
    status[0].state = VrrpState::kMaster;
    status[0].master = "10.99.7.1";
    status[0].transitions = 2;
    mark_thread_failed(status, "epoll_wait: Bad file descriptor");
    for (const auto& s : status) {
        EXPECT_EQ(s.state, VrrpState::kInit) << s.name;
        EXPECT_EQ(s.master, "") << s.name;
        EXPECT_EQ(s.last_transition, "vrrp thread failed: epoll_wait: Bad file descriptor") << s.name;
    }
    EXPECT_EQ(status[0].transitions, 2);  // what happened before stays counted
}

}  // namespace
}  // namespace ringlb
