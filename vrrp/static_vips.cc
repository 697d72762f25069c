// VIPs that are static addresses of the host; see static_vips.h.
#include "vrrp/static_vips.h"

namespace ringlb {

std::vector<StaticVip> find_static_vips(const VrrpInstanceConfig& config, std::span<const HostAddress> host) {
    std::vector<StaticVip> found;
    for (size_t i = 0; i < config.vips.size(); ++i) {
        for (const HostAddress& held : host) {
            if (held.address != config.vips[i].address || held.proto == kVipAddressProto) continue;
            found.push_back({i, held});
            break;
        }
    }
    return found;
}

}  // namespace ringlb
