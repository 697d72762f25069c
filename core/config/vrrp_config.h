// The configuration of one VRRP instance ([vrrp.NAME]) and the IPv4 address
// values it is made of. Part of the config model: plain values, no I/O. The VRRP
// code (vrrp/) builds on these; the config layer must not reach up into vrrp/.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace ringlb {

// IPv4 addresses are host-order uint32_t in the VRRP code: 10.99.7.1 == 0x0a630701.
using Ipv4 = uint32_t;

constexpr Ipv4 make_ipv4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
    return (Ipv4(a) << 24) | (Ipv4(b) << 16) | (Ipv4(c) << 8) | Ipv4(d);
}

// "10.99.7.1". For logs and transition reasons.
inline std::string format_ipv4(Ipv4 address) {
    return std::to_string(address >> 24) + '.' + std::to_string((address >> 16) & 0xff) + '.' +
           std::to_string((address >> 8) & 0xff) + '.' + std::to_string(address & 0xff);
}

// A virtual address as configured: "192.0.2.100/24".
struct Ipv4Prefix {
    Ipv4 address = 0;
    uint8_t prefix_len = 32;
    friend bool operator==(const Ipv4Prefix&, const Ipv4Prefix&) = default;
};

struct VrrpInstanceConfig {
    std::string name;                    // [vrrp.NAME]
    std::string interface;               // where adverts, VIPs and GARPs go
    uint8_t vrid = 1;                    // 1..255, same on both hosts
    uint8_t priority = 100;              // 1..255; 255 = address owner (always preempts)
    // Advertisement_Interval. The wire carries centiseconds (12 bits), so 10 ms ..
    // 40950 ms in steps of 10 ms; the config validator enforces that.
    std::chrono::milliseconds advert_interval{1000};
    std::vector<Ipv4Prefix> vips;        // carried in adverts in this order
    std::vector<int> vip_lines;          // the file line of each vip; empty when not read from a file
    bool preempt = true;                 // RFC 9568 Preempt_Mode
    // With preempt: how long a higher-priority backup keeps honouring a lower-priority
    // master's adverts after it first sees one, before it starts preempting (keepalived's
    // preempt_delay). 0 = preempt at once.
    std::chrono::milliseconds preempt_delay{0};
    std::vector<Ipv4> unicast_peers;     // empty = multicast to 224.0.0.18
    std::string track_listener;          // empty = track nothing
    // Subtracted from priority while the tracked listener has no healthy backend; the
    // runner computes the effective priority and calls on_priority_change.
    int track_weight = 0;
    // Gratuitous ARP on becoming master: one round at once, then garp_repeat more
    // rounds garp_interval apart (a single GARP is easily lost on a busy LAN).
    int garp_repeat = 3;
    std::chrono::milliseconds garp_interval{1000};
    // While MASTER, one more round every garp_refresh (0 = never). After a split brain
    // the lower master may yield to our advert without ever being heard, leaving the
    // LAN's ARP caches on its MAC; the refresh bounds how long that lasts.
    std::chrono::milliseconds garp_refresh{60000};
    std::string notify;                  // script run on state change; empty = none
    // Accept adverts whose address list differs from `vips` (RFC 9568 §7.1 lets the
    // receiver check it; keepalived does). false: such adverts are dropped and counted,
    // unless they come from an address owner (priority 255).
    bool accept_mismatched_addresses = false;
    std::string notify_user;             // the script runs as this user; empty = root, without capabilities
    int notify_line = 0;                 // line of `notify`, for --check's FILE:LINE
    int notify_user_line = 0;
    // This host's primary address on `interface`: the source of its adverts and the
    // tie-breaker between equal priorities (RFC 9568 §6.4.3).
    Ipv4 primary_address = 0;
    // Line of the [vrrp.NAME] header, for messages about this instance; 0 when the
    // instance was not read from a file.
    int line = 0;

    friend bool operator==(const VrrpInstanceConfig&, const VrrpInstanceConfig&) = default;
};

}  // namespace ringlb
