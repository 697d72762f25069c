// Host checks of [vrrp.NAME] sections; see vrrp_check.h.
#include "vrrp/vrrp_check.h"

#include <net/if.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <exception>
#include <optional>
#include <stdexcept>

#include "vrrp/link_state.h"
#include "vrrp/static_vips.h"
#include "vrrp/notify_security.h"
#include "vrrp/vip_netlink.h"

namespace ringlb {

std::vector<ConfigError> check_vrrp_interfaces(const Config& config) {
    std::vector<ConfigError> errors;
    if (config.vrrp.empty()) return errors;
    auto cannot_check = [&](const std::string& why) {
        errors.push_back({config.source_file, 0, "cannot check VRRP interfaces: " + why});
        return errors;
    };
    std::optional<NetlinkRoute> netlink;
    try {
        netlink = NetlinkRoute::open();
    } catch (const std::exception& failure) {
        return cannot_check(failure.what());
    }
    for (const VrrpInstanceConfig& vrrp : config.vrrp) {
        const std::string label = "vrrp '" + vrrp.name + "': ";
        auto lookup = netlink->get_link(vrrp.interface);
        if (!lookup) return cannot_check(lookup.error());
        const std::optional<LinkInfo>& link = *lookup;
        if (!link) {
            errors.push_back({config.source_file, vrrp.line, label + "interface '" + vrrp.interface + "' does not exist"});
            continue;
        }
        auto addresses = netlink->ipv4_addresses(link->ifindex);
        if (!addresses) return cannot_check(addresses.error());
        if (auto source = advert_source_address(vrrp, *addresses, vrrp.vips); !source)
            errors.push_back({config.source_file, vrrp.line, label + source.error()});
    }
    return errors;
}

std::vector<ConfigError> check_vrrp_static_vips(const Config& config) {
    std::vector<ConfigError> errors;
    if (config.vrrp.empty()) return errors;
    std::vector<HostAddress> host;
    try {
        auto dumped = NetlinkRoute::open().host_ipv4_addresses();
        if (!dumped) throw std::runtime_error(dumped.error());
        host = std::move(*dumped);
    } catch (const std::exception& failure) {
        errors.push_back({config.source_file, 0, std::string("cannot check the host's addresses: ") + failure.what()});
        return errors;
    }
    for (const VrrpInstanceConfig& vrrp : config.vrrp) {
        for (const StaticVip& found : find_static_vips(vrrp, host)) {
            char name[IF_NAMESIZE] = {};
            const std::string interface =
                ::if_indextoname(unsigned(found.held.ifindex), name) ? name : "#" + std::to_string(found.held.ifindex);
            const int line = found.vip_index < vrrp.vip_lines.size() ? vrrp.vip_lines[found.vip_index] : vrrp.line;
            errors.push_back({config.source_file, line,
                              "vrrp '" + vrrp.name + "': vip " + format_ipv4(found.held.address) +
                                  " is already an address of this host (" + interface + ", /" +
                                  std::to_string(found.held.prefix_len) +
                                  ") that ringlbd did not add: it would remove it whenever it is backup; "
                                  "use another address, or remove it from " + interface + " first"});
        }
    }
    return errors;
}

std::vector<ConfigError> check_vrrp_notify_scripts(const Config& config) {
    std::vector<ConfigError> errors;
    for (const VrrpInstanceConfig& vrrp : config.vrrp) {
        if (vrrp.notify.empty()) continue;
        const std::string label = "vrrp '" + vrrp.name + "': notify script " + vrrp.notify;
        const int line = vrrp.notify_line ? vrrp.notify_line : vrrp.line;
        if (Result<void> trusted = check_notify_script(vrrp.notify); !trusted)
            errors.push_back({config.source_file, line, label + ": " + trusted.error()});
        if (vrrp.notify_user.empty()) continue;
        if (Result<NotifyUser> user = resolve_notify_user(vrrp.notify_user); !user)
            errors.push_back({config.source_file, vrrp.notify_user_line ? vrrp.notify_user_line : vrrp.line,
                              "vrrp '" + vrrp.name + "': " + user.error()});
    }
    return errors;
}

}  // namespace ringlb
