// Gratuitous ARP frame builder: the 42-byte Ethernet frame a new VRRP master broadcasts
// so hosts and switches on the LAN learn where a VIP now lives. Pure: the AF_PACKET
// sender (garp_sender) puts the bytes on the wire.
#pragma once

#include <array>
#include <cstdint>

#include "vrrp/vrrp_types.h"

namespace ringlb {

using MacAddress = std::array<uint8_t, 6>;

inline constexpr size_t kGarpFrameSize = 42;  // Ethernet 14 + ARP for IPv4 28, no padding
using GarpFrame = std::array<uint8_t, kGarpFrameSize>;

// An ARP request (RFC 9568 §6.4: "broadcast a gratuitous ARP request") from sender_mac
// announcing vip: Ethernet destination broadcast, sender = (sender_mac, vip), target
// protocol address = vip. The target hardware address is broadcast, byte for byte what
// keepalived sends (RFC 5227 §2.3 says receivers ignore that field).
GarpFrame build_garp_frame(const MacAddress& sender_mac, Ipv4 vip);

// RFC 9568 §7.3: the virtual router MAC 00-00-5E-00-01-{VRID}, for the caller that
// announces with it instead of the interface's own address.
MacAddress virtual_router_mac(uint8_t vrid);

}  // namespace ringlb
