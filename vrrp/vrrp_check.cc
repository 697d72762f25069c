// Host checks of [vrrp.NAME] sections; see vrrp_check.h.
#include "vrrp/vrrp_check.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <exception>

#include "vrrp/link_state.h"
#include "vrrp/vip_netlink.h"

namespace ringlb {

std::vector<ConfigError> check_vrrp_interfaces(const Config& config) {
    std::vector<ConfigError> errors;
    if (config.vrrp.empty()) return errors;
    auto error = [&](const VrrpInstanceConfig& vrrp, const std::string& message) {
        errors.push_back({config.source_file, vrrp.line, "vrrp '" + vrrp.name + "': " + message});
    };
    try {
        NetlinkRoute netlink = NetlinkRoute::open();
        for (const VrrpInstanceConfig& vrrp : config.vrrp) {
            auto link = netlink.get_link(vrrp.interface);
            if (!link) {
                error(vrrp, "interface '" + vrrp.interface + "' does not exist");
                continue;
            }
            const auto addresses = netlink.ipv4_addresses(link->ifindex);
            if (vrrp.primary_address != 0) {
                if (std::none_of(addresses.begin(), addresses.end(),
                                 [&](const InterfaceAddress& a) { return a.address == vrrp.primary_address; }))
                    error(vrrp, "source_address " + format_ipv4(vrrp.primary_address) + " is not an address of " +
                                    vrrp.interface);
            } else if (choose_primary_address(addresses, vrrp.vips) == 0) {
                error(vrrp, "interface '" + vrrp.interface +
                                "' has no IPv4 address of its own to send advertisements from");
            }
        }
    } catch (const std::exception& failure) {
        errors.push_back({config.source_file, 0, std::string("cannot check VRRP interfaces: ") + failure.what()});
    }
    return errors;
}

std::vector<ConfigError> check_vrrp_notify_scripts(const Config& config) {
    std::vector<ConfigError> errors;
    for (const VrrpInstanceConfig& vrrp : config.vrrp) {
        if (vrrp.notify.empty()) continue;
        const std::string label = "vrrp '" + vrrp.name + "': notify script " + vrrp.notify;
        struct stat info {};
        if (::stat(vrrp.notify.c_str(), &info) < 0) {
            errors.push_back({config.source_file, vrrp.line, label + ": " + std::strerror(errno)});
        } else if (!S_ISREG(info.st_mode)) {
            errors.push_back({config.source_file, vrrp.line, label + " is not a regular file"});
        } else if (::access(vrrp.notify.c_str(), X_OK) < 0) {
            errors.push_back({config.source_file, vrrp.line, label + " is not executable"});
        }
    }
    return errors;
}

}  // namespace ringlb
