#include "core/forward/listener_socket.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace ringlb {

namespace {

constexpr int kBacklog = 4096;

Result<UniqueFd> open_one(const InetAddr& bind) {
    auto failed = [&](const char* what) {
        return fail(std::string(what) + " " + bind.to_string() + ": " + std::strerror(errno));
    };
    // Blocking on purpose: io_uring's multishot accept handles readiness itself.
    UniqueFd fd(::socket(bind.family(), SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) return failed("socket");
    int one = 1;
    setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (setsockopt(fd.get(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0) return failed("SO_REUSEPORT");
    if (bind.family() == AF_INET6) {
        setsockopt(fd.get(), IPPROTO_IPV6, IPV6_FREEBIND, &one, sizeof(one));
        setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    } else {
        setsockopt(fd.get(), IPPROTO_IP, IP_FREEBIND, &one, sizeof(one));
    }
    // Accepted sockets inherit TCP_NODELAY from the listener: one setsockopt here
    // instead of one per client connection.
    if (setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0) return failed("TCP_NODELAY");
    if (::bind(fd.get(), bind.sockaddr_ptr(), bind.sockaddr_len()) != 0) return failed("bind");
    if (::listen(fd.get(), kBacklog) != 0) return failed("listen");
    return fd;
}

}  // namespace

Result<std::shared_ptr<ListenerSockets>> open_listener_sockets(const InetAddr& bind, int workers) {
    auto sockets = std::make_shared<ListenerSockets>();
    sockets->bind = bind;
    for (int i = 0; i < workers; ++i) {
        Result<UniqueFd> fd = open_one(bind);
        if (!fd) return fail(fd.error());
        sockets->per_worker.push_back(std::move(*fd));
    }
    return sockets;
}

}  // namespace ringlb
