// VRRPv3 codec: checksum, round trip, every verdict, and real keepalived adverts
// (tests/fixtures/vrrp/keepalived_adverts.hex, see the README there).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "vrrp/garp.h"
#include "vrrp/vrrp_packet.h"

namespace ringlb {

inline void PrintTo(AdvertVerdict verdict, std::ostream* os) { *os << to_string(verdict); }

namespace {

using Bytes = std::vector<uint8_t>;
using std::chrono::milliseconds;

constexpr Ipv4 kHostA = make_ipv4(10, 99, 7, 1);
constexpr Ipv4 kHostB = make_ipv4(10, 99, 7, 2);

Bytes from_hex(const std::string& hex) {
    Bytes out;
    for (size_t i = 0; i + 1 < hex.size(); i += 2) out.push_back(uint8_t(std::stoi(hex.substr(i, 2), nullptr, 16)));
    return out;
}

// An IPv4 header (no options unless options_len) in front of `vrrp`, as a raw socket
// hands it over.
Bytes ipv4_packet(const Bytes& vrrp, Ipv4 src, Ipv4 dst, uint8_t ttl = 255, uint8_t proto = 112,
                  size_t options_len = 0) {
    const size_t ihl = 20 + options_len;
    Bytes p(ihl, 0);
    p[0] = uint8_t(0x40 | (ihl / 4));
    p[1] = 0xc0;
    const size_t total = ihl + vrrp.size();
    p[2] = uint8_t(total >> 8);
    p[3] = uint8_t(total);
    p[8] = ttl;
    p[9] = proto;
    for (int i = 0; i < 4; ++i) {
        p[12 + i] = uint8_t(src >> (24 - 8 * i));
        p[16 + i] = uint8_t(dst >> (24 - 8 * i));
    }
    p.insert(p.end(), vrrp.begin(), vrrp.end());
    return p;
}

Advert sample_advert() {
    Advert a;
    a.source = kHostA;
    a.destination = kVrrpMulticastGroup;
    a.vrid = 51;
    a.priority = 150;
    a.max_advert_interval = milliseconds(1000);
    a.addresses = {make_ipv4(10, 99, 7, 100)};
    return a;
}

Bytes valid_packet() {
    const Advert a = sample_advert();
    return ipv4_packet(encode_advert(a), a.source, a.destination);
}

// After editing VRRP bytes of a packet with a 20-byte IP header, make the checksum right
// again so that only the edit is wrong.
void fix_checksum(Bytes& packet) {
    std::span<uint8_t> vrrp(packet.data() + 20, packet.size() - 20);
    vrrp[6] = vrrp[7] = 0;
    const uint16_t sum = vrrp_checksum(make_ipv4(packet[12], packet[13], packet[14], packet[15]),
                                       make_ipv4(packet[16], packet[17], packet[18], packet[19]), vrrp);
    vrrp[6] = uint8_t(sum >> 8);
    vrrp[7] = uint8_t(sum);
}

void set_total_length(Bytes& packet, size_t total) {
    packet[2] = uint8_t(total >> 8);
    packet[3] = uint8_t(total);
}

AdvertVerdict verdict_of(const Bytes& packet) { return decode_advert(packet).verdict; }

// ---------------------------------------------------------------- checksum

TEST(VrrpChecksum, MatchesTheValueKeepalivedPutOnTheWire) {
    // Captured: 10.99.7.1 → 224.0.0.18, VRID 51, priority 150, 1 s, VIP 10.99.7.100,
    // checksum 0x34ad.
    const Bytes payload = from_hex("3133960100640000" "0a630764");
    EXPECT_EQ(vrrp_checksum(kHostA, kVrrpMulticastGroup, payload), 0x34ad);
}

TEST(VrrpChecksum, IncludesTheIpv4PseudoHeader) {
    const Bytes payload = from_hex("3133960100640000" "0a630764");
    // VRRPv2-style (payload only) would give 0x26a0; RFC 9568 §5.2.8 adds the pseudo-header.
    EXPECT_NE(vrrp_checksum(kHostA, kVrrpMulticastGroup, payload), 0x26a0);
    EXPECT_NE(vrrp_checksum(kHostA, kVrrpMulticastGroup, payload),
              vrrp_checksum(kHostA, kHostB, payload));
    EXPECT_NE(vrrp_checksum(kHostA, kVrrpMulticastGroup, payload),
              vrrp_checksum(kHostB, kVrrpMulticastGroup, payload));
}

TEST(VrrpChecksum, OverAnEncodedAdvertSumsToZero) {
    for (uint8_t prio : {0, 1, 100, 254, 255}) {
        for (size_t n : {1, 2, 7, 255}) {
            Advert a = sample_advert();
            a.priority = prio;
            a.addresses.clear();
            for (size_t i = 0; i < n; ++i) a.addresses.push_back(make_ipv4(192, 0, 2, uint8_t(i)) + uint32_t(i << 8));
            const Bytes vrrp = encode_advert(a);
            EXPECT_EQ(vrrp_checksum(a.source, a.destination, vrrp), 0) << int(prio) << " " << n;
        }
    }
}

// ---------------------------------------------------------------- encode / decode

TEST(VrrpCodec, EncodesTheRfc9568Layout) {
    Advert a = sample_advert();
    a.addresses.push_back(make_ipv4(192, 0, 2, 7));
    const Bytes vrrp = encode_advert(a);
    ASSERT_EQ(vrrp.size(), 16u);
    EXPECT_EQ(vrrp[0], 0x31);  // version 3, type 1
    EXPECT_EQ(vrrp[1], 51);
    EXPECT_EQ(vrrp[2], 150);
    EXPECT_EQ(vrrp[3], 2);     // count
    EXPECT_EQ(vrrp[4], 0x00);  // rsvd 0, interval 100 cs
    EXPECT_EQ(vrrp[5], 100);
    EXPECT_EQ(Bytes(vrrp.begin() + 8, vrrp.end()), from_hex("0a630764c0000207"));
}

TEST(VrrpCodec, DecodeReturnsWhatEncodeWasGiven) {
    Advert a = sample_advert();
    a.priority = 0;
    a.vrid = 255;
    a.max_advert_interval = milliseconds(40950);
    a.destination = kHostB;  // unicast peer
    a.addresses = {make_ipv4(10, 0, 0, 1), make_ipv4(10, 0, 0, 2), make_ipv4(172, 16, 255, 254)};
    const DecodedAdvert d = decode_advert(ipv4_packet(encode_advert(a), a.source, a.destination));
    ASSERT_EQ(d.verdict, AdvertVerdict::kOk);
    EXPECT_EQ(d.advert.source, a.source);
    EXPECT_EQ(d.advert.destination, a.destination);
    EXPECT_EQ(d.advert.vrid, a.vrid);
    EXPECT_EQ(d.advert.priority, a.priority);
    EXPECT_EQ(d.advert.max_advert_interval, a.max_advert_interval);
    EXPECT_EQ(d.advert.addresses, a.addresses);
}

TEST(VrrpCodec, IntervalIsSentInWholeCentisecondsWithinTwelveBits) {
    auto wire_interval = [](milliseconds ms) {
        Advert a = sample_advert();
        a.max_advert_interval = ms;
        const Bytes v = encode_advert(a);
        return (v[4] << 8) | v[5];
    };
    EXPECT_EQ(wire_interval(milliseconds(1000)), 100);
    EXPECT_EQ(wire_interval(milliseconds(250)), 25);
    EXPECT_EQ(wire_interval(milliseconds(1239)), 123);   // rounded down
    EXPECT_EQ(wire_interval(milliseconds(0)), 1);        // never 0
    EXPECT_EQ(wire_interval(milliseconds(60000)), 4095); // 12 bits
}

TEST(VrrpCodec, MoreThan255AddressesAreCutTo255) {
    Advert a = sample_advert();
    a.addresses.assign(300, make_ipv4(10, 0, 0, 9));
    const Bytes vrrp = encode_advert(a);
    EXPECT_EQ(vrrp[3], 255);
    EXPECT_EQ(vrrp.size(), 8u + 4 * 255);
    EXPECT_EQ(verdict_of(ipv4_packet(vrrp, a.source, a.destination)), AdvertVerdict::kOk);
}

TEST(VrrpCodec, ReservedBitsAreIgnoredOnReceipt) {
    Bytes p = valid_packet();
    p[20 + 4] |= 0xf0;  // §5.2.6 rsvd
    fix_checksum(p);
    const DecodedAdvert d = decode_advert(p);
    ASSERT_EQ(d.verdict, AdvertVerdict::kOk);
    EXPECT_EQ(d.advert.max_advert_interval, milliseconds(1000));
}

TEST(VrrpCodec, IpOptionsAreSkipped) {
    const Advert a = sample_advert();
    Bytes p = ipv4_packet(encode_advert(a), a.source, a.destination, 255, 112, 4);
    const DecodedAdvert d = decode_advert(p);
    ASSERT_EQ(d.verdict, AdvertVerdict::kOk);
    EXPECT_EQ(d.advert.addresses, a.addresses);
}

TEST(VrrpCodec, EthernetPaddingAfterTheIpPacketIsAccepted) {
    Bytes p = valid_packet();  // 32 bytes, padded by the link to 46
    p.resize(46, 0);
    EXPECT_EQ(verdict_of(p), AdvertVerdict::kOk);
}

// ---------------------------------------------------------------- verdicts

TEST(VrrpVerdict, ShortPacketsAreTruncated) {
    const Bytes p = valid_packet();
    EXPECT_EQ(verdict_of(Bytes()), AdvertVerdict::kTruncated);
    EXPECT_EQ(verdict_of(Bytes(p.begin(), p.begin() + 19)), AdvertVerdict::kTruncated);
    EXPECT_EQ(verdict_of(Bytes(p.begin(), p.end() - 1)), AdvertVerdict::kTruncated);
    // IP options announced but not there.
    Bytes opts = Bytes(p.begin(), p.begin() + 20);
    opts[0] = 0x4f;
    EXPECT_EQ(verdict_of(opts), AdvertVerdict::kTruncated);
    // IP packet complete but shorter than the VRRP fixed header.
    Bytes tiny(p.begin(), p.begin() + 26);
    set_total_length(tiny, 26);
    EXPECT_EQ(verdict_of(tiny), AdvertVerdict::kTruncated);
}

TEST(VrrpVerdict, NonIpv4OrBrokenHeaderIsBadIpHeader) {
    Bytes v6 = valid_packet();
    v6[0] = 0x65;
    EXPECT_EQ(verdict_of(v6), AdvertVerdict::kBadIpHeader);
    Bytes short_ihl = valid_packet();
    short_ihl[0] = 0x44;
    EXPECT_EQ(verdict_of(short_ihl), AdvertVerdict::kBadIpHeader);
    Bytes short_total = valid_packet();
    set_total_length(short_total, 12);
    EXPECT_EQ(verdict_of(short_total), AdvertVerdict::kBadIpHeader);
}

TEST(VrrpVerdict, OtherProtocolIsBadProtocol) {
    const Advert a = sample_advert();
    EXPECT_EQ(verdict_of(ipv4_packet(encode_advert(a), a.source, a.destination, 255, 17)),
              AdvertVerdict::kBadProtocol);
    EXPECT_EQ(verdict_of(ipv4_packet(encode_advert(a), a.source, a.destination, 255, 51)),
              AdvertVerdict::kBadProtocol);  // IPsec AH: not supported
}

TEST(VrrpVerdict, TtlOtherThan255IsBadTtl) {
    const Advert a = sample_advert();
    for (uint8_t ttl : {0, 1, 64, 254})
        EXPECT_EQ(verdict_of(ipv4_packet(encode_advert(a), a.source, a.destination, ttl)),
                  AdvertVerdict::kBadTtl) << int(ttl);
}

TEST(VrrpVerdict, VrrpVersion2IsBadVersion) {
    Bytes p = valid_packet();
    p[20] = 0x21;
    fix_checksum(p);
    EXPECT_EQ(verdict_of(p), AdvertVerdict::kBadVersion);
}

TEST(VrrpVerdict, NonAdvertisementTypeIsBadType) {
    Bytes p = valid_packet();
    p[20] = 0x32;
    fix_checksum(p);
    EXPECT_EQ(verdict_of(p), AdvertVerdict::kBadType);
}

TEST(VrrpVerdict, ZeroAddressesIsBadAddressCount) {
    const Bytes full = valid_packet();
    Bytes p(full.begin(), full.begin() + 28);
    p[20 + 3] = 0;
    set_total_length(p, 28);
    fix_checksum(p);
    EXPECT_EQ(verdict_of(p), AdvertVerdict::kBadAddressCount);
}

TEST(VrrpVerdict, CountThatDisagreesWithLengthIsBadLength) {
    Bytes too_many = valid_packet();
    too_many[20 + 3] = 2;  // says 2, carries 1
    fix_checksum(too_many);
    EXPECT_EQ(verdict_of(too_many), AdvertVerdict::kBadLength);

    Bytes extra = valid_packet();  // says 1, carries 2
    extra.insert(extra.end(), {10, 99, 7, 101});
    set_total_length(extra, extra.size());
    fix_checksum(extra);
    EXPECT_EQ(verdict_of(extra), AdvertVerdict::kBadLength);
}

TEST(VrrpVerdict, TrailingBytesBeyondEthernetPaddingAreBadLength) {
    Bytes p = valid_packet();
    p.resize(47, 0);
    EXPECT_EQ(verdict_of(p), AdvertVerdict::kBadLength);
}

TEST(VrrpVerdict, AnyFlippedBitIsBadChecksum) {
    const Bytes good = valid_packet();
    for (size_t i = 20; i < good.size(); ++i) {
        if (i == 20) continue;  // version/type have their own verdicts
        if (i == 23) continue;  // count has its own verdicts
        Bytes p = good;
        p[i] ^= 0x01;
        EXPECT_EQ(verdict_of(p), AdvertVerdict::kBadChecksum) << "byte " << i;
    }
    // The pseudo-header counts too: same VRRP bytes, other destination.
    Bytes other_dst = good;
    other_dst[19] = 0x13;
    EXPECT_EQ(verdict_of(other_dst), AdvertVerdict::kBadChecksum);
}

TEST(VrrpVerdict, EveryVerdictHasAName) {
    for (auto v : {AdvertVerdict::kOk, AdvertVerdict::kTruncated, AdvertVerdict::kBadIpHeader,
                   AdvertVerdict::kBadProtocol, AdvertVerdict::kBadTtl, AdvertVerdict::kBadVersion,
                   AdvertVerdict::kBadType, AdvertVerdict::kBadAddressCount, AdvertVerdict::kBadLength,
                   AdvertVerdict::kBadChecksum})
        EXPECT_STRNE(to_string(v), "unknown");
}

// ---------------------------------------------------------------- real keepalived bytes

struct CapturedFrame {
    std::string run;   // "mcast" or "unicast"
    std::string kind;  // "ip" or "arp"
    Bytes bytes;
};

std::filesystem::path fixture_path() {
    const std::filesystem::path rel = "tests/fixtures/vrrp/keepalived_adverts.hex";
    if (std::filesystem::exists(rel)) return rel;  // run from the repository root
    std::error_code ec;
    const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);  // build/unit_tests
    if (!ec) return exe.parent_path().parent_path() / rel;
    return rel;
}

std::vector<CapturedFrame> load_capture() {
    std::vector<CapturedFrame> out;
    std::ifstream in(fixture_path());
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#') continue;
        std::istringstream fields(line);
        CapturedFrame f;
        std::string hex;
        fields >> f.run >> f.kind >> hex;
        f.bytes = from_hex(hex);
        out.push_back(std::move(f));
    }
    return out;
}

std::vector<CapturedFrame> frames_of(const std::string& run, const std::string& kind) {
    std::vector<CapturedFrame> out;
    for (auto& f : load_capture())
        if (f.run == run && f.kind == kind) out.push_back(f);
    return out;
}

// What capture_keepalived.sh configured for each run.
struct KeepalivedRun {
    const char* name;
    Ipv4 destination;
    uint8_t vrid;
    uint8_t priority;
    milliseconds interval;
    std::vector<Ipv4> vips;
};

const KeepalivedRun kRuns[] = {
    {"mcast", kVrrpMulticastGroup, 51, 150, milliseconds(1000), {make_ipv4(10, 99, 7, 100)}},
    {"unicast", kHostB, 52, 200, milliseconds(250),
     {make_ipv4(10, 99, 7, 101), make_ipv4(10, 99, 7, 102), make_ipv4(10, 99, 7, 103)}},
};

TEST(VrrpKeepalivedCapture, FixtureHoldsBothRuns) {
    ASSERT_FALSE(load_capture().empty()) << "cannot read " << fixture_path();
    for (const auto& run : kRuns) {
        EXPECT_GE(frames_of(run.name, "ip").size(), 3u) << run.name;
        EXPECT_GE(frames_of(run.name, "arp").size(), run.vips.size()) << run.name;
    }
}

TEST(VrrpKeepalivedCapture, EveryAdvertDecodesWithTheConfiguredFields) {
    for (const auto& run : kRuns) {
        const auto adverts = frames_of(run.name, "ip");
        ASSERT_FALSE(adverts.empty()) << run.name;
        for (size_t i = 0; i < adverts.size(); ++i) {
            const DecodedAdvert d = decode_advert(adverts[i].bytes);
            ASSERT_EQ(d.verdict, AdvertVerdict::kOk) << run.name << " #" << i << ": " << to_string(d.verdict);
            EXPECT_EQ(d.advert.source, kHostA);
            EXPECT_EQ(d.advert.destination, run.destination);
            EXPECT_EQ(d.advert.vrid, run.vrid);
            // keepalived was stopped with SIGTERM: its last advert says priority 0.
            const bool last = i + 1 == adverts.size();
            EXPECT_EQ(d.advert.priority, last ? 0 : run.priority) << run.name << " #" << i;
            EXPECT_EQ(d.advert.max_advert_interval, run.interval);
            EXPECT_EQ(d.advert.addresses, run.vips);
        }
    }
}

TEST(VrrpKeepalivedCapture, OurEncoderProducesKeepalivedsBytes) {
    for (const auto& run : kRuns) {
        const auto frames = frames_of(run.name, "ip");
        ASSERT_FALSE(frames.empty()) << run.name;
        for (const auto& frame : frames) {
            const Bytes& packet = frame.bytes;
            const size_t ihl = size_t(packet[0] & 0x0f) * 4;
            Advert a;
            a.source = kHostA;
            a.destination = run.destination;
            a.vrid = run.vrid;
            a.priority = packet[ihl + 2];  // 150/200, or 0 for the farewell
            a.max_advert_interval = run.interval;
            a.addresses = run.vips;
            EXPECT_EQ(encode_advert(a), Bytes(packet.begin() + ihl, packet.end())) << run.name;
        }
    }
}

TEST(VrrpKeepalivedCapture, CorruptingAnyCapturedByteIsCaught) {
    const auto adverts = frames_of("unicast", "ip");
    ASSERT_FALSE(adverts.empty());
    const Bytes& good = adverts.front().bytes;
    for (size_t i = 12; i < good.size(); ++i) {  // addresses, then every VRRP byte
        Bytes p = good;
        p[i] ^= 0x40;
        EXPECT_NE(verdict_of(p), AdvertVerdict::kOk) << "byte " << i;
    }
}

TEST(GarpKeepalivedCapture, OurFrameIsByteForByteKeepalivedsGratuitousArp) {
    const MacAddress host_a_mac = {0x02, 0x00, 0x00, 0x99, 0x07, 0x01};
    for (const auto& run : kRuns) {
        const auto frames = frames_of(run.name, "arp");
        ASSERT_FALSE(frames.empty()) << run.name;
        std::vector<Ipv4> announced;
        for (const auto& frame : frames) {
            ASSERT_EQ(frame.bytes.size(), kGarpFrameSize);
            const Ipv4 vip = make_ipv4(frame.bytes[28], frame.bytes[29], frame.bytes[30], frame.bytes[31]);
            const GarpFrame ours = build_garp_frame(host_a_mac, vip);
            EXPECT_EQ(Bytes(ours.begin(), ours.end()), frame.bytes) << run.name << " " << format_ipv4(vip);
            announced.push_back(vip);
        }
        for (Ipv4 vip : run.vips)
            EXPECT_NE(std::find(announced.begin(), announced.end(), vip), announced.end())
                << run.name << " never announced " << format_ipv4(vip);
    }
}

TEST(VrrpCodec, EveryVerdictHasItsOwnMetricLabel) {
    std::set<std::string> labels;
    for (size_t v = 0; v < kAdvertVerdictCount; ++v) {
        std::string label = to_label(AdvertVerdict(v));
        EXPECT_EQ(label.find_first_not_of("abcdefghijklmnopqrstuvwxyz_"), std::string::npos) << label;
        EXPECT_NE(label, "unknown");
        labels.insert(label);
    }
    EXPECT_EQ(labels.size(), kAdvertVerdictCount);
}

}  // namespace
}  // namespace ringlb
