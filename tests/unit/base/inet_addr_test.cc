// Unit tests for core/inet_addr: parsing and formatting of ADDR:PORT.
#include "core/base/inet_addr.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <unordered_set>

namespace ringlb {
namespace {

TEST(InetAddr, ParsesIpv4WithPort) {
    auto addr = InetAddr::parse("192.0.2.100:80");
    ASSERT_TRUE(addr);
    EXPECT_EQ(addr->family(), AF_INET);
    EXPECT_EQ(addr->port(), 80);
    EXPECT_EQ(addr->host_string(), "192.0.2.100");
    EXPECT_EQ(addr->to_string(), "192.0.2.100:80");
    EXPECT_EQ(addr->address_bytes(), std::string("\xc0\x00\x02\x64", 4));
    EXPECT_EQ(addr->sockaddr_len(), sizeof(sockaddr_in));
}

TEST(InetAddr, ParsesBracketedIpv6WithPort) {
    auto addr = InetAddr::parse("[::1]:8080");
    ASSERT_TRUE(addr);
    EXPECT_EQ(addr->family(), AF_INET6);
    EXPECT_EQ(addr->port(), 8080);
    EXPECT_EQ(addr->to_string(), "[::1]:8080");
    EXPECT_EQ(addr->address_bytes().size(), 16u);
    EXPECT_EQ(addr->sockaddr_len(), sizeof(sockaddr_in6));
}

TEST(InetAddr, FormatsIpv6InCanonicalShortForm) {
    auto addr = InetAddr::parse("[2001:0db8:0000:0000:0000:0000:0000:0001]:443");
    ASSERT_TRUE(addr);
    EXPECT_EQ(addr->to_string(), "[2001:db8::1]:443");
}

TEST(InetAddr, RejectsMalformedAddressesAndPorts) {
    for (const char* text : {"", "192.0.2.1", "192.0.2.1:", ":80", "192.0.2.1:65536", "192.0.2.1:-1",
                             "192.0.2.1:80x", "192.0.2.1: 80", "256.0.0.1:80", "::1:80", "[::1]", "[::1]80",
                             "[::1:80", "[]:80", "example.com:80", "[192.0.2.1]:80x", "1.2.3:80"})
        EXPECT_FALSE(InetAddr::parse(text)) << "'" << text << "'";
}

TEST(InetAddr, PortZeroOnlyWhenAllowed) {
    EXPECT_FALSE(InetAddr::parse("127.0.0.1:0"));
    auto addr = InetAddr::parse("127.0.0.1:0", true);
    ASSERT_TRUE(addr);
    EXPECT_EQ(addr->port(), 0);
}

TEST(InetAddr, ParseHostTakesAnAddressWithoutPort) {
    auto v4 = InetAddr::parse_host("10.0.0.1", 53);
    ASSERT_TRUE(v4);
    EXPECT_EQ(v4->to_string(), "10.0.0.1:53");
    auto v6 = InetAddr::parse_host("fe80::2", 53);
    ASSERT_TRUE(v6);
    EXPECT_EQ(v6->to_string(), "[fe80::2]:53");
    EXPECT_FALSE(InetAddr::parse_host("10.0.0.1:53", 53));
}

TEST(InetAddr, SetPortChangesOnlyThePort) {
    auto addr = InetAddr::parse("10.0.0.1:80");
    ASSERT_TRUE(addr);
    addr->set_port(8443);
    EXPECT_EQ(addr->to_string(), "10.0.0.1:8443");
}

TEST(InetAddr, SurvivesARoundTripThroughSockaddr) {
    auto addr = InetAddr::parse("[2001:db8::7]:9000");
    ASSERT_TRUE(addr);
    auto copy = InetAddr::from_sockaddr(addr->sockaddr_ptr(), addr->sockaddr_len());
    EXPECT_EQ(copy, *addr);
    EXPECT_EQ(copy.to_string(), "[2001:db8::7]:9000");
}

TEST(InetAddr, EqualityAndHashDependOnFamilyAddressAndPort) {
    auto a = *InetAddr::parse("10.0.0.1:80");
    auto same = *InetAddr::parse("10.0.0.1:80");
    auto other_port = *InetAddr::parse("10.0.0.1:81");
    auto other_host = *InetAddr::parse("10.0.0.2:80");
    auto mapped = *InetAddr::parse("[::ffff:10.0.0.1]:80");
    EXPECT_EQ(a, same);
    EXPECT_NE(a, other_port);
    EXPECT_NE(a, other_host);
    EXPECT_NE(a, mapped);
    EXPECT_EQ(std::hash<InetAddr>()(a), std::hash<InetAddr>()(same));
    std::unordered_set<InetAddr> set{a, same, other_port, other_host, mapped};
    EXPECT_EQ(set.size(), 4u);
}

TEST(InetAddr, OrdersByFamilyThenAddressThenPort) {
    auto v4_low = *InetAddr::parse("10.0.0.1:90");
    auto v4_low_port = *InetAddr::parse("10.0.0.1:80");
    auto v4_high = *InetAddr::parse("10.0.0.2:1");
    auto v6 = *InetAddr::parse("[::1]:1");
    EXPECT_LT(v4_low_port, v4_low);
    EXPECT_LT(v4_low, v4_high);
    EXPECT_LT(v4_high, v6);  // AF_INET < AF_INET6
    EXPECT_FALSE(v4_low < v4_low);
}

TEST(InetAddr, RejectsAnAddressWithANulByteInsteadOfCuttingItShort) {
    using namespace std::string_view_literals;
    EXPECT_FALSE(InetAddr::parse("10.0.0.1\0junk:80"sv));
    EXPECT_FALSE(InetAddr::parse("[::1\0x]:80"sv));
    EXPECT_TRUE(InetAddr::parse("10.0.0.1:80"sv));
}

}  // namespace
}  // namespace ringlb
