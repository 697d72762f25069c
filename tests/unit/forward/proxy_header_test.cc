// PROXY protocol v1/v2: encoder output byte for byte against headers written out by
// hand from HAProxy's doc/proxy-protocol.txt, and the strict parser on valid, partial,
// malformed and mangled input.
#include "core/forward/proxy_header.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <initializer_list>
#include <random>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace ringlb {
namespace {

InetAddr addr(const std::string& text) {
    auto parsed = InetAddr::parse(text, true);
    if (!parsed) throw std::runtime_error("bad test address " + text);
    return *parsed;
}

std::string bytes(std::initializer_list<int> values) {
    std::string out;
    for (int value : values) out.push_back(static_cast<char>(value));
    return out;
}

// §2.2: \x0D \x0A \x0D \x0A \x00 \x0D \x0A \x51 \x55 \x49 \x54 \x0A
const std::string kSignature =
    bytes({0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a});

ProxyParseStatus status_of(const std::string& data) { return parse_proxy_header(data).status; }

// --- v1 encoder ---

TEST(ProxyHeader, V1Ipv4IsTheSpecsExampleLine) {
    EXPECT_EQ(build_proxy_v1(addr("192.168.0.1:56324"), addr("192.168.0.11:443")),
              "PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n");
}

TEST(ProxyHeader, V1Ipv6IsWrittenCompressed) {
    EXPECT_EQ(build_proxy_v1(addr("[2001:db8::1]:56324"), addr("[2001:db8:0:0:0:0:0:11]:443")),
              "PROXY TCP6 2001:db8::1 2001:db8::11 56324 443\r\n");
}

TEST(ProxyHeader, V1MixedFamiliesAreTcp6WithTheIpv4SideMapped) {
    EXPECT_EQ(build_proxy_v1(addr("192.0.2.1:1234"), addr("[2001:db8::2]:443")),
              "PROXY TCP6 ::ffff:192.0.2.1 2001:db8::2 1234 443\r\n");
    EXPECT_EQ(build_proxy_v1(addr("[2001:db8::1]:1234"), addr("198.51.100.7:80")),
              "PROXY TCP6 2001:db8::1 ::ffff:198.51.100.7 1234 80\r\n");
}

TEST(ProxyHeader, V1WithoutAnInetAddressSaysUnknown) {
    EXPECT_EQ(build_proxy_v1(InetAddr(), addr("192.0.2.1:80")), "PROXY UNKNOWN\r\n");
    EXPECT_EQ(build_proxy_v1(addr("192.0.2.1:80"), InetAddr()), "PROXY UNKNOWN\r\n");
}

// The worker builds headers on its data path, which must not throw or allocate.
static_assert(noexcept(build_proxy_v1(std::declval<const InetAddr&>(), std::declval<const InetAddr&>())));
static_assert(noexcept(build_proxy_v2(std::declval<const InetAddr&>(), std::declval<const InetAddr&>())));

TEST(ProxyHeader, V1LongestLinesHaveTheSpecsLengths) {
    auto v4 = build_proxy_v1(addr("255.255.255.255:65535"), addr("255.255.255.255:65535"));
    EXPECT_EQ(v4.size(), 56u);  // §2.1: 56 chars for TCP/IPv4, CRLF included
    auto v6 = build_proxy_v1(addr("[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535"),
                             addr("[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535"));
    EXPECT_EQ(v6.size(), 104u);  // §2.1: 104 chars for TCP/IPv6
}

// --- v2 encoder ---

TEST(ProxyHeader, V2Ipv4BytesFollowTheSpecLayout) {
    std::string expected = kSignature + bytes({
        0x21,                    // version 2, command PROXY
        0x11,                    // AF_INET, STREAM
        0x00, 0x0c,              // 12 address bytes
        0xc0, 0xa8, 0x00, 0x01,  // 192.168.0.1
        0xc0, 0xa8, 0x00, 0x0b,  // 192.168.0.11
        0xdc, 0x04,              // 56324
        0x01, 0xbb,              // 443
    });
    EXPECT_EQ(build_proxy_v2(addr("192.168.0.1:56324"), addr("192.168.0.11:443")), expected);
}

TEST(ProxyHeader, V2Ipv6BytesFollowTheSpecLayout) {
    std::string expected = kSignature + bytes({
        0x21,        // version 2, command PROXY
        0x21,        // AF_INET6, STREAM
        0x00, 0x24,  // 36 address bytes
        0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01,  // 2001:db8::1
        0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x11,  // 2001:db8::11
        0xdc, 0x04,  // 56324
        0x01, 0xbb,  // 443
    });
    EXPECT_EQ(build_proxy_v2(addr("[2001:db8::1]:56324"), addr("[2001:db8::11]:443")), expected);
}

TEST(ProxyHeader, V2MixedFamiliesAreIpv6WithTheIpv4SideMapped) {
    std::string expected = kSignature + bytes({
        0x21, 0x21, 0x00, 0x24,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xc0, 0x00, 0x02, 0x01,  // ::ffff:192.0.2.1
        0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02,     // 2001:db8::2
        0x04, 0xd2,  // 1234
        0x01, 0xbb,  // 443
    });
    EXPECT_EQ(build_proxy_v2(addr("192.0.2.1:1234"), addr("[2001:db8::2]:443")), expected);
}

TEST(ProxyHeader, V2WithoutAnInetAddressSendsLocal) {
    std::string expected = kSignature + bytes({0x20, 0x00, 0x00, 0x00});  // LOCAL, UNSPEC, no block
    EXPECT_EQ(build_proxy_v2(InetAddr(), addr("192.0.2.1:80")), expected);
}

// --- parser ---

TEST(ProxyHeader, ParsingWhatWasBuiltGivesBackTheAddresses) {
    std::mt19937 rng(1);
    auto random_v4 = [&] {
        uint32_t v = rng();
        return addr(std::to_string(v >> 24) + "." + std::to_string((v >> 16) & 255) + "." +
                    std::to_string((v >> 8) & 255) + "." + std::to_string(v & 255) + ":" +
                    std::to_string(rng() % 65536));
    };
    auto random_v6 = [&] {
        std::string text = "[";
        for (int group = 0; group < 8; ++group) {
            // Runs of zero groups now and then, so "::" compression is exercised.
            char hex[8];
            std::snprintf(hex, sizeof(hex), "%x", rng() % 3 == 0 ? 0u : unsigned(rng() % 65536));
            text += std::string(hex) + (group < 7 ? ":" : "");
        }
        return addr(text + "]:" + std::to_string(rng() % 65536));
    };
    const std::string payload = "GET / HTTP/1.1\r\n\r\n";
    for (int i = 0; i < 500; ++i) {
        InetAddr client = (i % 2) ? random_v4() : random_v6();
        InetAddr local = (i % 3) ? random_v4() : random_v6();
        bool both_v4 = client.family() == AF_INET && local.family() == AF_INET;
        for (int version : {1, 2}) {
            std::string header = version == 1 ? build_proxy_v1(client, local) : build_proxy_v2(client, local);
            auto result = parse_proxy_header(header + payload);
            ASSERT_EQ(result.status, ProxyParseStatus::kComplete) << "v" << version << " " << client.to_string();
            EXPECT_EQ(result.header.version, version);
            EXPECT_EQ(result.header.command, ProxyCommand::kProxy);
            EXPECT_TRUE(result.header.has_addresses);
            EXPECT_EQ(result.header.length, header.size());
            EXPECT_EQ(result.header.source.port(), client.port());
            EXPECT_EQ(result.header.destination.port(), local.port());
            if (both_v4 || (client.family() == AF_INET6 && local.family() == AF_INET6)) {
                EXPECT_EQ(result.header.source, client);
                EXPECT_EQ(result.header.destination, local);
            } else {
                // Mixed: the IPv4 side comes back IPv4-mapped.
                EXPECT_EQ(result.header.source.family(), AF_INET6);
                EXPECT_EQ(result.header.source.address_bytes().substr(16 - client.address_bytes().size()),
                          client.address_bytes());
                EXPECT_EQ(result.header.destination.address_bytes().substr(16 - local.address_bytes().size()),
                          local.address_bytes());
            }
        }
    }
}

TEST(ProxyHeader, EveryProperPrefixOfAHeaderIsIncomplete) {
    std::vector<std::string> headers = {
        build_proxy_v1(addr("192.168.0.1:56324"), addr("192.168.0.11:443")),
        build_proxy_v1(addr("[2001:db8::1]:1"), addr("[2001:db8::2]:2")),
        "PROXY UNKNOWN\r\n",
        build_proxy_v2(addr("192.168.0.1:56324"), addr("192.168.0.11:443")),
        build_proxy_v2(addr("[2001:db8::1]:1"), addr("[2001:db8::2]:2")),
        build_proxy_v2(InetAddr(), InetAddr()),
    };
    for (const auto& header : headers) {
        ASSERT_EQ(status_of(header), ProxyParseStatus::kComplete);
        for (size_t length = 0; length < header.size(); ++length) {
            EXPECT_EQ(status_of(header.substr(0, length)), ProxyParseStatus::kIncomplete)
                << length << " bytes of a " << header.size() << "-byte header";
        }
    }
}

TEST(ProxyHeader, V1UnknownIsAcceptedWithOrWithoutTheRestOfTheLine) {
    auto bare = parse_proxy_header("PROXY UNKNOWN\r\nxyz");
    ASSERT_EQ(bare.status, ProxyParseStatus::kComplete);
    EXPECT_EQ(bare.header.version, 1);
    EXPECT_FALSE(bare.header.has_addresses);
    EXPECT_EQ(bare.header.length, 15u);

    // §2.1: the receiver must ignore anything presented before the CRLF.
    std::string worst = "PROXY UNKNOWN ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
                        "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n";
    ASSERT_EQ(worst.size(), kProxyV1MaxLength);
    auto full = parse_proxy_header(worst);
    ASSERT_EQ(full.status, ProxyParseStatus::kComplete);
    EXPECT_FALSE(full.header.has_addresses);
    EXPECT_EQ(full.header.length, kProxyV1MaxLength);
}

TEST(ProxyHeader, V1MappedAddressesAreAcceptedAsTcp6) {
    auto result = parse_proxy_header("PROXY TCP6 ::ffff:192.0.2.1 2001:db8::2 0 65535\r\n");
    ASSERT_EQ(result.status, ProxyParseStatus::kComplete);
    EXPECT_EQ(result.header.source, addr("[::ffff:192.0.2.1]:0"));
    EXPECT_EQ(result.header.destination, addr("[2001:db8::2]:65535"));
}

TEST(ProxyHeader, MalformedV1LinesAreRejected) {
    const std::vector<std::string> lines = {
        "GET / HTTP/1.1\r\n",
        "PROXY\r\n",
        "PROXY \r\n",
        "PROXY TCP4\r\n",
        "PROXY TCP5 192.0.2.1 192.0.2.2 1 2\r\n",
        "PROXY tcp4 192.0.2.1 192.0.2.2 1 2\r\n",
        "PROXY UNKNOWNX\r\n",
        "PROXY  TCP4 192.0.2.1 192.0.2.2 1 2\r\n",
        "PROXY TCP4  192.0.2.1 192.0.2.2 1 2\r\n",
        "PROXY TCP4 192.0.2.1 192.0.2.2 1 2 \r\n",
        "PROXY TCP4 192.0.2.1 192.0.2.2 1 2 3\r\n",
        "PROXY TCP4 192.0.2.1 192.0.2.2 1\r\n",
        "PROXY TCP4\t192.0.2.1 192.0.2.2 1 2\r\n",
        "PROXY TCP4 192.0.2.1 192.0.2.2 1 2\n",
        "PROXY TCP4 192.0.2.1 192.0.2.2 1 2\r\r\n",
        "PROXY TCP4 192.0.2.1\r 192.0.2.2 1 2\r\n",
        "PROXY TCP4 192.0.2.1 192.0.2.2 1 2\rX",
        "PROXY TCP4 192.0.02.1 192.0.2.2 1 2\r\n",       // leading zero in an octet
        "PROXY TCP4 192.0.2 192.0.2.2 1 2\r\n",
        "PROXY TCP4 192.0.2.256 192.0.2.2 1 2\r\n",
        "PROXY TCP4 2001:db8::1 192.0.2.2 1 2\r\n",       // IPv6 under TCP4
        "PROXY TCP6 192.0.2.1 2001:db8::2 1 2\r\n",       // bare IPv4 under TCP6
        "PROXY TCP6 2001:db8::1%eth0 2001:db8::2 1 2\r\n",  // zone id
        "PROXY TCP6 2001:db8:::1 2001:db8::2 1 2\r\n",
        "PROXY TCP6 2001:db8::1::2 2001:db8::2 1 2\r\n",
        "PROXY TCP4 192.0.2.1 192.0.2.2 01 2\r\n",        // leading zero in a port
        "PROXY TCP4 192.0.2.1 192.0.2.2 1 65536\r\n",
        "PROXY TCP4 192.0.2.1 192.0.2.2 1 -2\r\n",
        "PROXY TCP4 192.0.2.1 192.0.2.2 1 +2\r\n",
        "PROXY TCP4 192.0.2.1 192.0.2.2 1 2a\r\n",
        std::string("PROXY TCP4 192.0.2.1\0 192.0.2.2 1 2\r\n", 37),
        std::string("PROXY TCP4 192.0.2.1 192.0.2.2\0 1 2\r\n", 37),
        // No CRLF within 107 bytes, however long the input.
        "PROXY UNKNOWN " + std::string(kProxyV1MaxLength - 14, 'x'),
        "PROXY UNKNOWN " + std::string(kProxyV1MaxLength - 15, 'x') + "\r\n",
    };
    for (const auto& line : lines) {
        EXPECT_EQ(status_of(line), ProxyParseStatus::kInvalid) << line;
    }
}

TEST(ProxyHeader, V2LocalIsAcceptedWithoutAddresses) {
    auto result = parse_proxy_header(kSignature + bytes({0x20, 0x00, 0x00, 0x00}) + "data");
    ASSERT_EQ(result.status, ProxyParseStatus::kComplete);
    EXPECT_EQ(result.header.version, 2);
    EXPECT_EQ(result.header.command, ProxyCommand::kLocal);
    EXPECT_FALSE(result.header.has_addresses);
    EXPECT_EQ(result.header.length, 16u);

    // §2.2: a receiver must skip `len` bytes even for LOCAL, and ignore the family.
    auto with_block = parse_proxy_header(kSignature + bytes({0x20, 0x11, 0x00, 0x03, 1, 2, 3}));
    ASSERT_EQ(with_block.status, ProxyParseStatus::kComplete);
    EXPECT_EQ(with_block.header.length, 19u);
    EXPECT_FALSE(with_block.header.has_addresses);
}

TEST(ProxyHeader, V2TlvsAreSkippedAndCounted) {
    std::string header = build_proxy_v2(addr("192.0.2.1:1"), addr("192.0.2.2:2"));
    header[15] = 12 + 4 + 3;  // address block, a 1-byte-value TLV, an empty TLV
    header += bytes({0x04, 0x00, 0x01, 0xaa});  // PP2_TYPE_NOOP, 1 byte
    header += bytes({0x01, 0x00, 0x00});        // PP2_TYPE_ALPN, empty
    auto result = parse_proxy_header(header + "payload");
    ASSERT_EQ(result.status, ProxyParseStatus::kComplete);
    EXPECT_EQ(result.header.length, header.size());
    EXPECT_EQ(result.header.source, addr("192.0.2.1:1"));
    EXPECT_EQ(result.header.destination, addr("192.0.2.2:2"));
}

TEST(ProxyHeader, V2UnixAndUnspecFamiliesCarryNoAddress) {
    std::string unix_stream = kSignature + bytes({0x21, 0x31, 0x00, 0xd8}) + std::string(216, 'u');
    auto result = parse_proxy_header(unix_stream);
    ASSERT_EQ(result.status, ProxyParseStatus::kComplete);
    EXPECT_FALSE(result.header.has_addresses);
    EXPECT_EQ(result.header.length, 16u + 216u);

    auto unspec = parse_proxy_header(kSignature + bytes({0x21, 0x00, 0x00, 0x00}));
    ASSERT_EQ(unspec.status, ProxyParseStatus::kComplete);
    EXPECT_EQ(unspec.header.command, ProxyCommand::kProxy);
    EXPECT_FALSE(unspec.header.has_addresses);
}

TEST(ProxyHeader, MalformedV2HeadersAreRejected) {
    const std::string v4 = build_proxy_v2(addr("192.0.2.1:1"), addr("192.0.2.2:2"));
    auto with = [&](size_t at, int value) {
        std::string copy = v4;
        copy[at] = static_cast<char>(value);
        return copy;
    };
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"signature", with(4, 0x01)},
        {"signature at its last byte", with(11, 0x0b)},
        {"version 1", with(12, 0x11)},
        {"version 3", with(12, 0x31)},
        {"command 2", with(12, 0x22)},
        {"command 15", with(12, 0x2f)},
        {"family 4", with(13, 0x41)},
        {"transport 3", with(13, 0x13)},
        {"block shorter than IPv4 addresses", with(15, 11)},
        {"block shorter than IPv6 addresses", kSignature + bytes({0x21, 0x21, 0x00, 0x0c}) + v4.substr(16)},
        {"block shorter than UNIX addresses", kSignature + bytes({0x21, 0x31, 0x00, 0x0c}) + v4.substr(16)},
        {"TLV header cut short", with(15, 14) + bytes({0x04, 0x00})},
        {"TLV value past the block", with(15, 12 + 4) + bytes({0x04, 0x00, 0x02, 0xaa})},
        {"early bad version", kSignature + bytes({0x10})},
    };
    for (const auto& [name, data] : cases) {
        EXPECT_EQ(status_of(data), ProxyParseStatus::kInvalid) << name;
    }
    // Neither version: anything that starts with neither 'P' nor the signature.
    EXPECT_EQ(status_of("\r\nGET / HTTP/1.1\r\n\r\n"), ProxyParseStatus::kInvalid);
    EXPECT_EQ(status_of("QUIT"), ProxyParseStatus::kInvalid);
}

TEST(ProxyHeader, MangledHeadersNeverClaimMoreBytesThanGiven) {
    // A small, seeded taste of what the fuzzer will do: flip, cut and extend real
    // headers; the parser must never claim bytes it was not given, and a header it
    // accepts must name addresses only when it says so.
    const std::vector<std::string> seeds = {
        build_proxy_v1(addr("192.168.0.1:56324"), addr("192.168.0.11:443")),
        build_proxy_v1(addr("[2001:db8::1]:1"), addr("198.51.100.7:2")),
        build_proxy_v2(addr("192.168.0.1:56324"), addr("192.168.0.11:443")),
        build_proxy_v2(addr("[2001:db8::1]:1"), addr("[2001:db8::2]:2")),
    };
    std::mt19937 rng(2016);
    size_t complete = 0, incomplete = 0, invalid = 0;
    for (int i = 0; i < 20000; ++i) {
        std::string data = seeds[rng() % seeds.size()];
        int edits = 1 + rng() % 3;
        for (int e = 0; e < edits && !data.empty(); ++e) {
            switch (rng() % 3) {
            case 0: data[rng() % data.size()] = static_cast<char>(rng()); break;
            case 1: data.resize(rng() % data.size()); break;
            default: data.append(rng() % 8, static_cast<char>(rng())); break;
            }
        }
        auto result = parse_proxy_header(data);
        switch (result.status) {
        case ProxyParseStatus::kComplete:
            ++complete;
            EXPECT_LE(result.header.length, data.size());
            EXPECT_GE(result.header.length, 15u);
            if (result.header.has_addresses) {
                EXPECT_TRUE(result.header.source.family() == AF_INET || result.header.source.family() == AF_INET6);
                EXPECT_EQ(result.header.source.family(), result.header.destination.family());
            }
            break;
        case ProxyParseStatus::kIncomplete: ++incomplete; break;
        case ProxyParseStatus::kInvalid: ++invalid; break;
        }
    }
    // The mix shows the mutations reach all three outcomes.
    EXPECT_GT(complete, 100u);
    EXPECT_GT(incomplete, 100u);
    EXPECT_GT(invalid, 100u);
}

}  // namespace
}  // namespace ringlb
