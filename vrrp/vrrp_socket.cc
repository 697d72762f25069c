// Raw IPv4 socket for VRRP adverts; see vrrp_socket.h.
#include "vrrp/vrrp_socket.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "vrrp/vrrp_packet.h"

namespace ringlb {
namespace {

[[noreturn]] void throw_socket_error(const std::string& interface, const std::string& what, int error) {
    std::string message = "vrrp socket on " + interface + ": " + what + ": " + std::strerror(error);
    if (error == EPERM || error == EACCES) message += " (needs root or CAP_NET_RAW)";
    throw std::runtime_error(message);
}

void set_int(int fd, int level, int option, int value, const std::string& interface, const char* name) {
    if (::setsockopt(fd, level, option, &value, sizeof value) < 0) throw_socket_error(interface, name, errno);
}

}  // namespace

VrrpSocket VrrpSocket::open(const std::string& interface, int ifindex, bool join_multicast) {
    UniqueFd fd(::socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, kIpProtoVrrp));
    if (!fd) throw_socket_error(interface, "socket(AF_INET, SOCK_RAW, 112)", errno);
    // Only this interface's adverts come in, and ours go out only there.
    if (::setsockopt(fd.get(), SOL_SOCKET, SO_BINDTODEVICE, interface.c_str(), socklen_t(interface.size())) < 0)
        throw_socket_error(interface, "SO_BINDTODEVICE", errno);
    // RFC 9568 §5.1.1.3: TTL 255, so a receiver can tell the advert crossed no router.
    set_int(fd.get(), IPPROTO_IP, IP_TTL, kVrrpTtl, interface, "IP_TTL");
    set_int(fd.get(), IPPROTO_IP, IP_MULTICAST_TTL, kVrrpTtl, interface, "IP_MULTICAST_TTL");
    set_int(fd.get(), IPPROTO_IP, IP_MULTICAST_LOOP, 0, interface, "IP_MULTICAST_LOOP");
    set_int(fd.get(), IPPROTO_IP, IP_TOS, IPTOS_PREC_INTERNETCONTROL, interface, "IP_TOS");
    ip_mreqn interface_only{};
    interface_only.imr_ifindex = ifindex;
    if (::setsockopt(fd.get(), IPPROTO_IP, IP_MULTICAST_IF, &interface_only, sizeof interface_only) < 0)
        throw_socket_error(interface, "IP_MULTICAST_IF", errno);
    if (join_multicast) {
        ip_mreqn group{};
        group.imr_multiaddr.s_addr = htonl(kVrrpMulticastGroup);
        group.imr_ifindex = ifindex;
        if (::setsockopt(fd.get(), IPPROTO_IP, IP_ADD_MEMBERSHIP, &group, sizeof group) < 0)
            throw_socket_error(interface, "joining 224.0.0.18", errno);
    }
    return VrrpSocket(std::move(fd));
}

int VrrpSocket::send(std::span<const uint8_t> vrrp, Ipv4 source, Ipv4 destination) const {
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_addr.s_addr = htonl(destination);
    iovec iov{const_cast<uint8_t*>(vrrp.data()), vrrp.size()};
    // IP_PKTINFO's ipi_spec_dst picks the source address: the checksum was computed
    // over it, so the kernel must not choose another (a VIP, say).
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(in_pktinfo))] = {};
    msghdr message{};
    message.msg_name = &to;
    message.msg_namelen = sizeof to;
    message.msg_iov = &iov;
    message.msg_iovlen = 1;
    message.msg_control = control;
    message.msg_controllen = sizeof control;
    cmsghdr* cmsg = CMSG_FIRSTHDR(&message);
    cmsg->cmsg_level = IPPROTO_IP;
    cmsg->cmsg_type = IP_PKTINFO;
    cmsg->cmsg_len = CMSG_LEN(sizeof(in_pktinfo));
    in_pktinfo info{};
    info.ipi_spec_dst.s_addr = htonl(source);
    std::memcpy(CMSG_DATA(cmsg), &info, sizeof info);
    for (int attempt = 0; attempt < 3; ++attempt) {
        const ssize_t sent = ::sendmsg(fd_.get(), &message, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (sent >= 0) return sent == ssize_t(vrrp.size()) ? 0 : EMSGSIZE;
        if (errno != EINTR) return errno;
    }
    return EINTR;
}

ssize_t VrrpSocket::receive(std::span<uint8_t> buffer) const {
    for (int attempt = 0; attempt < 3; ++attempt) {
        const ssize_t n = ::recv(fd_.get(), buffer.data(), buffer.size(), MSG_DONTWAIT | MSG_TRUNC);
        if (n >= 0) return n;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
        if (errno != EINTR) return -errno;
    }
    return 0;
}

}  // namespace ringlb
