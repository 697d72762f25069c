// Host facts → VRRP decisions (source address, interface faults, health). Pure.
#include "vrrp/link_state.h"

#include <algorithm>

#include "vrrp/vrrp_packet.h"

namespace ringlb {

Ipv4 choose_primary_address(std::span<const InterfaceAddress> addresses, std::span<const Ipv4Prefix> vips) {
    auto is_vip = [&](Ipv4 address) {
        return std::any_of(vips.begin(), vips.end(), [&](const Ipv4Prefix& vip) { return vip.address == address; });
    };
    for (const InterfaceAddress& a : addresses)
        if (!a.secondary && !is_vip(a.address)) return a.address;
    for (const InterfaceAddress& a : addresses)
        if (!is_vip(a.address)) return a.address;
    return 0;
}

Result<Ipv4> advert_source_address(const VrrpInstanceConfig& config, std::span<const InterfaceAddress> addresses,
                                   std::span<const Ipv4Prefix> vips) {
    if (config.primary_address == 0) {
        const Ipv4 chosen = choose_primary_address(addresses, vips);
        if (chosen == 0)
            return fail("interface '" + config.interface +
                        "' has no IPv4 address of its own to send advertisements from");
        return chosen;
    }
    const bool present = std::any_of(addresses.begin(), addresses.end(),
                                     [&](const InterfaceAddress& a) { return a.address == config.primary_address; });
    if (!present)
        return fail("source_address " + format_ipv4(config.primary_address) + " is not an address of " +
                    config.interface);
    return config.primary_address;
}

std::vector<Ipv4Prefix> vips_held(std::span<const InterfaceAddress> addresses, std::span<const Ipv4Prefix> vips) {
    std::vector<Ipv4Prefix> held;
    for (const InterfaceAddress& address : addresses)
        for (const Ipv4Prefix& vip : vips)
            if (address.address == vip.address) held.push_back({address.address, address.prefix_len});
    return held;
}

std::vector<Ipv4Prefix> vips_on_interface(std::span<const VrrpInstanceConfig> configs, const std::string& interface) {
    std::vector<Ipv4Prefix> vips;
    for (const auto& config : configs)
        if (config.interface == interface) vips.insert(vips.end(), config.vips.begin(), config.vips.end());
    return vips;
}

std::vector<Ipv4> advert_destinations(const VrrpInstanceConfig& config) {
    if (config.unicast_peers.empty()) return {kVrrpMulticastGroup};
    return config.unicast_peers;
}

std::string interface_fault(const std::string& interface, const std::optional<LinkInfo>& link,
                            int expected_ifindex, std::span<const InterfaceAddress> addresses, Ipv4 source) {
    if (!link) return "interface " + interface + " is gone";
    // The raw socket is bound to the old device; the runner reopens it.
    if (link->ifindex != expected_ifindex) return "interface " + interface + " was re-created";
    if (!link->up) return "interface " + interface + " is down";
    if (!link->running) return "interface " + interface + " has no carrier";
    const bool has_source = std::any_of(addresses.begin(), addresses.end(),
                                        [&](const InterfaceAddress& a) { return a.address == source; });
    if (!has_source) return "address " + format_ipv4(source) + " is no longer on " + interface;
    return "";
}

InstanceHealth evaluate_health(const VrrpInstanceConfig& config, const HealthInputs& inputs) {
    InstanceHealth health;
    health.effective_priority = config.priority;
    std::vector<std::string> reasons;
    if (!inputs.interface_fault.empty()) reasons.push_back(inputs.interface_fault);
    if (inputs.forwarder_stuck) reasons.push_back("forwarder stuck (a worker missed its heartbeats)");
    const bool listener_down = !config.track_listener.empty() && inputs.listener_healthy == false;
    if (listener_down) {
        if (config.track_weight > 0)
            health.effective_priority = config.priority - config.track_weight;
        else
            reasons.push_back("listener '" + config.track_listener + "' has no healthy backend");
    }
    health.faulted = !reasons.empty();
    for (size_t i = 0; i < reasons.size(); ++i) health.fault_reason += (i ? "; " : "") + reasons[i];
    return health;
}

}  // namespace ringlb
