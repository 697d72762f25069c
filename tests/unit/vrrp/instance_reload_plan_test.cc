// Unit tests for vrrp/instance_reload_plan: what a reload does to each VRRP instance,
// and in which order the VRRP thread must do it.
#include "vrrp/instance_reload_plan.h"

#include <gtest/gtest.h>

namespace ringlb {
namespace {

VrrpInstanceConfig instance(std::string name, std::string interface, uint8_t vrid, uint8_t priority = 100) {
    VrrpInstanceConfig c;
    c.name = std::move(name);
    c.interface = std::move(interface);
    c.vrid = vrid;
    c.priority = priority;
    c.vips = {{make_ipv4(10, 0, 0, vrid), 24}};
    return c;
}

using Step = InstanceReloadStep;
using K = InstanceReload;

TEST(InstanceReloadPlan, TheSameInstancesAreKeptAndALineMoveIsNoChange) {
    std::vector<VrrpInstanceConfig> running{instance("a", "eth0", 1)};
    std::vector<VrrpInstanceConfig> next = running;
    next[0].line = 42;
    EXPECT_EQ(plan_instance_reload(running, next), (std::vector<Step>{{K::kKeep, "a", 0, 0}}));
}

TEST(InstanceReloadPlan, OtherKeysUpdateInPlaceButInterfaceOrVridRestart) {
    std::vector<VrrpInstanceConfig> running{instance("a", "eth0", 1), instance("b", "eth0", 2),
                                            instance("c", "eth0", 3)};
    std::vector<VrrpInstanceConfig> next{instance("a", "eth0", 1, 200), instance("b", "eth1", 2),
                                         instance("c", "eth0", 9)};
    next[0].vips.push_back({make_ipv4(10, 0, 0, 50), 32});
    EXPECT_EQ(plan_instance_reload(running, next),
              (std::vector<Step>{{K::kRestart, "b", 1, 1}, {K::kRestart, "c", 2, 2}, {K::kUpdate, "a", 0, 0}}));
    EXPECT_TRUE(instance_needs_restart(running[1], next[1]));
    EXPECT_TRUE(instance_needs_restart(running[2], next[2]));
    EXPECT_FALSE(instance_needs_restart(running[0], next[0]));
}

TEST(InstanceReloadPlan, RemovalsComeFirstSoAFreedVridCanBeTakenByANewSection) {
    // "old" held eth0/vrid 1; "new" takes it in the same reload.
    std::vector<VrrpInstanceConfig> running{instance("old", "eth0", 1), instance("kept", "eth0", 2)};
    std::vector<VrrpInstanceConfig> next{instance("kept", "eth0", 2), instance("new", "eth0", 1)};
    EXPECT_EQ(plan_instance_reload(running, next),
              (std::vector<Step>{{K::kRemove, "old", 0, std::nullopt},
                                 {K::kKeep, "kept", 1, 0},
                                 {K::kAdd, "new", std::nullopt, 1}}));
}

TEST(InstanceReloadPlan, FromNothingEverythingIsAddedAndToNothingEverythingRemoved) {
    std::vector<VrrpInstanceConfig> some{instance("a", "eth0", 1), instance("b", "eth0", 2)};
    EXPECT_EQ(plan_instance_reload({}, some),
              (std::vector<Step>{{K::kAdd, "a", std::nullopt, 0}, {K::kAdd, "b", std::nullopt, 1}}));
    EXPECT_EQ(plan_instance_reload(some, {}),
              (std::vector<Step>{{K::kRemove, "a", 0, std::nullopt}, {K::kRemove, "b", 1, std::nullopt}}));
}

}  // namespace
}  // namespace ringlb
