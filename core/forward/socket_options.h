// Per-connection socket options a listener's config asks for: TCP keepalive on
// the client and backend sockets (HAProxy's option clitcpka / srvtcpka, nginx's
// so_keepalive). Called only for listeners that set them, so others pay nothing.
#pragma once

#include "core/config/config.h"

namespace ringlb {

// SO_KEEPALIVE with TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT from the listener's
// keepalive_idle, keepalive_interval, keepalive_count (the parser keeps them in
// the kernel's ranges). A failure leaves the socket as it was: it still works,
// only without early detection of a dead peer.
void apply_tcp_keepalive(int fd, const ListenerConfig& config) noexcept;

}  // namespace ringlb
