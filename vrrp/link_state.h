// What the VRRP runner decides from facts about the host: which address adverts go out
// from, whether an interface can carry VRRP, and an instance's fault state and
// effective priority from its inputs. Pure: vip_netlink and the runner gather the facts.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/base/result.h"
#include "vrrp/garp.h"
#include "vrrp/vrrp_types.h"

namespace ringlb {

// One network interface as rtnetlink reports it.
struct LinkInfo {
    int ifindex = 0;
    bool up = false;        // IFF_UP: administratively up
    bool running = false;   // IFF_RUNNING: up with carrier (operationally usable)
    std::optional<MacAddress> mac;  // unset for interfaces without an Ethernet address
};

// One IPv4 address on an interface.
struct InterfaceAddress {
    Ipv4 address = 0;
    uint8_t prefix_len = 32;
    bool secondary = false;  // IFA_F_SECONDARY: another address already covers its subnet
    friend bool operator==(const InterfaceAddress&, const InterfaceAddress&) = default;
};

// The address this host's adverts go out from when source_address is not configured:
// the first primary address that is not a VIP, else the first other non-VIP address,
// else 0. VIPs are skipped because they come and go with mastership (and one in a
// subnet of its own is listed as primary).
Ipv4 choose_primary_address(std::span<const InterfaceAddress> addresses, std::span<const Ipv4Prefix> vips);

// The address an instance's adverts go out from: source_address when configured (it
// must be one of `addresses`), else choose_primary_address(addresses, vips). A Failure
// says why there is none, naming the interface.
Result<Ipv4> advert_source_address(const VrrpInstanceConfig& config, std::span<const InterfaceAddress> addresses,
                                   std::span<const Ipv4Prefix> vips);

// The instance's VIPs that are on the interface now, each with the prefix length the
// interface holds it with (what a removal must name), in `addresses` order.
std::vector<Ipv4Prefix> vips_held(std::span<const InterfaceAddress> addresses, std::span<const Ipv4Prefix> vips);

// Why `interface` cannot carry VRRP right now, or "" when it can: it is missing, was
// re-created under another index, is down, has no carrier, or no longer holds `source`.
std::string interface_fault(const std::string& interface, const std::optional<LinkInfo>& link,
                            int expected_ifindex, std::span<const InterfaceAddress> addresses, Ipv4 source);

// Every VIP of every instance on `interface`: none of them may be chosen as the source.
std::vector<Ipv4Prefix> vips_on_interface(std::span<const VrrpInstanceConfig> configs, const std::string& interface);

// Where an instance's adverts go: each unicast peer, or 224.0.0.18 when there is none.
std::vector<Ipv4> advert_destinations(const VrrpInstanceConfig& config);

// Everything outside the state machine that can fault an instance or lower its priority.
struct HealthInputs {
    std::string interface_fault;         // from interface_fault(); "" = fine
    bool forwarder_stuck = false;        // a worker missed its heartbeats
    // The tracked listener has at least one healthy backend; unset until the daemon
    // first reports it, which counts as healthy (health checks have not run yet).
    std::optional<bool> listener_healthy;
};

struct InstanceHealth {
    bool faulted = false;
    std::string fault_reason;            // every cause, joined with "; "
    int effective_priority = 0;          // for VrrpInstance::on_priority_change
    friend bool operator==(const InstanceHealth&, const InstanceHealth&) = default;
};

// With track_listener set and the listener without a healthy backend: track_weight > 0
// lowers the priority by that much (the peer, if higher now and preempting, takes the
// VIP); track_weight 0 faults the instance instead (keepalived's weight-0 tracking).
InstanceHealth evaluate_health(const VrrpInstanceConfig& config, const HealthInputs& inputs);

}  // namespace ringlb
