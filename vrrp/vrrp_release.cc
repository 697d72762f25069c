// `ringlbd --release`: hands the VIPs of a daemon that is gone to the peer at graceful
// speed (systemd ExecStopPost). Declared in vrrp_runner.h next to the runner it stands in for.
#include <net/if.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <exception>
#include <optional>

#include "vrrp/link_state.h"
#include "vrrp/runner_setup.h"
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
std::string send_stop_advert(const VrrpInstanceConfig& config, int ifindex) {
    const VrrpSocket socket = VrrpSocket::open(config.interface, ifindex, false);
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
    const std::string how = config.primary_address == 0 || !link->up
                                ? "without an advert (no source address)"
                                : send_stop_advert(config, link->ifindex);
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

// What a priority-0 advert needs, as the state file recorded it.
VrrpInstanceConfig advert_config(const HeldInstance& held) {
    VrrpInstanceConfig config;
    config.name = held.name;
    config.interface = held.interface;
    config.vrid = held.vrid;
    config.primary_address = held.source;
    config.advert_interval = std::chrono::milliseconds(held.advert_interval_cs * 10);
    config.unicast_peers = held.unicast_peers;
    for (Ipv4 address : held.announced) config.vips.push_back({address, 32});
    return config;
}

}  // namespace

std::vector<std::string> release_recorded(const std::string& path) {
    auto read = read_held_vips_file(path);
    if (!read) {
        spdlog::error("ringlbd --release: {}; releasing what the config names", read.error());
        return {};
    }
    if (!*read) return {};
    const std::vector<HeldInstance>& held = **read;
    // RFC 5798 §6.4.3: the adverts first, for every instance, before anything slower
    // (netlink, the config): the peer's Skew_Time starts when it hears them.
    for (const HeldInstance& instance : held) {
        const unsigned ifindex = ::if_nametoindex(instance.interface.c_str());
        std::string how = "without an advert (interface " + instance.interface + " is gone)";
        if (ifindex != 0) {
            try {
                how = send_stop_advert(advert_config(instance), int(ifindex));
            } catch (const std::exception& failure) {
                how = std::string("without an advert (") + failure.what() + ")";
            }
        }
        spdlog::info("vrrp {}: handed over from the state file {} on {}", instance.name, how, instance.interface);
    }
    try {
        NetlinkRoute netlink = NetlinkRoute::open();
        RecordedRemoval removal = remove_recorded_vips(netlink, held, "ringlbd --release");
        // Kept while anything listed may still be on an interface: the next start retries.
        if (removal.complete && ::unlink(path.c_str()) != 0 && errno != ENOENT)
            spdlog::warn("ringlbd --release: cannot remove {}: {}", path, std::strerror(errno));
        return removal.released;
    } catch (const std::exception& failure) {
        spdlog::error("ringlbd --release: {}", failure.what());
        return {};
    }
}

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
