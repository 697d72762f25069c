// AF_PACKET sender for gratuitous ARP; see garp_sender.h.
#include "vrrp/garp_sender.h"

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace ringlb {

GarpSender GarpSender::open() {
    // SOCK_RAW: we hand the kernel the Ethernet header too (garp.h builds all 42 bytes).
    UniqueFd fd(::socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd) {
        const int error = errno;
        std::string message = std::string("gratuitous ARP socket: ") + std::strerror(error);
        if (error == EPERM || error == EACCES) message += " (needs root or CAP_NET_RAW)";
        throw std::runtime_error(message);
    }
    return GarpSender(std::move(fd));
}

int GarpSender::send(int ifindex, const GarpFrame& frame) const {
    sockaddr_ll to{};
    to.sll_family = AF_PACKET;
    to.sll_protocol = htons(ETH_P_ARP);
    to.sll_ifindex = ifindex;
    to.sll_halen = ETH_ALEN;
    std::memcpy(to.sll_addr, frame.data(), ETH_ALEN);  // the frame's destination (broadcast)
    for (int attempt = 0; attempt < 3; ++attempt) {
        const ssize_t sent = ::sendto(fd_.get(), frame.data(), frame.size(), MSG_DONTWAIT,
                                      reinterpret_cast<const sockaddr*>(&to), sizeof to);
        if (sent >= 0) return sent == ssize_t(frame.size()) ? 0 : EMSGSIZE;
        if (errno != EINTR) return errno;
    }
    return EINTR;
}

}  // namespace ringlb
