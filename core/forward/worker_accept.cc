// Accepting clients: the multishot accept per listener, pausing it when the
// process runs out of descriptors, and the per-source limits that may refuse a
// client before it gets a connection slot.
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "core/base/log.h"
#include "core/forward/socket_options.h"
#include "core/forward/source_limiter.h"
#include "core/forward/worker.h"
#include "core/sched/maglev.h"

namespace ringlb {

namespace {

LogRateLimit source_limit_log;
LogRateLimit denied_log;

void reset_on_close(int fd) noexcept {
    linger hard{1, 0};  // the caller's close then sends a RST
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &hard, sizeof(hard));
}

}  // namespace

LogRateLimit& Worker::fd_exhaustion_log() noexcept {
    static LogRateLimit limit;
    return limit;
}

void Worker::arm_accept(uint32_t listener_slot) noexcept {
    WorkerListener& wl = *listeners_[listener_slot];
    io_uring_sqe* sqe = sqe_for(listener_slot, Op::kAccept);
    // Short of descriptors, accept one client at a time: a multishot accept would
    // take every free fd for clients at once and leave none for their backends.
    if (now_ms_ < fd_pressure_until_ms_ || near_fd_limit())
        io_uring_prep_accept(sqe, wl.fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    else
        io_uring_prep_multishot_accept(sqe, wl.fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    wl.accept_armed = true;
}

void Worker::cancel_accept(uint32_t listener_slot) noexcept {
    // The accept's own final CQE (-ECANCELED) clears accept_armed.
    io_uring_sqe* sqe = sqe_for(0, Op::kIgnored);
    io_uring_prep_cancel64(sqe, OpTag{Op::kAccept, 0, 0, listener_slot}.pack(), 0);
}

void Worker::remove_listener(uint32_t listener_slot) noexcept {
    WorkerListener& wl = *listeners_[listener_slot];
    wl.removed = true;
    // While an accept is armed the ring still uses the socket: handle_accept lets
    // the sockets go when the cancelled accept completes.
    if (wl.accept_armed) cancel_accept(listener_slot);
    else wl.sockets.reset();
}

void Worker::handle_accept(uint32_t listener_slot, int res, uint32_t flags) noexcept {
    WorkerListener& wl = *listeners_[listener_slot];
    if (!(flags & IORING_CQE_F_MORE)) wl.accept_armed = false;
    if (res >= 0) {
        UniqueFd client(res);
        if (!wl.removed) on_new_client(listener_slot, std::move(client));
    } else if (res == -EMFILE || res == -ENFILE || res == -ENOBUFS || res == -ENOMEM) {
        uint64_t suppressed = 0;
        if (fd_exhaustion_log().allow(now_ms_, &suppressed))
            spdlog::warn("listener {}: accept: {}: pausing accepts for {} ms ({} more since last line)",
                         wl.runtime->config.name, std::strerror(-res), kAcceptPauseMs, suppressed);
        fd_pressure_until_ms_ = now_ms_ + kFdPressureMs;
        pause_accept(listener_slot);
        return;
    } else if (res == -EINVAL) {
        // The daemon shut the listening socket down (stop, or listener removed).
        wl.removed = true;
    } else if (res != -ECANCELED) {
        spdlog::debug("listener {}: accept: {}", wl.runtime->config.name, std::strerror(-res));
    }
    if (!wl.accept_armed) {
        if (wl.removed) wl.sockets.reset();
        else if (!wl.paused) arm_accept(listener_slot);
    }
}

bool Worker::near_fd_limit() const noexcept {
    if (options_.fd_limit == 0) return false;
    // An estimate: SO_REUSEPORT spreads clients evenly, so the other workers hold
    // about as many connections as this one, two descriptors each.
    const uint64_t held = 2ull * conns_.live() * options_.workers;
    return held + kFdMargin >= options_.fd_limit;
}

void Worker::pause_accept(uint32_t listener_slot) noexcept {
    WorkerListener& wl = *listeners_[listener_slot];
    if (wl.removed || wl.paused) return;
    wl.paused = true;
    if (wl.accept_armed) cancel_accept(listener_slot);
    wl.resume_after = to_timespec(kAcceptPauseMs);
    io_uring_sqe* sqe = sqe_for(listener_slot, Op::kAcceptResume);
    io_uring_prep_timeout(sqe, &wl.resume_after, 0, 0);
}

void Worker::pause_accepting() noexcept {
    for (uint32_t i = 0; i < listeners_.size(); ++i) pause_accept(i);
}

void Worker::handle_accept_resume(uint32_t listener_slot) noexcept {
    WorkerListener& wl = *listeners_[listener_slot];
    wl.paused = false;
    if (wl.removed) {
        wl.sockets.reset();
        return;
    }
    // Clients already taken still wait for a descriptor for their backend: each
    // further accept would take one more fd and leave nothing for a backend socket,
    // so the next clients stay in the kernel's backlog until the waiters have one.
    if (fd_waiters_ > 0) return pause_accept(listener_slot);
    if (!wl.accept_armed) arm_accept(listener_slot);
}

// max_conn_per_source and rate_per_source. False: refused, and the socket is
// set to close with a RST (HAProxy's "tcp-request connection reject"): no
// backend, no connection slot, no access log line; counted per reason.
bool Worker::admit_source(const WorkerListener& wl, int fd, const InetAddr& source, bool* tracked) noexcept {
    const ListenerConfig& config = wl.runtime->config;
    const SourceLimits limits{config.max_conn_per_source, config.rate_per_source};
    // The loop's millisecond clock: no clock read per accept, and the bucket
    // keeps exact time across accepts that share a millisecond.
    SourceVerdict verdict = wl.runtime->source_limiter->admit(source, limits, uint64_t(now_ms_) * 1000000);
    auto& stats = wl.runtime->stats->worker(index_);
    const char* reason = nullptr;
    uint32_t limit = 0;
    switch (verdict) {
        case SourceVerdict::kAdmitted: *tracked = true; return true;
        case SourceVerdict::kAdmittedUntracked: {
            bump(stats.source_untracked);
            uint64_t suppressed = 0;
            if (source_limit_log.allow(now_ms_, &suppressed))
                spdlog::warn("listener {}: source table full ({} addresses): {} let through without per-source "
                             "limits ({} more since last line)", config.name,
                             wl.runtime->source_limiter->max_sources(), source.host_string(), suppressed);
            return true;
        }
        case SourceVerdict::kRejectedConnLimit:
            bump(stats.rejected_conn_limit);
            reason = "max_conn_per_source";
            limit = limits.max_conn;
            break;
        case SourceVerdict::kRejectedRate:
            bump(stats.rejected_rate);
            reason = "rate_per_source";
            limit = limits.rate;
            break;
    }
    uint64_t suppressed = 0;
    if (source_limit_log.allow(now_ms_, &suppressed))
        spdlog::warn("listener {}: rejected {}: over {} {} ({} more since last line)", config.name,
                     source.host_string(), reason, limit, suppressed);
    reset_on_close(fd);
    return false;
}

// allow / deny, before anything else: a refused client is reset (RST) at once and
// touches no backend, no slot, no per-source table; counted as "denied".
bool Worker::admit_address(const WorkerListener& wl, int fd, const InetAddr& client) noexcept {
    if (wl.runtime->access->admits(client)) return true;
    bump(wl.runtime->stats->worker(index_).denied);
    uint64_t suppressed = 0;
    if (denied_log.allow(now_ms_, &suppressed))
        spdlog::info("listener {}: denied {} by allow/deny ({} more since last line)", wl.runtime->config.name,
                     client.host_string(), suppressed);
    reset_on_close(fd);
    return false;
}

// Both checks on the client's address: the socket's peer, or the PROXY header's.
bool Worker::admit_client(const WorkerListener& wl, int fd, const InetAddr& client, bool* tracked) noexcept {
    if (wl.runtime->access && !admit_address(wl, fd, client)) return false;
    // An address of no family (the peer reset meanwhile): nothing to limit, it fails on its own.
    if (wl.runtime->source_limiter && client.family() != AF_UNSPEC && !admit_source(wl, fd, client, tracked))
        return false;
    return true;
}

void Worker::on_new_client(uint32_t listener_slot, UniqueFd client) noexcept {
    const int fd = client.get();
    WorkerListener& wl = *listeners_[listener_slot];
    const ListenerConfig& config = wl.runtime->config;
    if (config.accept_proxy != AcceptProxy::kOff) return accept_proxied(listener_slot, std::move(client));
    // Neither access lists nor abuse limits, nor source-hash, nor access log: no peer
    // name read and no address copied (this branch is all they cost).
    const bool checked = wl.runtime->access || wl.runtime->source_limiter;
    const bool need_peer =
        checked || config.scheduler == SchedulerKind::kSourceHash || (access_log_ && access_log_->enabled());
    uint32_t slot = 0;
    if (need_peer) {
        InetAddr source;
        sockaddr_storage peer;
        socklen_t peer_len = sizeof(peer);
        if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &peer_len) == 0)
            source = InetAddr::from_sockaddr(reinterpret_cast<sockaddr*>(&peer), peer_len);
        bool tracked = false;
        if (checked && !admit_client(wl, fd, source, &tracked)) return;
        slot = conns_.allocate();
        conns_[slot].client = source;
        conns_[slot].source_tracked = tracked;
    } else {
        slot = conns_.allocate();
    }
    Connection& conn = conns_[slot];
    conn.client_fd = std::move(client);
    conn.listener = wl.runtime;
    conn.listener_slot = listener_slot;
    conn.accepted_ms = now_ms_;  // TCP_NODELAY comes from the listening socket
    bump(wl.runtime->stats->worker(index_).active);
    start_connection(slot);
}

// An admitted client, its address known: on to a backend.
void Worker::start_connection(uint32_t slot) noexcept {
    Connection& conn = conns_[slot];
    const ListenerConfig& config = conn.listener->config;
    conn.state = ConnState::kConnecting;
    if (config.tcp_keepalive) apply_tcp_keepalive(conn.client_fd.get(), config);
    if (config.scheduler == SchedulerKind::kSourceHash && conn.client.family() != AF_UNSPEC)
        conn.source_hash = hash_source_address(conn.client);
    bump(conn.listener->stats->worker(index_).connections_total);
    timeouts_.arm(slot, config.idle_timeout.count(), now_ms_);
    connect_next(slot);
}

}  // namespace ringlb
