// Which VIPs are static addresses of the host: held without ringlbd's IFA_PROTO mark,
// on any interface; VIPs held with the mark (now or left by a crash) are ours.
#include <gtest/gtest.h>

#include "vrrp/static_vips.h"

namespace ringlb {
namespace {

constexpr Ipv4 kOwn = make_ipv4(192, 0, 2, 2);
constexpr Ipv4 kVip1 = make_ipv4(192, 0, 2, 100);
constexpr Ipv4 kVip2 = make_ipv4(192, 0, 2, 101);

VrrpInstanceConfig config() {
    VrrpInstanceConfig c;
    c.name = "vip1";
    c.interface = "eth0";
    c.vips = {{kVip1, 24}, {kVip2, 32}};
    return c;
}

TEST(StaticVips, NoneWhenTheHostHoldsOnlyItsOwnAddress) {
    const HostAddress host[] = {{2, kOwn, 24, 0}};
    EXPECT_TRUE(find_static_vips(config(), host).empty());
}

TEST(StaticVips, AVipTheDaemonAddedIsOursOnAnyInterface) {
    const HostAddress host[] = {{2, kOwn, 24, 0}, {2, kVip1, 24, kVipAddressProto}, {3, kVip2, 32, kVipAddressProto}};
    EXPECT_TRUE(find_static_vips(config(), host).empty());
}

TEST(StaticVips, AVipWithoutTheMarkIsStaticWhereverItIs) {
    const HostAddress host[] = {{2, kOwn, 24, 0}, {1, kVip2, 32, 0}, {2, kVip1, 24, kVipAddressProto}};
    const auto found = find_static_vips(config(), host);
    ASSERT_EQ(found.size(), 1u);
    EXPECT_EQ(found[0].vip_index, 1u);
    EXPECT_EQ(found[0].held, (HostAddress{1, kVip2, 32, 0}));
}

TEST(StaticVips, AnotherProtocolsMarkIsNotOurs) {
    const HostAddress host[] = {{2, kVip1, 24, 2 /* IFAPROT_KERNEL_RA */}};
    const auto found = find_static_vips(config(), host);
    ASSERT_EQ(found.size(), 1u);
    EXPECT_EQ(found[0].vip_index, 0u);
}

TEST(StaticVips, EachVipIsReportedOnceInConfigOrder) {
    const HostAddress host[] = {{2, kVip2, 24, 0}, {3, kVip2, 24, 0}, {2, kVip1, 24, 0}};
    const auto found = find_static_vips(config(), host);
    ASSERT_EQ(found.size(), 2u);
    EXPECT_EQ(found[0].vip_index, 0u);
    EXPECT_EQ(found[1].vip_index, 1u);
    EXPECT_EQ(found[1].held.ifindex, 2);
}

}  // namespace
}  // namespace ringlb
