// Gratuitous ARP frame builder (RFC 826 layout, RFC 9568 §6.4 usage). Pure.
#include "vrrp/garp.h"

#include <algorithm>

namespace ringlb {
namespace {

constexpr MacAddress kBroadcastMac = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
constexpr uint16_t kEtherTypeArp = 0x0806;
constexpr uint16_t kEtherTypeIpv4 = 0x0800;
constexpr uint16_t kArpHardwareEthernet = 1;
constexpr uint16_t kArpOpRequest = 1;

uint8_t* put16(uint8_t* p, uint16_t v) {
    p[0] = uint8_t(v >> 8);
    p[1] = uint8_t(v);
    return p + 2;
}

uint8_t* put_ipv4(uint8_t* p, Ipv4 v) {
    p = put16(p, uint16_t(v >> 16));
    return put16(p, uint16_t(v));
}

uint8_t* put_mac(uint8_t* p, const MacAddress& mac) { return std::copy(mac.begin(), mac.end(), p); }

}  // namespace

GarpFrame build_garp_frame(const MacAddress& sender_mac, Ipv4 vip) {
    GarpFrame frame{};
    uint8_t* p = frame.data();
    p = put_mac(p, kBroadcastMac);          // Ethernet destination
    p = put_mac(p, sender_mac);             // Ethernet source
    p = put16(p, kEtherTypeArp);
    p = put16(p, kArpHardwareEthernet);     // htype
    p = put16(p, kEtherTypeIpv4);           // ptype
    *p++ = 6;                               // hlen
    *p++ = 4;                               // plen
    p = put16(p, kArpOpRequest);
    p = put_mac(p, sender_mac);             // sender hardware address
    p = put_ipv4(p, vip);                   // sender protocol address
    p = put_mac(p, kBroadcastMac);          // target hardware address
    put_ipv4(p, vip);                       // target protocol address
    return frame;
}

MacAddress virtual_router_mac(uint8_t vrid) { return {0x00, 0x00, 0x5e, 0x00, 0x01, vrid}; }

}  // namespace ringlb
