// Which of an instance's VIPs the host already holds as an address of its own (a
// static address the operator or the network configuration put there), as opposed to
// one ringlbd added: ringlbd marks what it adds with kVipAddressProto (IFA_PROTO), so
// a VIP without that mark is not ours to add or remove. Pure: vip_netlink reads the
// addresses, vrrp_check turns the answer into FILE:LINE errors.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "vrrp/vrrp_types.h"

namespace ringlb {

// The IFA_PROTO value on every address ringlbd adds (vip_netlink's add_address). The
// kernel keeps it since Linux 6.1 and shows it in RTM_GETADDR dumps; values 0..3 are
// the kernel's own (IFAPROT_*), so 0x52 ('R') is free for us.
inline constexpr uint8_t kVipAddressProto = 0x52;

// One IPv4 address of the host, on any interface, as rtnetlink dumps it.
struct HostAddress {
    int ifindex = 0;
    Ipv4 address = 0;
    uint8_t prefix_len = 32;
    uint8_t proto = 0;  // IFA_PROTO; 0 when unset (every address not added with one)
    friend bool operator==(const HostAddress&, const HostAddress&) = default;
};

// A VIP of the instance that the host holds without ringlbd's mark.
struct StaticVip {
    size_t vip_index = 0;  // into VrrpInstanceConfig::vips (and vip_lines)
    HostAddress held;      // where and how the host holds it
};

// The instance's VIPs that are addresses of the host on any interface without
// kVipAddressProto, in `vips` order. A VIP held with the mark is ours (held now, or left
// by a crashed run) whatever its interface, and is not reported.
std::vector<StaticVip> find_static_vips(const VrrpInstanceConfig& config, std::span<const HostAddress> host);

}  // namespace ringlb
