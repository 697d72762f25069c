// Opening the VRRP runner's instances at start; see runner_setup.h.
#include "vrrp/runner_setup.h"

#include <stdexcept>

#include <spdlog/spdlog.h>

#include "vrrp/vrrp_packet.h"

namespace ringlb {
namespace {

std::runtime_error instance_error(const VrrpInstanceConfig& config, const std::string& what) {
    return std::runtime_error("vrrp " + config.name + ": " + what);
}

template <class T>
T value_or_throw(const VrrpInstanceConfig& config, Result<T> result) {
    if (!result) throw instance_error(config, result.error());
    return std::move(*result);
}

// A crashed run may have left VIPs behind; an instance must start without them (RFC 9568
// §6.4.1: a backup does not own the addresses). When none is there, removing one anyway
// tells now rather than at the first takeover whether we may change addresses: removing
// an absent VIP succeeds only with that right.
void remove_stale_vips(NetlinkRoute& netlink, const VrrpInstanceConfig& config, int ifindex,
                       const std::vector<InterfaceAddress>& addresses) {
    auto remove = [&](const Ipv4Prefix& vip) {
        if (auto result = netlink.remove_address(ifindex, vip); !result)
            throw instance_error(config, "cannot remove VIP " + format_ipv4(vip.address) + " from " + config.interface +
                                             ": " + result.error() + " (needs root or CAP_NET_ADMIN)");
    };
    const std::vector<Ipv4Prefix> stale = vips_held(addresses, config.vips);
    for (const Ipv4Prefix& vip : stale) {
        remove(vip);
        spdlog::warn("vrrp {}: removed VIP {} left on {} by an earlier run", config.name, format_vip(vip),
                     config.interface);
    }
    if (stale.empty() && !config.vips.empty()) remove(config.vips.front());
}

}  // namespace

std::unique_ptr<RunnerInstance> open_instance(const VrrpInstanceConfig& configured, const LinkInfo& link,
                                              std::span<const Ipv4Prefix> not_sources, NetlinkRoute& netlink) {
    VrrpInstanceConfig config = configured;
    const auto addresses = value_or_throw(config, netlink.ipv4_addresses(link.ifindex));
    config.primary_address = value_or_throw(config, advert_source_address(config, addresses, not_sources));
    auto instance = std::make_unique<RunnerInstance>(config);
    instance->ifindex = link.ifindex;
    instance->mac = link.mac;
    instance->socket = VrrpSocket::open(config.interface, link.ifindex, config.unicast_peers.empty());
    instance->interface_fault = interface_fault(config.interface, link, link.ifindex, addresses, config.primary_address);
    instance->applied.effective_priority = config.priority;
    spdlog::info("vrrp {}: vrid {} priority {} on {} from {}, {} {}", config.name, config.vrid, config.priority,
                 config.interface, format_ipv4(config.primary_address),
                 config.unicast_peers.empty() ? "multicast" : "unicast to",
                 config.unicast_peers.empty() ? format_ipv4(kVrrpMulticastGroup) : format_ipv4_list(config.unicast_peers));
    return instance;
}

LinkInfo find_link(const VrrpInstanceConfig& config, NetlinkRoute& netlink) {
    const std::optional<LinkInfo> link = value_or_throw(config, netlink.get_link(config.interface));
    if (!link) throw instance_error(config, "interface " + config.interface + " does not exist");
    return *link;
}

void remove_stale_vips(const VrrpInstanceConfig& config, int ifindex, NetlinkRoute& netlink) {
    remove_stale_vips(netlink, config, ifindex, value_or_throw(config, netlink.ipv4_addresses(ifindex)));
}

RecordedRemoval remove_recorded_vips(NetlinkRoute& netlink, const std::vector<HeldInstance>& held,
                                     const std::string& who) {
    RecordedRemoval result;
    for (const HeldInstance& instance : held) {
        auto link = netlink.get_link(instance.interface);
        if (!link || !*link) {
            if (!link) result.complete = false;
            spdlog::warn("{}: {}: interface {} {}; its recorded VIPs stay as they are", who, instance.name,
                         instance.interface, link ? "does not exist" : "cannot be read: " + link.error());
            continue;
        }
        auto addresses = netlink.ipv4_addresses((*link)->ifindex);
        if (!addresses) {
            result.complete = false;
            spdlog::error("{}: {}: cannot read the addresses of {}: {}", who, instance.name, instance.interface,
                          addresses.error());
            continue;
        }
        std::string removed;
        for (const Ipv4Prefix& vip : vips_held(*addresses, instance.held)) {
            if (auto removal = netlink.remove_address((*link)->ifindex, vip); !removal) {
                result.complete = false;
                spdlog::error("{}: {}: cannot remove VIP {} from {}: {}", who, instance.name, format_vip(vip),
                              instance.interface, removal.error());
                continue;
            }
            removed += (removed.empty() ? "" : ",") + format_vip(vip);
        }
        if (removed.empty()) continue;
        result.released.push_back(instance.name);
        spdlog::warn("{}: {}: removed {} from {}, recorded as held by a run that did not stop cleanly", who,
                     instance.name, removed, instance.interface);
    }
    return result;
}

std::vector<std::unique_ptr<RunnerInstance>> open_instances(const std::vector<VrrpInstanceConfig>& configs,
                                                            NetlinkRoute& netlink) {
    // Every instance's stale VIPs go before any source address is chosen, so that none
    // of them is taken for this host's own address.
    std::vector<LinkInfo> links;
    for (const VrrpInstanceConfig& config : configs) {
        links.push_back(find_link(config, netlink));
        remove_stale_vips(config, links.back().ifindex, netlink);
    }
    std::vector<std::unique_ptr<RunnerInstance>> instances;
    for (size_t i = 0; i < configs.size(); ++i)
        instances.push_back(
            open_instance(configs[i], links[i], vips_on_interface(configs, configs[i].interface), netlink));
    return instances;
}

}  // namespace ringlb
