// VRRPv3 advertisement codec for IPv4 (RFC 9568 §5): decodes a raw-socket packet (IP
// header included) into a typed verdict plus the advert, and encodes the VRRP payload
// (the kernel builds the IP header on send). Pure: no sockets, no clock, no logging.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "vrrp/vrrp_types.h"

namespace ringlb {

inline constexpr uint8_t kIpProtoVrrp = 112;             // RFC 9568 §5.1.1.4
inline constexpr uint8_t kVrrpTtl = 255;                 // RFC 9568 §5.1.1.3
inline constexpr Ipv4 kVrrpMulticastGroup = make_ipv4(224, 0, 0, 18);  // §5.1.1.2
inline constexpr uint8_t kVrrpVersion = 3;
inline constexpr uint8_t kVrrpTypeAdvert = 1;
inline constexpr size_t kVrrpHeaderSize = 8;             // up to and including checksum
inline constexpr size_t kVrrpMaxAddresses = 255;         // the count field is 8 bits
inline constexpr uint16_t kVrrpMaxIntervalCs = 0x0fff;   // 12 bits of centiseconds

// Why a received packet was accepted or dropped: one value per RFC 9568 §7.1 check,
// so the caller can count and rate-limit-log each reason. decode_advert judges the
// packet alone; the last two need the instance's configuration and come from
// judge_advert (advert_filter.h). VRID and priority are the state machine's business.
enum class AdvertVerdict {
    kOk,
    kTruncated,        // fewer bytes than the IP header or its total length announce
    kBadIpHeader,      // not IPv4, IHL < 5, or total length shorter than the header
    kBadProtocol,      // IP protocol is not 112
    kBadTtl,           // TTL is not 255: the packet crossed a router (§5.1.1.3)
    kBadVersion,       // VRRP version is not 3 (a VRRPv2 speaker, for instance)
    kBadType,          // VRRP type is not 1 (ADVERTISEMENT)
    kBadAddressCount,  // Count IPvX Addr is 0 (§5.2.5: the minimum is 1)
    kBadLength,        // VRRP length disagrees with the count, or stray trailing bytes
    kBadChecksum,      // one's-complement sum over pseudo-header + VRRP is not 0xffff
    kAddressMismatch,  // our VRID, but its address list is not ours (§7.1 MAY check; keepalived does)
    kUnknownPeer,      // our VRID from a source that is not one of the configured unicast peers
};

inline constexpr size_t kAdvertVerdictCount = size_t(AdvertVerdict::kUnknownPeer) + 1;

// For people: "TTL is not 255". For metric labels and JSON keys: "bad_ttl".
const char* to_string(AdvertVerdict verdict);
const char* to_label(AdvertVerdict verdict);

struct DecodedAdvert {
    AdvertVerdict verdict = AdvertVerdict::kTruncated;
    Advert advert;     // filled only when verdict == kOk
};

// `packet` is the whole IPv4 packet (IP header + VRRP payload). Trailing bytes past the
// IP total length are accepted only as Ethernet minimum-frame padding (packet no
// longer than 46 bytes), as keepalived does.
DecodedAdvert decode_advert(std::span<const uint8_t> packet);

// The VRRP payload for `advert` (8 + 4 × addresses bytes) with its checksum computed
// over the IPv4 pseudo-header built from advert.source and advert.destination
// (RFC 9568 §5.2.8). advert.max_advert_interval is sent in whole centiseconds,
// rounded down and clamped to 1..4095; more than 255 addresses are cut to 255.
// Reserved bits are sent as zero.
std::vector<uint8_t> encode_advert(const Advert& advert);

// RFC 9568 §5.2.8 / RFC 1071: the one's-complement checksum over the IPv4 pseudo-header
// (source, destination, zero, protocol 112, VRRP length) and `vrrp` as given. Over a
// payload whose checksum field is zero it yields the value to store; over a received
// payload it yields 0 when the checksum is right.
uint16_t vrrp_checksum(Ipv4 source, Ipv4 destination, std::span<const uint8_t> vrrp);

}  // namespace ringlb
