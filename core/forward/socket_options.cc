// Keepalive on forwarded sockets; see socket_options.h.
#include "core/forward/socket_options.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

namespace ringlb {

void apply_tcp_keepalive(int fd, const ListenerConfig& config) noexcept {
    const int on = 1;
    const int idle = int(config.keepalive_idle.count() / 1000);
    const int interval = int(config.keepalive_interval.count() / 1000);
    const int count = int(config.keepalive_count);
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof(interval));
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &count, sizeof(count));
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on));
}

}  // namespace ringlb
