// Gratuitous ARP frame builder: byte-exact against a frame written out by hand from
// RFC 826's layout (the keepalived capture is checked in vrrp_packet_test.cc).
#include <gtest/gtest.h>

#include <vector>

#include "vrrp/garp.h"

namespace ringlb {
namespace {

TEST(Garp, FrameIsTheFortyTwoByteArpRequestAnnouncingTheVip) {
    const MacAddress mac = {0x52, 0x54, 0x00, 0xab, 0xcd, 0xef};
    const GarpFrame frame = build_garp_frame(mac, make_ipv4(192, 0, 2, 100));
    const std::vector<uint8_t> expected = {
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff,  // Ethernet destination: broadcast
        0x52, 0x54, 0x00, 0xab, 0xcd, 0xef,  // Ethernet source: our MAC
        0x08, 0x06,                          // EtherType ARP
        0x00, 0x01,                          // hardware type Ethernet
        0x08, 0x00,                          // protocol type IPv4
        0x06, 0x04,                          // address lengths 6 and 4
        0x00, 0x01,                          // op: request
        0x52, 0x54, 0x00, 0xab, 0xcd, 0xef,  // sender MAC
        0xc0, 0x00, 0x02, 0x64,              // sender IP: the VIP
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff,  // target MAC (ignored by receivers)
        0xc0, 0x00, 0x02, 0x64,              // target IP: the VIP again
    };
    ASSERT_EQ(frame.size(), 42u);
    EXPECT_EQ(std::vector<uint8_t>(frame.begin(), frame.end()), expected);
}

TEST(Garp, OnlyMacAndVipChangeBetweenFrames) {
    const GarpFrame a = build_garp_frame({1, 2, 3, 4, 5, 6}, make_ipv4(10, 0, 0, 1));
    const GarpFrame b = build_garp_frame({7, 8, 9, 10, 11, 12}, make_ipv4(10, 0, 0, 2));
    for (size_t i = 0; i < kGarpFrameSize; ++i) {
        const bool mac = (i >= 6 && i < 12) || (i >= 22 && i < 28);
        const bool vip_low_byte = i == 31 || i == 41;
        EXPECT_EQ(a[i] != b[i], mac || vip_low_byte) << "byte " << i;
    }
}

TEST(Garp, VirtualRouterMacIsIanaPrefixPlusVrid) {
    // RFC 9568 §7.3: 00-00-5E-00-01-{VRID}
    EXPECT_EQ(virtual_router_mac(51), (MacAddress{0x00, 0x00, 0x5e, 0x00, 0x01, 0x33}));
    EXPECT_EQ(virtual_router_mac(255), (MacAddress{0x00, 0x00, 0x5e, 0x00, 0x01, 0xff}));
}

}  // namespace
}  // namespace ringlb
