// Unit tests for vrrp/link_state: the VRRP runner's decisions from host facts — source
// address, interface faults, and fault/priority from tracking and heartbeats.
#include "vrrp/link_state.h"

#include <gtest/gtest.h>

#include "vrrp/vrrp_packet.h"

namespace ringlb {
namespace {

constexpr Ipv4 kOwn = make_ipv4(10, 99, 7, 1);
constexpr Ipv4 kOther = make_ipv4(10, 99, 8, 1);
constexpr Ipv4 kVip = make_ipv4(10, 99, 7, 100);
constexpr Ipv4 kVipOwnSubnet = make_ipv4(192, 0, 2, 100);
const std::vector<Ipv4Prefix> kVips = {{kVip, 24}, {kVipOwnSubnet, 24}};

LinkInfo healthy_link() {
    LinkInfo link;
    link.ifindex = 3;
    link.up = true;
    link.running = true;
    return link;
}

VrrpInstanceConfig tracking_config(int weight) {
    VrrpInstanceConfig config;
    config.priority = 150;
    config.track_listener = "web";
    config.track_weight = weight;
    return config;
}

TEST(LinkState, PrimaryAddressSkipsVipsEvenWhenTheyArePrimaryInTheirOwnSubnet) {
    const std::vector<InterfaceAddress> addresses = {
        {kVipOwnSubnet, 24, false},  // a VIP left alone in its subnet is listed as primary
        {kOwn, 24, false},
        {kVip, 24, true},
    };
    EXPECT_EQ(choose_primary_address(addresses, kVips), kOwn);
}

TEST(LinkState, PrimaryAddressPrefersPrimariesThenTakesASecondary) {
    EXPECT_EQ(choose_primary_address(std::vector<InterfaceAddress>{{kOther, 24, true}, {kOwn, 24, false}}, kVips),
              kOwn);
    EXPECT_EQ(choose_primary_address(std::vector<InterfaceAddress>{{kVip, 24, false}, {kOther, 24, true}}, kVips),
              kOther);
}

TEST(LinkState, NoPrimaryAddressWhenOnlyVipsOrNothingIsThere) {
    EXPECT_EQ(choose_primary_address(std::vector<InterfaceAddress>{{kVip, 24, false}}, kVips), 0u);
    EXPECT_EQ(choose_primary_address({}, kVips), 0u);
}

TEST(LinkState, InterfaceFaultNamesEachCause) {
    const std::vector<InterfaceAddress> addresses = {{kOwn, 24, false}};
    EXPECT_EQ(interface_fault("eth0", healthy_link(), 3, addresses, kOwn), "");
    EXPECT_EQ(interface_fault("eth0", std::nullopt, 3, addresses, kOwn), "interface eth0 is gone");
    EXPECT_EQ(interface_fault("eth0", healthy_link(), 4, addresses, kOwn), "interface eth0 was re-created");
    LinkInfo down = healthy_link();
    down.up = false;
    down.running = false;
    EXPECT_EQ(interface_fault("eth0", down, 3, addresses, kOwn), "interface eth0 is down");
    LinkInfo no_carrier = healthy_link();
    no_carrier.running = false;
    EXPECT_EQ(interface_fault("eth0", no_carrier, 3, addresses, kOwn), "interface eth0 has no carrier");
    EXPECT_EQ(interface_fault("eth0", healthy_link(), 3, std::vector<InterfaceAddress>{{kOther, 24, false}}, kOwn),
              "address 10.99.7.1 is no longer on eth0");
}

TEST(LinkState, HealthyInputsLeaveTheConfiguredPriority) {
    const InstanceHealth health = evaluate_health(tracking_config(50), HealthInputs{"", false, true});
    EXPECT_EQ(health, (InstanceHealth{false, "", 150}));
}

TEST(LinkState, ListenerNeverReportedCountsAsHealthy) {
    EXPECT_EQ(evaluate_health(tracking_config(0), HealthInputs{}), (InstanceHealth{false, "", 150}));
}

TEST(LinkState, TrackWeightLowersThePriorityWhileTheListenerHasNoHealthyBackend) {
    EXPECT_EQ(evaluate_health(tracking_config(50), HealthInputs{"", false, false}), (InstanceHealth{false, "", 100}));
}

TEST(LinkState, TrackWeightZeroFaultsTheInstanceInstead) {
    EXPECT_EQ(evaluate_health(tracking_config(0), HealthInputs{"", false, false}),
              (InstanceHealth{true, "listener 'web' has no healthy backend", 150}));
}

TEST(LinkState, UntrackedInstanceIgnoresListenerReports) {
    VrrpInstanceConfig config;
    config.priority = 120;
    EXPECT_EQ(evaluate_health(config, HealthInputs{"", false, false}), (InstanceHealth{false, "", 120}));
}

TEST(LinkState, EveryFaultCauseIsNamedInOneReason) {
    const InstanceHealth health = evaluate_health(tracking_config(0), HealthInputs{"interface eth0 is down", true, false});
    EXPECT_TRUE(health.faulted);
    EXPECT_EQ(health.fault_reason,
              "interface eth0 is down; forwarder stuck (a worker missed its heartbeats); listener 'web' has no "
              "healthy backend");
}

TEST(LinkState, AdvertsGoToEachUnicastPeerOrToTheVrrpGroup) {
    VrrpInstanceConfig config;
    EXPECT_EQ(advert_destinations(config), std::vector<Ipv4>{kVrrpMulticastGroup});
    config.unicast_peers = {kOther, kOwn};
    EXPECT_EQ(advert_destinations(config), (std::vector<Ipv4>{kOther, kOwn}));
}

TEST(LinkState, VipsOnAnInterfaceComeFromEveryInstanceThere) {
    std::vector<VrrpInstanceConfig> configs(3);
    configs[0].interface = "eth0";
    configs[0].vips = {{kVip, 24}};
    configs[1].interface = "eth1";
    configs[1].vips = {{kOther, 24}};
    configs[2].interface = "eth0";
    configs[2].vips = {{kVipOwnSubnet, 24}};
    EXPECT_EQ(vips_on_interface(configs, "eth0"), (std::vector<Ipv4Prefix>{{kVip, 24}, {kVipOwnSubnet, 24}}));
    EXPECT_TRUE(vips_on_interface(configs, "eth2").empty());
}

TEST(LinkState, AConfiguredSourceAddressIsUsedOnlyWhileTheInterfaceHasIt) {
    VrrpInstanceConfig config;
    config.interface = "eth0";
    config.primary_address = kOther;
    const std::vector<InterfaceAddress> with = {{kOwn, 24, false}, {kOther, 24, true}};
    auto source = advert_source_address(config, with, kVips);
    ASSERT_TRUE(source.ok()) << source.error();
    EXPECT_EQ(*source, kOther);  // configured wins over the primary one
    source = advert_source_address(config, std::vector<InterfaceAddress>{{kOwn, 24, false}}, kVips);
    ASSERT_FALSE(source.ok());
    EXPECT_EQ(source.error(), "source_address 10.99.8.1 is not an address of eth0");
}

TEST(LinkState, WithoutAConfiguredSourceTheFirstNonVipAddressIsChosenOrTheFailureNamesTheInterface) {
    VrrpInstanceConfig config;
    config.interface = "eth0";
    auto source = advert_source_address(config, std::vector<InterfaceAddress>{{kVip, 24, false}, {kOwn, 24, false}},
                                        kVips);
    ASSERT_TRUE(source.ok()) << source.error();
    EXPECT_EQ(*source, kOwn);
    source = advert_source_address(config, std::vector<InterfaceAddress>{{kVip, 24, false}}, kVips);
    ASSERT_FALSE(source.ok());
    EXPECT_EQ(source.error(), "interface 'eth0' has no IPv4 address of its own to send advertisements from");
}

TEST(LinkState, HeldVipsCarryThePrefixLengthTheInterfaceHoldsThemWith) {
    // A VIP added by hand as /32 must be removed as /32, whatever the configuration says.
    const std::vector<InterfaceAddress> addresses = {{kOwn, 24, false}, {kVipOwnSubnet, 32, false}, {kVip, 24, true}};
    EXPECT_EQ(vips_held(addresses, kVips), (std::vector<Ipv4Prefix>{{kVipOwnSubnet, 32}, {kVip, 24}}));
    EXPECT_TRUE(vips_held(std::vector<InterfaceAddress>{{kOwn, 24, false}}, kVips).empty());
}

}  // namespace
}  // namespace ringlb
