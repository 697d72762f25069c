// The configuration-dependent receive rules (RFC 9568 §7.1, as keepalived applies them):
// unknown unicast sources, address lists that are not ours, the address owner's
// exception, the opt-out, and the grace for the previous list after a reload.
#include <gtest/gtest.h>

#include "vrrp/advert_filter.h"

namespace ringlb {
namespace {

using std::chrono::seconds;

constexpr Ipv4 kUs = make_ipv4(10, 99, 9, 1);
constexpr Ipv4 kPeer = make_ipv4(10, 99, 9, 2);
constexpr Ipv4 kStranger = make_ipv4(10, 99, 9, 66);
constexpr Ipv4 kVip1 = make_ipv4(10, 99, 9, 100);
constexpr Ipv4 kVip2 = make_ipv4(10, 99, 9, 101);
const TimePoint kT0 = TimePoint{} + seconds(100);

VrrpInstanceConfig config(std::vector<Ipv4Prefix> vips = {{kVip1, 24}, {kVip2, 24}}) {
    VrrpInstanceConfig c;
    c.vrid = 51;
    c.vips = std::move(vips);
    c.primary_address = kUs;
    return c;
}

Advert advert(Ipv4 source, std::vector<Ipv4> addresses, int priority = 100, uint8_t vrid = 51) {
    Advert a;
    a.source = source;
    a.vrid = vrid;
    a.priority = uint8_t(priority);
    a.addresses = std::move(addresses);
    return a;
}

TEST(AdvertFilter, OurAddressListInAnyOrderIsAccepted) {
    AdvertFilter filter(config());
    EXPECT_EQ(filter.judge(advert(kPeer, {kVip1, kVip2}), kT0), AdvertVerdict::kOk);
    EXPECT_EQ(filter.judge(advert(kPeer, {kVip2, kVip1}), kT0), AdvertVerdict::kOk);
}

TEST(AdvertFilter, ADifferentAddressListIsAMismatch) {
    AdvertFilter filter(config());
    EXPECT_EQ(filter.judge(advert(kPeer, {kVip1}), kT0), AdvertVerdict::kAddressMismatch);
    EXPECT_EQ(filter.judge(advert(kPeer, {kVip1, kVip2, kStranger}), kT0), AdvertVerdict::kAddressMismatch);
    EXPECT_EQ(filter.judge(advert(kPeer, {kStranger}, 0), kT0), AdvertVerdict::kAddressMismatch);
}

TEST(AdvertFilter, TheAddressOwnerAndTheOptOutAreExempt) {
    AdvertFilter filter(config());
    EXPECT_EQ(filter.judge(advert(kPeer, {kStranger}, 255), kT0), AdvertVerdict::kOk);
    auto relaxed = config();
    relaxed.accept_mismatched_addresses = true;
    EXPECT_EQ(AdvertFilter(relaxed).judge(advert(kPeer, {kStranger}), kT0), AdvertVerdict::kOk);
}

TEST(AdvertFilter, AnotherVridAndOurOwnAdvertAreLeftToTheStateMachine) {
    AdvertFilter filter(config());
    EXPECT_EQ(filter.judge(advert(kPeer, {kStranger}, 100, 52), kT0), AdvertVerdict::kOk);
    EXPECT_EQ(filter.judge(advert(kUs, {kStranger}), kT0), AdvertVerdict::kOk);
}

TEST(AdvertFilter, WithUnicastPeersOnlyThePeersMaySpeak) {
    auto unicast = config();
    unicast.unicast_peers = {kPeer};
    AdvertFilter filter(unicast);
    EXPECT_EQ(filter.judge(advert(kPeer, {kVip1, kVip2}), kT0), AdvertVerdict::kOk);
    EXPECT_EQ(filter.judge(advert(kStranger, {kVip1, kVip2}), kT0), AdvertVerdict::kUnknownPeer);
    EXPECT_EQ(filter.judge(advert(kStranger, {kVip1, kVip2}, 255), kT0), AdvertVerdict::kUnknownPeer);
    // Multicast: any source on the LAN may be the master.
    EXPECT_EQ(AdvertFilter(config()).judge(advert(kStranger, {kVip1, kVip2}), kT0), AdvertVerdict::kOk);
}

TEST(AdvertFilter, AfterAReloadThePreviousListIsAcceptedUntilThePeerSendsTheNewOne) {
    AdvertFilter filter(config({{kVip1, 24}}));
    filter.reconfigure(config(), kT0);
    EXPECT_EQ(filter.judge(advert(kPeer, {kVip1}), kT0 + seconds(1)), AdvertVerdict::kOk);
    EXPECT_EQ(filter.judge(advert(kPeer, {kVip1, kVip2}), kT0 + seconds(2)), AdvertVerdict::kOk);
    // The peer has the new list: the old one is a mismatch again.
    EXPECT_EQ(filter.judge(advert(kPeer, {kVip1}), kT0 + seconds(3)), AdvertVerdict::kAddressMismatch);
}

TEST(AdvertFilter, ThePreviousListsGraceEnds) {
    AdvertFilter filter(config({{kVip1, 24}}));
    filter.reconfigure(config(), kT0);
    EXPECT_TRUE(filter.previous_list_accepted(kT0 + AdvertFilter::kPreviousListGrace - seconds(1)));
    EXPECT_EQ(filter.judge(advert(kPeer, {kVip1}), kT0 + AdvertFilter::kPreviousListGrace),
              AdvertVerdict::kAddressMismatch);
}

TEST(AdvertFilter, AReloadThatKeepsTheVipsOpensNoGrace) {
    AdvertFilter filter(config());
    auto next = config({{kVip2, 32}, {kVip1, 32}});  // same addresses, other order and prefix
    filter.reconfigure(next, kT0);
    EXPECT_FALSE(filter.previous_list_accepted(kT0));
}

}  // namespace
}  // namespace ringlb
