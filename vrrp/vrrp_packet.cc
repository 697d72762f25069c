// VRRPv3 IPv4 advertisement codec (RFC 9568 §5, receive checks §7.1). Pure.
#include "vrrp/vrrp_packet.h"

#include <algorithm>

namespace ringlb {
namespace {

constexpr size_t kIpv4MinHeader = 20;
constexpr size_t kEthernetMinPayload = 46;  // ETH_ZLEN 60 − Ethernet header 14

uint16_t load16(const uint8_t* p) { return uint16_t((p[0] << 8) | p[1]); }

uint32_t load32(const uint8_t* p) {
    return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | p[3];
}

void store16(uint8_t* p, uint16_t v) {
    p[0] = uint8_t(v >> 8);
    p[1] = uint8_t(v);
}

void store32(uint8_t* p, uint32_t v) {
    p[0] = uint8_t(v >> 24);
    p[1] = uint8_t(v >> 16);
    p[2] = uint8_t(v >> 8);
    p[3] = uint8_t(v);
}

// RFC 1071: sum of big-endian 16-bit words, an odd last byte padded with zero.
uint32_t sum_words(std::span<const uint8_t> bytes, uint32_t sum) {
    size_t i = 0;
    for (; i + 1 < bytes.size(); i += 2) sum += load16(&bytes[i]);
    if (i < bytes.size()) sum += uint32_t(bytes[i]) << 8;
    return sum;
}

}  // namespace

const char* to_string(AdvertVerdict verdict) {
    switch (verdict) {
        case AdvertVerdict::kOk: return "ok";
        case AdvertVerdict::kTruncated: return "truncated";
        case AdvertVerdict::kBadIpHeader: return "bad IPv4 header";
        case AdvertVerdict::kBadProtocol: return "IP protocol is not 112";
        case AdvertVerdict::kBadTtl: return "TTL is not 255";
        case AdvertVerdict::kBadVersion: return "VRRP version is not 3";
        case AdvertVerdict::kBadType: return "VRRP type is not ADVERTISEMENT";
        case AdvertVerdict::kBadAddressCount: return "address count is 0";
        case AdvertVerdict::kBadLength: return "length does not match address count";
        case AdvertVerdict::kBadChecksum: return "bad checksum";
        case AdvertVerdict::kAddressMismatch: return "address list differs from ours";
        case AdvertVerdict::kUnknownPeer: return "source is not a unicast peer";
    }
    return "unknown";
}

const char* to_label(AdvertVerdict verdict) {
    switch (verdict) {
        case AdvertVerdict::kOk: return "ok";
        case AdvertVerdict::kTruncated: return "truncated";
        case AdvertVerdict::kBadIpHeader: return "bad_ip_header";
        case AdvertVerdict::kBadProtocol: return "bad_protocol";
        case AdvertVerdict::kBadTtl: return "bad_ttl";
        case AdvertVerdict::kBadVersion: return "bad_version";
        case AdvertVerdict::kBadType: return "bad_type";
        case AdvertVerdict::kBadAddressCount: return "bad_address_count";
        case AdvertVerdict::kBadLength: return "bad_length";
        case AdvertVerdict::kBadChecksum: return "bad_checksum";
        case AdvertVerdict::kAddressMismatch: return "address_mismatch";
        case AdvertVerdict::kUnknownPeer: return "unknown_peer";
    }
    return "unknown";
}

uint16_t vrrp_checksum(Ipv4 source, Ipv4 destination, std::span<const uint8_t> vrrp) {
    // RFC 9568 §5.2.8: the pseudo-header of the IP version in use; for IPv4 that is
    // source, destination, zero, protocol and upper-layer length (as for UDP/TCP).
    uint32_t sum = (source >> 16) + (source & 0xffff) + (destination >> 16) +
                   (destination & 0xffff) + kIpProtoVrrp + uint32_t(vrrp.size());
    sum = sum_words(vrrp, sum);
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return uint16_t(~sum);
}

DecodedAdvert decode_advert(std::span<const uint8_t> packet) {
    DecodedAdvert out;
    auto fail = [&out](AdvertVerdict verdict) {
        out.verdict = verdict;
        return out;
    };

    // IPv4 header. Its own checksum and fragments are the kernel's job before a raw
    // socket sees the packet.
    if (packet.size() < kIpv4MinHeader) return fail(AdvertVerdict::kTruncated);
    const size_t ihl = size_t(packet[0] & 0x0f) * 4;
    if ((packet[0] >> 4) != 4 || ihl < kIpv4MinHeader) return fail(AdvertVerdict::kBadIpHeader);
    if (packet.size() < ihl) return fail(AdvertVerdict::kTruncated);
    const size_t total_len = load16(&packet[2]);
    if (total_len < ihl) return fail(AdvertVerdict::kBadIpHeader);
    if (packet.size() < total_len) return fail(AdvertVerdict::kTruncated);
    if (packet.size() > total_len && packet.size() > kEthernetMinPayload)
        return fail(AdvertVerdict::kBadLength);
    if (packet[9] != kIpProtoVrrp) return fail(AdvertVerdict::kBadProtocol);
    // RFC 9568 §7.1: MUST verify TTL 255, so an advert from beyond the LAN is dropped.
    if (packet[8] != kVrrpTtl) return fail(AdvertVerdict::kBadTtl);

    const Ipv4 source = load32(&packet[12]);
    const Ipv4 destination = load32(&packet[16]);
    const auto vrrp = packet.subspan(ihl, total_len - ihl);

    // RFC 9568 §7.1, in its order: version, complete packet, checksum; type from §5.2.2.
    if (vrrp.size() < kVrrpHeaderSize) return fail(AdvertVerdict::kTruncated);
    if ((vrrp[0] >> 4) != kVrrpVersion) return fail(AdvertVerdict::kBadVersion);
    if ((vrrp[0] & 0x0f) != kVrrpTypeAdvert) return fail(AdvertVerdict::kBadType);
    const size_t count = vrrp[3];
    if (count == 0) return fail(AdvertVerdict::kBadAddressCount);
    if (vrrp.size() != kVrrpHeaderSize + 4 * count) return fail(AdvertVerdict::kBadLength);
    if (vrrp_checksum(source, destination, vrrp) != 0) return fail(AdvertVerdict::kBadChecksum);

    Advert& advert = out.advert;
    advert.source = source;
    advert.destination = destination;
    advert.vrid = vrrp[1];
    advert.priority = vrrp[2];
    // §5.2.6: the top 4 bits are reserved and ignored on receipt.
    advert.max_advert_interval = std::chrono::milliseconds(10 * (load16(&vrrp[4]) & kVrrpMaxIntervalCs));
    advert.addresses.reserve(count);
    for (size_t i = 0; i < count; ++i)
        advert.addresses.push_back(load32(&vrrp[kVrrpHeaderSize + 4 * i]));
    out.verdict = AdvertVerdict::kOk;
    return out;
}

std::vector<uint8_t> encode_advert(const Advert& advert) {
    const size_t count = std::min(advert.addresses.size(), kVrrpMaxAddresses);
    std::vector<uint8_t> out(kVrrpHeaderSize + 4 * count, 0);
    const auto centis = std::clamp<int64_t>(advert.max_advert_interval.count() / 10, 1,
                                            kVrrpMaxIntervalCs);
    out[0] = uint8_t((kVrrpVersion << 4) | kVrrpTypeAdvert);
    out[1] = advert.vrid;
    out[2] = advert.priority;
    out[3] = uint8_t(count);
    store16(&out[4], uint16_t(centis));  // rsvd (4 bits) = 0
    for (size_t i = 0; i < count; ++i) store32(&out[kVrrpHeaderSize + 4 * i], advert.addresses[i]);
    store16(&out[6], vrrp_checksum(advert.source, advert.destination, out));
    return out;
}

}  // namespace ringlb
