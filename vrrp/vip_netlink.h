// rtnetlink through libnl-route-3: VIPs on and off an interface, the interface's state
// and addresses, and a socket that wakes the VRRP thread when links or addresses change.
// Decisions made from these facts live in link_state.h.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/base/result.h"
#include "core/base/unique_fd.h"
#include "vrrp/link_state.h"
#include "vrrp/static_vips.h"

struct nl_sock;

namespace ringlb {

// One libnl route socket (move-only; freed once). Calls block for the kernel's answer,
// which rtnetlink gives at once. Not thread-safe: one owner thread. A request the kernel
// refuses is a Failure carrying libnl's message; only open() throws (start-up).
class NetlinkRoute {
public:
    // Throws std::runtime_error when the socket cannot be made.
    static NetlinkRoute open();

    NetlinkRoute(NetlinkRoute&& other) noexcept;
    NetlinkRoute& operator=(NetlinkRoute&& other) noexcept;
    NetlinkRoute(const NetlinkRoute&) = delete;
    NetlinkRoute& operator=(const NetlinkRoute&) = delete;
    ~NetlinkRoute();

    // nullopt when there is no such interface; a Failure when the kernel cannot be
    // asked at all.
    Result<std::optional<LinkInfo>> get_link(const std::string& name);

    // The interface's IPv4 addresses in kernel order; a Failure when the dump fails.
    Result<std::vector<InterfaceAddress>> ipv4_addresses(int ifindex);

    // Every IPv4 address of the host, on every interface, with its IFA_PROTO; a Failure
    // when the dump fails.
    Result<std::vector<HostAddress>> host_ipv4_addresses();

    // Adds `prefix` to the interface, marked with IFA_PROTO kVipAddressProto (static_vips.h);
    // an address that is already there counts as added.
    Result<void> add_address(int ifindex, const Ipv4Prefix& prefix);
    // Removes `prefix`; an address that is not there counts as removed.
    Result<void> remove_address(int ifindex, const Ipv4Prefix& prefix);

private:
    explicit NetlinkRoute(nl_sock* sock) : sock_(sock) {}
    nl_sock* sock_ = nullptr;
};

// A nonblocking NETLINK_ROUTE socket subscribed to link and IPv4 address changes. The
// runner polls its fd and, when it is readable, drains it and asks NetlinkRoute again:
// the messages are a wake-up, not a source of truth (a lost one is caught by the next).
class LinkWatch {
public:
    // Throws std::runtime_error when the socket cannot be made.
    static LinkWatch open();
    int fd() const { return fd_.get(); }
    // Reads and discards everything queued; returns true when anything was (or an
    // overflow means something may have been) lost.
    bool drain();

private:
    explicit LinkWatch(UniqueFd fd) : fd_(std::move(fd)) {}
    UniqueFd fd_;
};

}  // namespace ringlb
