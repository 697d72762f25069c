// accept_proxy: a client from a trusted balancer (accept_proxy_from) must send a
// PROXY header, whole within accept_proxy_timeout, before anything else; the
// address it carries is the client for everything after (allow/deny, per-source
// limits, source-hash, the access log, the PROXY header sent onward). The worker
// peeks (MSG_PEEK) so that bytes after the header stay in the socket for the
// forwarding that follows; decide_proxy_accept (pure) says what the bytes mean.
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>

#include "core/base/log.h"
#include "core/forward/proxy_accept.h"
#include "core/forward/worker.h"

namespace ringlb {

namespace {

LogRateLimit proxy_log;

// The client shut its side (or the socket failed): no more of the header will come.
bool peer_shut(int fd) noexcept {
    pollfd p{fd, POLLRDHUP, 0};
    return ::poll(&p, 1, 0) == 1 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
}

}  // namespace

void Worker::accept_proxied(uint32_t listener_slot, UniqueFd client) noexcept {
    WorkerListener& wl = *listeners_[listener_slot];
    const int fd = client.get();
    sockaddr_storage peer;
    socklen_t peer_len = sizeof(peer);
    InetAddr balancer;
    if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &peer_len) == 0)
        balancer = InetAddr::from_sockaddr(reinterpret_cast<sockaddr*>(&peer), peer_len);
    if (!wl.runtime->proxy_from->contains(balancer)) {
        // Not one of the balancers that may speak for a client: it could forge any address.
        bump(wl.runtime->stats->worker(index_).proxy_rejected[size_t(ProxyRejectReason::kUntrusted)]);
        uint64_t suppressed = 0;
        if (proxy_log.allow(now_ms_, &suppressed))
            spdlog::warn("listener {}: {} is not in accept_proxy_from: reset ({} more since last line)",
                         wl.runtime->config.name, balancer.host_string(), suppressed);
        linger hard{1, 0};
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &hard, sizeof(hard));
        return;
    }
    uint32_t slot = conns_.allocate();
    Connection& conn = conns_[slot];
    conn.state = ConnState::kProxyHeader;
    conn.client_fd = std::move(client);
    conn.listener = wl.runtime;
    conn.listener_slot = listener_slot;
    conn.accepted_ms = now_ms_;
    conn.client = balancer;  // until the header names the client
    bump(wl.runtime->stats->worker(index_).active);
    timeouts_.arm(slot, wl.runtime->config.accept_proxy_timeout.count(), now_ms_);
    arm_proxy_poll(slot);
}

void Worker::arm_proxy_poll(uint32_t slot) noexcept {
    Connection& conn = conns_[slot];
    io_uring_sqe* sqe = sqe_for(slot, Op::kProxyPoll);
    io_uring_prep_poll_add(sqe, conn.client_fd.get(), POLLIN | POLLRDHUP);
}

void Worker::handle_proxy_poll(uint32_t slot, int res) noexcept {
    Connection& conn = conns_[slot];
    --conn.in_flight;
    if (conn.state != ConnState::kProxyHeader) return maybe_free(slot);
    if (res < 0) return close_connection(slot, CloseReason::kError, CloseWith::kRst);
    check_proxy_header(slot, (res & (POLLRDHUP | POLLHUP | POLLERR)) != 0);
}

void Worker::check_proxy_header(uint32_t slot, bool ended) noexcept {
    Connection& conn = conns_[slot];
    char bytes[kProxyPeekBytes];
    const ssize_t n = ::recv(conn.client_fd.get(), bytes, sizeof(bytes), MSG_PEEK | MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && !ended) return arm_proxy_poll(slot);
    if (n < 0) return close_connection(slot, CloseReason::kClientReset, CloseWith::kRst);
    const ProxyAcceptStep step =
        decide_proxy_accept(std::string_view(bytes, size_t(n)), ended || n == 0, conn.listener->config.accept_proxy);
    if (step.kind == ProxyAcceptStep::kReject) return reject_proxied(slot, uint8_t(step.reason));
    if (step.kind == ProxyAcceptStep::kWait) {
        if (!ended && peer_shut(conn.client_fd.get())) return check_proxy_header(slot, true);
        // Part of a header: the socket stays readable, so a poll would fire at once
        // again; look again at the next tick (the timeout still runs).
        proxy_waiting_.push_back({slot, conn.generation});
        return;
    }
    // Take the header out of the socket; what follows it is the client's data.
    if (::recv(conn.client_fd.get(), bytes, step.header.length, MSG_DONTWAIT) != ssize_t(step.header.length))
        return close_connection(slot, CloseReason::kError, CloseWith::kRst);
    // LOCAL, UNKNOWN, AF_UNIX: the connection's own peer stays the client (spec §2.1, §2.2).
    if (step.header.has_addresses && step.header.command == ProxyCommand::kProxy) conn.client = step.header.source;
    WorkerListener& wl = *listeners_[conn.listener_slot];
    bool tracked = false;
    if ((wl.runtime->access || wl.runtime->source_limiter) &&
        !admit_client(wl, conn.client_fd.get(), conn.client, &tracked))
        return close_connection(slot, CloseReason::kRefused, CloseWith::kRst);
    conn.source_tracked = tracked;
    start_connection(slot);
}

void Worker::reject_proxied(uint32_t slot, uint8_t reason) noexcept {
    Connection& conn = conns_[slot];
    bump(conn.listener->stats->worker(index_).proxy_rejected[reason]);
    uint64_t suppressed = 0;
    if (proxy_log.allow(now_ms_, &suppressed))
        spdlog::warn("listener {}: PROXY header from {}: {}: closed ({} more since last line)",
                     conn.listener->config.name, conn.client.host_string(),
                     proxy_reject_reason_name(ProxyRejectReason(reason)), suppressed);
    close_connection(slot, CloseReason::kProxyHeader, CloseWith::kRst);
}

void Worker::recheck_proxy_waiting() noexcept {
    proxy_rechecks_.swap(proxy_waiting_);
    proxy_waiting_.clear();
    for (auto [slot, generation] : proxy_rechecks_) {
        const Connection& conn = conns_[slot];
        if (conn.state == ConnState::kProxyHeader && conn.generation == generation) check_proxy_header(slot, false);
    }
    proxy_rechecks_.clear();
}

}  // namespace ringlb
