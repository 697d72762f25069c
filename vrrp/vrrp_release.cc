// `ringlbd --release`: hands the VIPs of a daemon that is gone to the peer at graceful
// speed (systemd ExecStopPost). Declared in vrrp_runner.h next to the runner it stands in for.
#include <spdlog/spdlog.h>

#include <exception>
#include <optional>

#include "vrrp/link_state.h"
#include "vrrp/vip_netlink.h"
#include "vrrp/vrrp_fsm.h"
#include "vrrp/vrrp_packet.h"
#include "vrrp/vrrp_runner.h"
#include "vrrp/vrrp_socket.h"

namespace ringlb {
namespace {

// RFC 9568 §6.4.3 Shutdown: priority 0 tells the backup to take over after Skew_Time
// instead of waiting out Master_Down_Interval. Returns how the VIPs go, for the log.
// Throws std::runtime_error when the raw socket cannot be opened.
std::string send_stop_advert(const VrrpInstanceConfig& config, const LinkInfo& link) {
    if (config.primary_address == 0 || !link.up) return "without an advert (no source address)";
    const VrrpSocket socket = VrrpSocket::open(config.interface, link.ifindex, false);
    const VrrpInstance fsm(config);
    int failures = 0;
    for (Ipv4 destination : advert_destinations(config)) {
        const auto payload = encode_advert(fsm.build_advert(kVrrpPriorityStop, destination));
        if (socket.send(payload, config.primary_address, destination) != 0) ++failures;
    }
    return failures == 0 ? "after a priority-0 advert" : "(the priority-0 advert failed)";
}

// Releases one instance's VIPs if the interface holds any. True when it did; a Failure
// when the interface cannot be read. Throws as send_stop_advert does, before touching
// the VIPs.
Result<bool> release_instance(NetlinkRoute& netlink, VrrpInstanceConfig config,
                              const std::vector<VrrpInstanceConfig>& instances) {
    auto lookup = netlink.get_link(config.interface);
    if (!lookup) return fail(lookup.error());
    const std::optional<LinkInfo>& link = *lookup;
    if (!link) {
        spdlog::warn("vrrp {}: interface {} does not exist; nothing to release", config.name, config.interface);
        return false;
    }
    auto addresses = netlink.ipv4_addresses(link->ifindex);
    if (!addresses) return fail(addresses.error());
    const std::vector<Ipv4Prefix> held = vips_held(*addresses, config.vips);
    if (held.empty()) return false;

    if (config.primary_address == 0)
        config.primary_address = choose_primary_address(*addresses, vips_on_interface(instances, config.interface));
    const std::string how = send_stop_advert(config, *link);
    std::string removed;
    for (const Ipv4Prefix& vip : held) {
        if (auto result = netlink.remove_address(link->ifindex, vip); !result)
            spdlog::error("vrrp {}: cannot remove VIP {} from {}: {}", config.name, format_ipv4(vip.address),
                          config.interface, result.error());
        else
            removed += (removed.empty() ? "" : ",") + format_vip(vip);
    }
    spdlog::info("vrrp {}: released {} from {} {}", config.name, removed, config.interface, how);
    return true;
}

}  // namespace

int release_vips(const std::vector<VrrpInstanceConfig>& instances) {
    if (instances.empty()) return 0;
    NetlinkRoute netlink = NetlinkRoute::open();
    int released = 0;
    for (const VrrpInstanceConfig& config : instances) {
        std::string error;
        try {
            const Result<bool> result = release_instance(netlink, config, instances);
            if (!result) error = result.error();
            else if (*result) ++released;
        } catch (const std::exception& failure) {
            error = failure.what();
        }
        // Errors are this instance's alone: the next one is still tried.
        if (!error.empty()) spdlog::error("vrrp {}: cannot release: {}", config.name, error);
    }
    return released;
}

}  // namespace ringlb
