// The choice of connections to reset at stop; see released_vips.h.
#include "core/forward/released_vips.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>

namespace ringlb {

bool on_released_vip(const sockaddr_storage& local, std::span<const uint32_t> released) noexcept {
    uint32_t address = 0;
    if (local.ss_family == AF_INET) {
        sockaddr_in v4;
        std::memcpy(&v4, &local, sizeof v4);
        address = ntohl(v4.sin_addr.s_addr);
    } else if (local.ss_family == AF_INET6) {
        sockaddr_in6 v6;
        std::memcpy(&v6, &local, sizeof v6);
        if (!IN6_IS_ADDR_V4MAPPED(&v6.sin6_addr)) return false;
        uint32_t network_order;
        std::memcpy(&network_order, &v6.sin6_addr.s6_addr[12], sizeof network_order);
        address = ntohl(network_order);
    } else {
        return false;
    }
    return std::find(released.begin(), released.end(), address) != released.end();
}

std::vector<uint32_t> select_released(std::span<const LocalEndpoint> endpoints, std::span<const uint32_t> released) {
    std::vector<uint32_t> slots;
    if (released.empty()) return slots;
    for (const LocalEndpoint& endpoint : endpoints)
        if (on_released_vip(endpoint.local, released)) slots.push_back(endpoint.slot);
    return slots;
}

}  // namespace ringlb
