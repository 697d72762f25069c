// Which connections a stop resets because their local address is a VIP the VRRP thread
// has just released (DESIGN §9, issue 18 item 5): the clients' packets now go to the
// peer, so they can never finish here. Pure: local addresses in, a decision out; the
// worker reads the addresses (getsockname) and closes what this selects.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <span>
#include <vector>

namespace ringlb {

// A live connection's slot and the local address its client connected to.
struct LocalEndpoint {
    uint32_t slot = 0;
    sockaddr_storage local{};
};

// True when `local` is one of `released` (IPv4, host byte order): an AF_INET address, or
// an IPv4-mapped AF_INET6 one (::ffff:a.b.c.d, a listener bound on [::]). Anything else,
// a native IPv6 address or an unknown family, is never released.
bool on_released_vip(const sockaddr_storage& local, std::span<const uint32_t> released) noexcept;

// The slots of `endpoints` whose local address is released, in the order given.
std::vector<uint32_t> select_released(std::span<const LocalEndpoint> endpoints, std::span<const uint32_t> released);

}  // namespace ringlb
