// Puts gratuitous ARP frames (built by garp.h) on an interface through an AF_PACKET
// socket. Send-only: the socket is opened with protocol 0, so it receives nothing.
#pragma once

#include "core/base/unique_fd.h"
#include "vrrp/garp.h"

namespace ringlb {

class GarpSender {
public:
    // Throws std::runtime_error; EPERM means the process lacks CAP_NET_RAW.
    static GarpSender open();

    GarpSender() = default;
    // Sends the whole Ethernet frame out of interface `ifindex`. Returns 0 or an errno
    // value (ENETDOWN while the link is down, for one).
    int send(int ifindex, const GarpFrame& frame) const;

private:
    explicit GarpSender(UniqueFd fd) : fd_(std::move(fd)) {}
    UniqueFd fd_;
};

}  // namespace ringlb
