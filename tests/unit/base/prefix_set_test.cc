// Unit tests for core/base/prefix_set and core/base/inet_prefix: CIDR text both
// ways, the edges of every prefix length in both families, IPv4-mapped clients,
// merging, and 10,000 random prefixes against a linear scan.
#include "core/base/prefix_set.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

namespace ringlb {
namespace {

InetPrefix prefix(std::string_view text) {
    Result<InetPrefix> parsed = InetPrefix::parse(text);
    EXPECT_TRUE(parsed) << text << ": " << (parsed ? "" : parsed.error());
    return parsed ? *parsed : InetPrefix{};
}

InetAddr host(std::string_view text) {
    auto address = InetAddr::parse_host(text, 1234);
    EXPECT_TRUE(address) << text;
    return address.value_or(InetAddr());
}

PrefixSet set_of(std::initializer_list<std::string_view> texts) {
    std::vector<InetPrefix> prefixes;
    for (std::string_view text : texts) prefixes.push_back(prefix(text));
    return PrefixSet(prefixes);
}

InetAddr v4_from(uint32_t value) {
    char text[INET_ADDRSTRLEN];
    const uint32_t network = htonl(value);
    inet_ntop(AF_INET, &network, text, sizeof(text));
    return host(text);
}

InetAddr v6_from(unsigned __int128 value) {
    uint8_t bytes[16];
    for (int i = 15; i >= 0; --i, value >>= 8) bytes[i] = uint8_t(value);
    char text[INET6_ADDRSTRLEN];
    inet_ntop(AF_INET6, bytes, text, sizeof(text));
    return host(text);
}

TEST(InetPrefix, ParsesAndFormatsBothFamiliesAndBareAddresses) {
    EXPECT_EQ(prefix("10.0.0.0/8").to_string(), "10.0.0.0/8");
    EXPECT_EQ(prefix("192.0.2.7").to_string(), "192.0.2.7/32");
    EXPECT_EQ(prefix("0.0.0.0/0").to_string(), "0.0.0.0/0");
    EXPECT_EQ(prefix("2001:db8::/32").to_string(), "2001:db8::/32");
    EXPECT_EQ(prefix("2001:DB8::1").to_string(), "2001:db8::1/128");
    EXPECT_EQ(prefix("::/0").to_string(), "::/0");
    EXPECT_EQ(prefix("10.0.0.0/8").family, AF_INET);
    EXPECT_EQ(prefix("::1").family, AF_INET6);
}

TEST(InetPrefix, RefusesBadTextWithAReasonNamingIt) {
    const std::pair<std::string_view, std::string_view> cases[] = {
        {"", "bad prefix ''"},
        {"10.0.0/8", "bad prefix '10.0.0/8'"},
        {"example.com", "bad prefix 'example.com'"},
        {"10.0.0.0/33", "bad prefix length in '10.0.0.0/33' (expected 0..32)"},
        {"::/129", "bad prefix length in '::/129' (expected 0..128)"},
        {"10.0.0.0/", "bad prefix length in '10.0.0.0/'"},
        {"10.0.0.0/08", "bad prefix length in '10.0.0.0/08'"},
        {"10.0.0.0/-1", "bad prefix length in '10.0.0.0/-1'"},
        {"10.0.0.1/8", "prefix '10.0.0.1/8' has address bits set past /8 (did you mean 10.0.0.0/8?)"},
        {"2001:db8::1/32", "has address bits set past /32 (did you mean 2001:db8::/32?)"},
        {std::string_view("10.0.0.1\0x", 10), "bad prefix"},
    };
    for (const auto& [text, message] : cases) {
        Result<InetPrefix> parsed = InetPrefix::parse(text);
        ASSERT_FALSE(parsed) << text;
        EXPECT_NE(parsed.error().find(message), std::string::npos) << parsed.error();
    }
}

TEST(InetPrefix, ListsSplitOnCommasAndSpacesAndFailOnTheFirstBadOne) {
    Result<std::vector<InetPrefix>> list = parse_prefix_list(" 10.0.0.0/8,192.0.2.7 ,\t2001:db8::/32 ");
    ASSERT_TRUE(list);
    EXPECT_EQ(format_prefix_list(*list), "10.0.0.0/8, 192.0.2.7/32, 2001:db8::/32");
    Result<std::vector<InetPrefix>> empty = parse_prefix_list("  ");
    ASSERT_TRUE(empty);
    EXPECT_TRUE(empty->empty());
    Result<std::vector<InetPrefix>> bad = parse_prefix_list("10.0.0.0/8, 10.1/16");
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error().find("'10.1/16'"), std::string::npos) << bad.error();
}

TEST(PrefixSet, EmptyContainsNothing) {
    PrefixSet empty;
    EXPECT_TRUE(empty.empty());
    EXPECT_FALSE(empty.contains(host("10.0.0.1")));
    EXPECT_FALSE(empty.contains(host("::1")));
    EXPECT_FALSE(empty.contains(InetAddr()));
}

TEST(PrefixSet, EveryIpv4PrefixLengthHoldsExactlyItsFirstToLastAddress) {
    const uint32_t base = 0xC0A87B2D;  // 192.168.123.45
    for (int length = 0; length <= 32; ++length) {
        const uint32_t mask = length == 0 ? 0 : ~uint32_t(0) << (32 - length);
        const uint32_t first = base & mask, last = first | ~mask;
        char text[INET_ADDRSTRLEN];
        const uint32_t network = htonl(first);
        inet_ntop(AF_INET, &network, text, sizeof(text));
        const InetPrefix p = prefix(std::string(text) + "/" + std::to_string(length));
        const PrefixSet set(std::span<const InetPrefix>(&p, 1));
        EXPECT_TRUE(set.contains(v4_from(first))) << p.to_string();
        EXPECT_TRUE(set.contains(v4_from(last))) << p.to_string();
        EXPECT_TRUE(set.contains(v4_from(base))) << p.to_string();
        if (first > 0) {
            EXPECT_FALSE(set.contains(v4_from(first - 1))) << p.to_string();
        }
        if (last < UINT32_MAX) {
            EXPECT_FALSE(set.contains(v4_from(last + 1))) << p.to_string();
        }
        EXPECT_FALSE(set.contains(host("2001:db8::1"))) << "an IPv4 prefix never holds an IPv6 client";
    }
}

TEST(PrefixSet, EveryIpv6PrefixLengthHoldsExactlyItsFirstToLastAddress) {
    using U128 = unsigned __int128;
    const U128 base = (U128(0x20010db8aabbccddULL) << 64) | 0x1122334455667788ULL;
    for (int length = 0; length <= 128; ++length) {
        const U128 mask = length == 0 ? 0 : ~U128(0) << (128 - length);
        const U128 first = base & mask, last = first | ~mask;
        uint8_t bytes[16];
        U128 value = first;
        for (int i = 15; i >= 0; --i, value >>= 8) bytes[i] = uint8_t(value);
        char text[INET6_ADDRSTRLEN];
        inet_ntop(AF_INET6, bytes, text, sizeof(text));
        const InetPrefix p = prefix(std::string(text) + "/" + std::to_string(length));
        const PrefixSet set(std::span<const InetPrefix>(&p, 1));
        EXPECT_TRUE(set.contains(v6_from(first))) << p.to_string();
        EXPECT_TRUE(set.contains(v6_from(last))) << p.to_string();
        EXPECT_TRUE(set.contains(v6_from(base))) << p.to_string();
        if (first > 0) {
            EXPECT_FALSE(set.contains(v6_from(first - 1))) << p.to_string();
        }
        if (last < ~U128(0)) {
            EXPECT_FALSE(set.contains(v6_from(last + 1))) << p.to_string();
        }
        EXPECT_FALSE(set.contains(host("192.168.123.45"))) << "an IPv6 prefix never holds an IPv4 client";
    }
}

TEST(PrefixSet, Ipv4MappedClientsAndPrefixesCountAsIpv4) {
    const PrefixSet v4 = set_of({"10.0.0.0/8"});
    EXPECT_TRUE(v4.contains(host("::ffff:10.1.2.3")));
    EXPECT_FALSE(v4.contains(host("::ffff:11.0.0.1")));
    const PrefixSet mapped = set_of({"::ffff:192.0.2.0/120"});
    EXPECT_TRUE(mapped.contains(host("192.0.2.200")));
    EXPECT_TRUE(mapped.contains(host("::ffff:192.0.2.1")));
    EXPECT_FALSE(mapped.contains(host("192.0.3.1")));
    // ::/0 is every IPv6 client, not every client.
    const PrefixSet all_v6 = set_of({"::/0"});
    EXPECT_TRUE(all_v6.contains(host("2001:db8::1")));
    EXPECT_FALSE(all_v6.contains(host("10.0.0.1")));
    EXPECT_FALSE(all_v6.contains(host("::ffff:10.0.0.1")));
}

TEST(PrefixSet, OverlappingAndAdjacentPrefixesMergeIntoOneRange) {
    const PrefixSet set = set_of({"10.0.0.0/24", "10.0.1.0/24", "10.0.0.128/25", "10.0.3.0/24", "0.0.0.0/32",
                                  "255.255.255.255/32", "255.255.255.254/32"});
    EXPECT_EQ(set.range_count(), 4u);  // 10.0.0.0-10.0.1.255, 10.0.3.0/24, 0.0.0.0, 255.255.255.254-255
    EXPECT_TRUE(set.contains(host("10.0.1.255")));
    EXPECT_FALSE(set.contains(host("10.0.2.0")));
    EXPECT_TRUE(set.contains(host("0.0.0.0")));
    EXPECT_TRUE(set.contains(host("255.255.255.255")));
    EXPECT_FALSE(set.contains(host("0.0.0.1")));
    const PrefixSet all = set_of({"0.0.0.0/0", "10.0.0.0/8"});
    EXPECT_EQ(all.range_count(), 1u);
}

// 10,000 random prefixes of random lengths in both families: every answer equals a
// linear scan, and the lookup time is printed (a measurement, not a pass/fail bound).
TEST(PrefixSet, TenThousandRandomPrefixesAnswerAsALinearScanDoes) {
    std::mt19937_64 random(23);
    std::vector<InetPrefix> prefixes;
    for (int i = 0; i < 10000; ++i) {
        InetPrefix p;
        p.family = i % 4 == 0 ? AF_INET6 : AF_INET;
        const int bits = p.family == AF_INET ? 32 : 128;
        p.length = uint8_t(p.family == AF_INET ? 16 + random() % 17 : 32 + random() % 97);
        for (auto& byte : p.bytes) byte = uint8_t(random());
        if (p.family == AF_INET6) p.bytes[0] = 0x20;
        for (int bit = p.length; bit < 128; ++bit) p.bytes[size_t(bit / 8)] &= uint8_t(~(0x80 >> (bit % 8)));
        if (bits == 32) std::fill(p.bytes.begin() + 4, p.bytes.end(), 0);
        prefixes.push_back(p);
    }
    const PrefixSet set(prefixes);
    auto linear = [&](const InetAddr& address) {
        const std::string_view bytes = address.address_bytes();
        for (const InetPrefix& p : prefixes) {
            if ((p.family == AF_INET) != (bytes.size() == 4)) continue;
            bool match = true;
            for (int bit = 0; bit < p.length && match; ++bit)
                match = ((uint8_t(bytes[size_t(bit / 8)]) ^ p.bytes[size_t(bit / 8)]) & (0x80 >> (bit % 8))) == 0;
            if (match) return true;
        }
        return false;
    };
    std::vector<InetAddr> probes;
    for (int i = 0; i < 2000; ++i) {
        if (i % 2 == 0) {
            const InetPrefix& p = prefixes[size_t(random() % prefixes.size())];  // inside or next to a prefix
            InetAddr a = p.family == AF_INET ? v4_from((uint32_t(p.bytes[0]) << 24 | uint32_t(p.bytes[1]) << 16 |
                                                        uint32_t(p.bytes[2]) << 8 | p.bytes[3]) + uint32_t(random() % 3) - 1)
                                             : v6_from((unsigned __int128)(0x20) << 120 | random());
            probes.push_back(a);
        } else {
            probes.push_back(v4_from(uint32_t(random())));
        }
    }
    size_t hits = 0;
    for (const InetAddr& probe : probes) {
        const bool expected = linear(probe);
        ASSERT_EQ(set.contains(probe), expected) << probe.host_string();
        hits += expected;
    }
    EXPECT_GT(hits, 100u);
    EXPECT_LT(hits, probes.size());
    const auto start = std::chrono::steady_clock::now();
    size_t found = 0;
    for (int round = 0; round < 500; ++round)
        for (const InetAddr& probe : probes) found += set.contains(probe);
    const double ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start).count() /
                      (500.0 * double(probes.size()));
    std::printf("[ measured ] PrefixSet of 10,000 prefixes (%zu ranges): %.0f ns per lookup (%zu hits)\n",
                set.range_count(), ns, found);
}

}  // namespace
}  // namespace ringlb
