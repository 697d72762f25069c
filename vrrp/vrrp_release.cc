// `ringlbd --release`: hands the VIPs of a daemon that is gone to the peer at graceful
// speed (systemd ExecStopPost). Declared in vrrp_runner.h next to the runner it stands in for.
#include <spdlog/spdlog.h>

#include <stdexcept>

#include "vrrp/link_state.h"
#include "vrrp/vip_netlink.h"
#include "vrrp/vrrp_fsm.h"
#include "vrrp/vrrp_packet.h"
#include "vrrp/vrrp_runner.h"
#include "vrrp/vrrp_socket.h"

namespace ringlb {

int release_vips(const std::vector<VrrpInstanceConfig>& instances) {
    if (instances.empty()) return 0;
    NetlinkRoute netlink = NetlinkRoute::open();
    int released = 0;
    for (VrrpInstanceConfig config : instances) {
        try {
            auto link = netlink.get_link(config.interface);
            if (!link) {
                spdlog::warn("vrrp {}: interface {} does not exist; nothing to release", config.name, config.interface);
                continue;
            }
            const auto addresses = netlink.ipv4_addresses(link->ifindex);
            std::vector<Ipv4Prefix> held;
            for (const InterfaceAddress& address : addresses)
                for (const Ipv4Prefix& vip : config.vips)
                    if (vip.address == address.address) held.push_back({address.address, address.prefix_len});
            if (held.empty()) continue;

            if (config.primary_address == 0)
                config.primary_address = choose_primary_address(addresses, vips_on_interface(instances, config.interface));
            std::string how = "without an advert (no source address)";
            if (config.primary_address != 0 && link->up) {
                // RFC 5798 §6.4.3 Shutdown: priority 0 tells the backup to take over after
                // Skew_Time instead of waiting out Master_Down_Interval.
                const VrrpSocket socket = VrrpSocket::open(config.interface, link->ifindex, false);
                const VrrpInstance fsm(config);
                int failures = 0;
                for (Ipv4 destination : advert_destinations(config)) {
                    const auto payload = encode_advert(fsm.build_advert(kVrrpPriorityStop, destination));
                    if (socket.send(payload, config.primary_address, destination) != 0) ++failures;
                }
                how = failures == 0 ? "after a priority-0 advert" : "(the priority-0 advert failed)";
            }
            std::string removed;
            for (const Ipv4Prefix& vip : held) {
                if (std::string error = netlink.remove_address(link->ifindex, vip); !error.empty())
                    spdlog::error("vrrp {}: cannot remove VIP {} from {}: {}", config.name, format_ipv4(vip.address),
                                  config.interface, error);
                else
                    removed += (removed.empty() ? "" : ",") + format_ipv4(vip.address) + "/" +
                               std::to_string(vip.prefix_len);
            }
            spdlog::info("vrrp {}: released {} from {} {}", config.name, removed, config.interface, how);
            ++released;
        } catch (const std::exception& failure) {
            spdlog::error("vrrp {}: cannot release: {}", config.name, failure.what());
        }
    }
    return released;
}

}  // namespace ringlb
