// The raw IPv4 socket one VRRP instance speaks through (IP protocol 112, RFC 9568 §5.1):
// bound to one interface, TTL 255, multicast to 224.0.0.18 or unicast to peers. Bytes
// only; the codec (vrrp_packet.h) builds and judges them.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "core/base/unique_fd.h"
#include "vrrp/vrrp_types.h"

namespace ringlb {

class VrrpSocket {
public:
    // A nonblocking raw socket on `interface` (index `ifindex`): SO_BINDTODEVICE, IP_TTL
    // and IP_MULTICAST_TTL 255, multicast loop off, IP_TOS internetwork control (as
    // keepalived), and membership of 224.0.0.18 on that interface when `join_multicast`.
    // Throws std::runtime_error naming the interface and the cause; EPERM means the
    // process lacks CAP_NET_RAW.
    static VrrpSocket open(const std::string& interface, int ifindex, bool join_multicast);

    VrrpSocket() = default;
    int fd() const { return fd_.get(); }

    // Sends `vrrp` (an encoded advert, whose checksum covers `source` and
    // `destination`) from `source`, which must be an address of this host. The kernel
    // adds the IP header. Returns 0 or an errno value.
    int send(std::span<const uint8_t> vrrp, Ipv4 source, Ipv4 destination) const;

    // Reads one queued packet, IP header included (raw sockets deliver it), into
    // `buffer`. Returns its length (the full length if it was cut), 0 when nothing is
    // queued, or −errno.
    ssize_t receive(std::span<uint8_t> buffer) const;

private:
    explicit VrrpSocket(UniqueFd fd) : fd_(std::move(fd)) {}
    UniqueFd fd_;
};

}  // namespace ringlb
