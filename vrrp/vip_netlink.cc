// rtnetlink adapters for the VRRP thread (libnl-route-3 for requests, a raw
// NETLINK_ROUTE socket for change notifications). See vip_netlink.h.
#include "vrrp/vip_netlink.h"

#include <arpa/inet.h>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <netlink/addr.h>
#include <netlink/cache.h>
#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <utility>

namespace ringlb {
namespace {

struct LinkPut {
    void operator()(rtnl_link* link) const { rtnl_link_put(link); }
};
struct AddrPut {
    void operator()(rtnl_addr* addr) const { rtnl_addr_put(addr); }
};
struct NlAddrPut {
    void operator()(nl_addr* addr) const { nl_addr_put(addr); }
};
struct CacheFree {
    void operator()(nl_cache* cache) const { nl_cache_free(cache); }
};
struct CbPut {
    void operator()(nl_cb* cb) const { nl_cb_put(cb); }
};

std::string nl_message(int error) { return nl_geterror(error); }

// NL_CB_VALID handler of host_ipv4_addresses: one RTM_NEWADDR of the dump into the
// vector behind `arg`. libnl's rtnl_addr does not read IFA_PROTO, hence the raw parse.
int collect_host_address(nl_msg* msg, void* arg) {
    nlmsghdr* header = nlmsg_hdr(msg);
    if (header->nlmsg_type != RTM_NEWADDR) return NL_OK;
    const auto* ifa = static_cast<const ifaddrmsg*>(nlmsg_data(header));
    if (ifa->ifa_family != AF_INET) return NL_OK;
    nlattr* attrs[IFA_MAX + 1] = {};
    if (nlmsg_parse(header, sizeof(ifaddrmsg), attrs, IFA_MAX, nullptr) < 0) return NL_SKIP;
    const nlattr* local = attrs[IFA_LOCAL] != nullptr ? attrs[IFA_LOCAL] : attrs[IFA_ADDRESS];
    if (local == nullptr || nla_len(local) != 4) return NL_OK;
    uint32_t network_order = 0;
    std::memcpy(&network_order, nla_data(local), 4);
    HostAddress address;
    address.ifindex = int(ifa->ifa_index);
    address.address = ntohl(network_order);
    address.prefix_len = ifa->ifa_prefixlen;
    address.proto = attrs[IFA_PROTO] != nullptr ? nla_get_u8(attrs[IFA_PROTO]) : 0;
    static_cast<std::vector<HostAddress>*>(arg)->push_back(address);
    return NL_OK;
}

// An rtnl_addr naming `prefix` on `ifindex`, for add and delete requests.
std::unique_ptr<rtnl_addr, AddrPut> make_addr(int ifindex, const Ipv4Prefix& prefix) {
    std::unique_ptr<rtnl_addr, AddrPut> addr(rtnl_addr_alloc());
    if (!addr) return addr;
    const uint32_t network_order = htonl(prefix.address);
    std::unique_ptr<nl_addr, NlAddrPut> local(nl_addr_build(AF_INET, &network_order, sizeof network_order));
    if (!local) return nullptr;
    rtnl_addr_set_ifindex(addr.get(), ifindex);
    rtnl_addr_set_family(addr.get(), AF_INET);
    if (rtnl_addr_set_local(addr.get(), local.get()) < 0) return nullptr;
    // After set_local, which takes the prefix length of the nl_addr (32).
    rtnl_addr_set_prefixlen(addr.get(), prefix.prefix_len);
    return addr;
}

}  // namespace

NetlinkRoute NetlinkRoute::open() {
    nl_sock* sock = nl_socket_alloc();
    if (sock == nullptr) throw std::runtime_error("netlink: cannot allocate a socket");
    if (int error = nl_connect(sock, NETLINK_ROUTE); error < 0) {
        nl_socket_free(sock);
        throw std::runtime_error("netlink: cannot connect: " + nl_message(error));
    }
    return NetlinkRoute(sock);
}

NetlinkRoute::NetlinkRoute(NetlinkRoute&& other) noexcept : sock_(std::exchange(other.sock_, nullptr)) {}

NetlinkRoute& NetlinkRoute::operator=(NetlinkRoute&& other) noexcept {
    if (this != &other) {
        if (sock_ != nullptr) nl_socket_free(sock_);
        sock_ = std::exchange(other.sock_, nullptr);
    }
    return *this;
}

NetlinkRoute::~NetlinkRoute() {
    if (sock_ != nullptr) nl_socket_free(sock_);  // also closes it
}

Result<std::optional<LinkInfo>> NetlinkRoute::get_link(const std::string& name) {
    rtnl_link* raw = nullptr;
    const int error = rtnl_link_get_kernel(sock_, 0, name.c_str(), &raw);
    if (error == -NLE_OBJ_NOTFOUND || error == -NLE_NODEV) return std::optional<LinkInfo>();
    if (error < 0) return fail("netlink: cannot read interface " + name + ": " + nl_message(error));
    std::unique_ptr<rtnl_link, LinkPut> link(raw);
    LinkInfo info;
    info.ifindex = rtnl_link_get_ifindex(link.get());
    const unsigned flags = rtnl_link_get_flags(link.get());
    info.up = (flags & IFF_UP) != 0;
    info.running = (flags & IFF_RUNNING) != 0;
    if (nl_addr* hw = rtnl_link_get_addr(link.get()); hw != nullptr && nl_addr_get_len(hw) == 6) {
        MacAddress mac{};
        std::memcpy(mac.data(), nl_addr_get_binary_addr(hw), mac.size());
        info.mac = mac;
    }
    return std::optional<LinkInfo>(info);
}

Result<std::vector<InterfaceAddress>> NetlinkRoute::ipv4_addresses(int ifindex) {
    nl_cache* raw = nullptr;
    if (int error = rtnl_addr_alloc_cache(sock_, &raw); error < 0)
        return fail("netlink: cannot list addresses: " + nl_message(error));
    std::unique_ptr<nl_cache, CacheFree> cache(raw);
    std::vector<InterfaceAddress> out;
    for (nl_object* object = nl_cache_get_first(cache.get()); object != nullptr; object = nl_cache_get_next(object)) {
        auto* addr = reinterpret_cast<rtnl_addr*>(object);
        if (rtnl_addr_get_ifindex(addr) != ifindex || rtnl_addr_get_family(addr) != AF_INET) continue;
        nl_addr* local = rtnl_addr_get_local(addr);
        if (local == nullptr || nl_addr_get_len(local) != 4) continue;
        uint32_t network_order = 0;
        std::memcpy(&network_order, nl_addr_get_binary_addr(local), 4);
        out.push_back({ntohl(network_order), uint8_t(rtnl_addr_get_prefixlen(addr)),
                       (rtnl_addr_get_flags(addr) & IFA_F_SECONDARY) != 0});
    }
    return out;
}

Result<std::vector<HostAddress>> NetlinkRoute::host_ipv4_addresses() {
    ifaddrmsg request{};
    request.ifa_family = AF_INET;
    if (int error = nl_send_simple(sock_, RTM_GETADDR, NLM_F_DUMP, &request, sizeof request); error < 0)
        return fail("netlink: cannot list addresses: " + nl_message(error));
    std::unique_ptr<nl_cb, CbPut> cb(nl_cb_alloc(NL_CB_DEFAULT));
    if (!cb) return fail("out of memory");
    std::vector<HostAddress> out;
    nl_cb_set(cb.get(), NL_CB_VALID, NL_CB_CUSTOM, collect_host_address, &out);
    if (int error = nl_recvmsgs(sock_, cb.get()); error < 0)
        return fail("netlink: cannot list addresses: " + nl_message(error));
    return out;
}

Result<void> NetlinkRoute::add_address(int ifindex, const Ipv4Prefix& prefix) {
    auto addr = make_addr(ifindex, prefix);
    if (!addr) return fail("out of memory");
    // NLM_F_EXCL makes "already there" a distinct answer instead of a silent replace.
    nl_msg* request = nullptr;
    if (int error = rtnl_addr_build_add_request(addr.get(), NLM_F_EXCL, &request); error < 0)
        return fail(nl_message(error));
    // The mark that tells our VIPs from the host's static addresses (static_vips.h).
    // A kernel before 6.1 ignores the attribute.
    if (nla_put_u8(request, IFA_PROTO, kVipAddressProto) < 0) {
        nlmsg_free(request);
        return fail("out of memory");
    }
    const int error = nl_send_sync(sock_, request);  // frees the request
    if (error == 0 || error == -NLE_EXIST) return {};
    return fail(nl_message(error));
}

Result<void> NetlinkRoute::remove_address(int ifindex, const Ipv4Prefix& prefix) {
    auto addr = make_addr(ifindex, prefix);
    if (!addr) return fail("out of memory");
    const int error = rtnl_addr_delete(sock_, addr.get(), 0);
    // EADDRNOTAVAIL (NLE_NOADDR) is the kernel's "no such address on this interface".
    if (error == 0 || error == -NLE_NOADDR || error == -NLE_OBJ_NOTFOUND) return {};
    return fail(nl_message(error));
}

LinkWatch LinkWatch::open() {
    UniqueFd fd(::socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE));
    if (!fd) throw std::runtime_error(std::string("netlink: cannot open a watch socket: ") + std::strerror(errno));
    sockaddr_nl local{};
    local.nl_family = AF_NETLINK;
    local.nl_groups = RTMGRP_LINK | RTMGRP_IPV4_IFADDR;
    if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&local), sizeof local) < 0)
        throw std::runtime_error(std::string("netlink: cannot subscribe to link changes: ") + std::strerror(errno));
    return LinkWatch(std::move(fd));
}

bool LinkWatch::drain() {
    bool any = false;
    char buffer[8192];
    // Bounded: a flood of changes is caught up with by the re-check this triggers.
    for (int i = 0; i < 256; ++i) {
        const ssize_t n = ::recv(fd_.get(), buffer, sizeof buffer, MSG_DONTWAIT);
        if (n > 0) {
            any = true;
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == ENOBUFS) {  // the kernel dropped notifications for us
            any = true;
            continue;
        }
        break;
    }
    return any;
}

}  // namespace ringlb
