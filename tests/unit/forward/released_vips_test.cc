// The connections a stop resets: those whose local address is a released VIP, IPv4 or
// IPv4-mapped, and no other.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <cstring>
#include <vector>

#include "core/forward/released_vips.h"

namespace ringlb {
namespace {

constexpr uint32_t kVip = 0x0A63'3D64;     // 10.99.61.100
constexpr uint32_t kOther = 0x0A63'3D65;   // 10.99.61.101
constexpr uint32_t kOwn = 0x0A63'3D0B;     // 10.99.61.11, the host's own

LocalEndpoint v4(uint32_t slot, uint32_t address, uint16_t port = 80) {
    LocalEndpoint endpoint{slot, {}};
    sockaddr_in in{};
    in.sin_family = AF_INET;
    in.sin_port = htons(port);
    in.sin_addr.s_addr = htonl(address);
    std::memcpy(&endpoint.local, &in, sizeof in);
    return endpoint;
}

LocalEndpoint v6(uint32_t slot, const char* text) {
    LocalEndpoint endpoint{slot, {}};
    sockaddr_in6 in{};
    in.sin6_family = AF_INET6;
    in.sin6_port = htons(80);
    EXPECT_EQ(inet_pton(AF_INET6, text, &in.sin6_addr), 1);
    std::memcpy(&endpoint.local, &in, sizeof in);
    return endpoint;
}

TEST(ReleasedVips, OnlyConnectionsMadeToAReleasedVipAreSelected) {
    const std::vector<LocalEndpoint> endpoints{v4(0, kVip), v4(1, kOwn), v4(2, kOther), v4(3, kVip, 443),
                                               v4(7, kOwn, 443)};
    const std::vector<uint32_t> released{kVip};
    EXPECT_EQ(select_released(endpoints, released), (std::vector<uint32_t>{0, 3}));
}

TEST(ReleasedVips, EveryReleasedVipCountsAndTheHostsOwnAddressNever) {
    const std::vector<LocalEndpoint> endpoints{v4(4, kOther), v4(5, kOwn), v4(6, kVip)};
    const std::vector<uint32_t> released{kVip, kOther};
    EXPECT_EQ(select_released(endpoints, released), (std::vector<uint32_t>{4, 6}));
}

TEST(ReleasedVips, NothingReleasedSelectsNothing) {
    const std::vector<LocalEndpoint> endpoints{v4(0, kVip), v4(1, kOwn)};
    EXPECT_TRUE(select_released(endpoints, {}).empty());
}

TEST(ReleasedVips, AnIpv4MappedAddressOfADualStackListenerIsTheVipItself) {
    const std::vector<uint32_t> released{kVip};
    EXPECT_TRUE(on_released_vip(v6(0, "::ffff:10.99.61.100").local, released));
    EXPECT_FALSE(on_released_vip(v6(0, "::ffff:10.99.61.11").local, released));
    // A native IPv6 address whose low 32 bits happen to match is not the VIP.
    EXPECT_FALSE(on_released_vip(v6(0, "2001:db8::a63:3d64").local, released));
}

TEST(ReleasedVips, AnUnknownFamilyIsNeverReleased) {
    LocalEndpoint endpoint = v4(0, kVip);
    endpoint.local.ss_family = AF_UNIX;
    const std::vector<uint32_t> released{kVip};
    EXPECT_FALSE(on_released_vip(endpoint.local, released));
}

}  // namespace
}  // namespace ringlb
