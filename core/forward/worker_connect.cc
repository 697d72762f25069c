// From an accepted client to a forwarding connection and back to a free slot:
// choosing a backend, connecting (with retries), the queue of clients waiting
// for a backend slot or a descriptor, the PROXY header, and closing.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "core/base/clock.h"
#include "core/base/log.h"
#include "core/forward/proxy_header.h"
#include "core/forward/socket_options.h"
#include "core/forward/source_limiter.h"
#include "core/forward/worker.h"
#include "core/health/passive_health.h"

namespace ringlb {

namespace {

LogRateLimit no_backend_log;

void set_nodelay(int fd) {
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

}  // namespace

// ------------------------------------------------------------ backend choice

BackendPick Worker::pick_backend(const Connection& conn) noexcept {
    WorkerListener& wl = *listeners_[conn.listener_slot];
    // A connection accepted before a reload keeps its listener runtime; the
    // worker's scheduler then belongs to the new one and does not apply.
    Scheduler* scheduler = wl.runtime == conn.listener ? wl.scheduler.get() : nullptr;
    const uint32_t limit = conn.listener->config.max_connections;
    BackendPick pick = choose_backend(conn.listener->backends, conn.tried_mask, limit, scheduler,
                                      conn.source_hash, candidates_);
    if (pick.choice == BackendChoice::kPicked && !reserve_slot(*conn.listener->backends[pick.index].state, limit))
        pick.choice = BackendChoice::kAllFull;  // lost the last slot to another worker
    return pick;
}

bool Worker::reserve_slot(BackendState& backend, uint32_t limit) noexcept {
    if (!limit) {
        backend.active.fetch_add(1, std::memory_order_relaxed);
        return true;
    }
    // Workers race for the last slots: take one only if it is still free.
    int64_t active = backend.active.load(std::memory_order_relaxed);
    while (active < limit) {
        if (backend.active.compare_exchange_weak(active, active + 1, std::memory_order_relaxed)) return true;
    }
    return false;
}

void Worker::connect_next(uint32_t slot) noexcept {
    Connection& conn = conns_[slot];
    const ListenerConfig& config = conn.listener->config;
    const BackendPick picked = conn.attempts > config.retries ? BackendPick{} : pick_backend(conn);
    if (picked.choice == BackendChoice::kAllFull) return enqueue(slot);
    if (picked.choice == BackendChoice::kNone) {
        bool none = conn.attempts == 0;
        if (none) {
            uint64_t suppressed = 0;
            if (no_backend_log.allow(now_ms_, &suppressed))
                spdlog::warn("listener {}: no backend available, closing client ({} more since last line)",
                             config.name, suppressed);
            bump(conn.listener->stats->worker(index_).connections_refused);
        }
        close_connection(slot, none ? CloseReason::kNoBackend : CloseReason::kConnectFailed, CloseWith::kFin);
        return;
    }
    const uint32_t index = picked.index;
    const BackendRef& backend = conn.listener->backends[index];
    conn.backend = backend.state;  // holds the slot reserved by pick_backend
    UniqueFd fd(::socket(backend.config.address.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd) {
        int error = errno;
        uint64_t suppressed = 0;
        if (fd_exhaustion_log().allow(now_ms_, &suppressed))
            spdlog::warn("listener {}: socket for backend: {} ({} more since last line)", config.name,
                         std::strerror(error), suppressed);
        conn.backend->active.fetch_sub(1, std::memory_order_relaxed);
        conn.backend.reset();
        if (error == EMFILE || error == ENFILE) {
            fd_pressure_until_ms_ = now_ms_ + kFdPressureMs;
            pause_accepting();
            // Out of fds: the client waits in the listener's queue (up to
            // queue_timeout) for a connection to close and give its fds back;
            // accepting stays paused meanwhile, so the next clients wait in the
            // kernel's backlog. Each waiter holds its own descriptor, so their
            // number is capped (options.max_fd_waiters); past the cap, a client
            // from the same accept burst is closed. A queued one retrying keeps
            // its place.
            if (slot == dequeued_slot_) return enqueue(slot);
            if (fd_waiters_ < options_.max_fd_waiters) {
                conn.waits_for_fd = true;
                ++fd_waiters_;
                return enqueue(slot);
            }
        }
        close_connection(slot, CloseReason::kError, CloseWith::kFin);
        return;
    }
    if (conn.waits_for_fd) {
        conn.waits_for_fd = false;
        --fd_waiters_;  // the last one gone: the accept resume timer re-arms accepting
    }
    set_nodelay(fd.get());
    if (config.tcp_keepalive) apply_tcp_keepalive(fd.get(), config);
    conn.backend_fd = std::move(fd);
    conn.backend_index = index;
    if (index < 64) conn.tried_mask |= uint64_t(1) << index;
    ++conn.attempts;
    conn.connect_started_us = monotonic_us();

    io_uring_sqe* sqe = sqe_for(slot, Op::kConnect);
    io_uring_prep_connect(sqe, conn.backend_fd.get(), backend.config.address.sockaddr_ptr(),
                          backend.config.address.sockaddr_len());
    sqe->flags |= IOSQE_IO_LINK;
    // The timespec is read when the SQE is submitted: it lives in the worker listener.
    WorkerListener& wl = *listeners_[conn.listener_slot];
    sqe = sqe_for(slot, Op::kConnectTimeout);
    io_uring_prep_link_timeout(sqe, &wl.connect_timeout, 0);
}

// ------------------------------------------------------------------- queue

void Worker::enqueue(uint32_t slot) noexcept {
    Connection& conn = conns_[slot];
    WorkerListener& wl = *listeners_[conn.listener_slot];
    if (slot == dequeued_slot_) {
        // Taken off the queue but lost the free slot to another worker: it keeps
        // its place and its original queue deadline.
        conn.state = ConnState::kQueued;
        wl.waiting.push_front({slot, conn.generation});
        return;
    }
    conn.state = ConnState::kQueued;
    wl.waiting.push_back({slot, conn.generation});
    timeouts_.arm(slot, conn.listener->config.queue_timeout.count(), now_ms_);
}

void Worker::service_queue(uint32_t listener_slot) noexcept {
    WorkerListener& wl = *listeners_[listener_slot];
    while (!wl.waiting.empty()) {
        auto [slot, generation] = wl.waiting.front();
        wl.waiting.pop_front();
        Connection& conn = conns_[slot];
        if (conn.generation != generation || conn.state != ConnState::kQueued) continue;
        conn.state = ConnState::kConnecting;
        dequeued_slot_ = slot;
        connect_next(slot);
        dequeued_slot_ = kNoSlot;
        if (conn.state == ConnState::kQueued) return;  // still full
        if (conn.state == ConnState::kConnecting)
            timeouts_.arm(slot, conn.listener->config.idle_timeout.count(), now_ms_);
    }
}

bool Worker::send_proxy_header(const Connection& conn) noexcept {
    sockaddr_storage peer{}, local{};
    socklen_t peer_len = sizeof(peer), local_len = sizeof(local);
    if (getpeername(conn.client_fd.get(), reinterpret_cast<sockaddr*>(&peer), &peer_len) != 0 ||
        getsockname(conn.client_fd.get(), reinterpret_cast<sockaddr*>(&local), &local_len) != 0)
        return false;
    // With accept_proxy, the client the PROXY header named (conn.client), not the balancer.
    InetAddr client = conn.listener->config.accept_proxy != AcceptProxy::kOff
                          ? conn.client
                          : InetAddr::from_sockaddr(reinterpret_cast<sockaddr*>(&peer), peer_len);
    InetAddr vip = InetAddr::from_sockaddr(reinterpret_cast<sockaddr*>(&local), local_len);
    const ProxyHeaderBytes header = conn.listener->config.proxy_protocol == ProxyProtocol::kV1
                                        ? build_proxy_v1(client, vip)
                                        : build_proxy_v2(client, vip);
    // A fresh connection's send buffer is empty: the header (at most 104 bytes) goes in one call.
    ssize_t sent = ::send(conn.backend_fd.get(), header.data(), header.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    return sent == ssize_t(header.size());
}

void Worker::log_connect_error(const Connection& conn, int res) noexcept {
    uint64_t suppressed = 0;
    if (!conn.backend->error_log.allow(now_ms_, &suppressed)) return;
    const char* what = res == -ECANCELED ? "timeout" : std::strerror(-res);
    spdlog::warn("listener {} backend {}: connect failed: {} ({} more since last line)",
                 conn.listener->config.name, conn.backend->address.to_string(), what, suppressed);
}

void Worker::handle_connect(uint32_t slot, int res) noexcept {
    Connection& conn = conns_[slot];
    --conn.in_flight;
    if (conn.state != ConnState::kConnecting) return maybe_free(slot);
    if (res == 0) {
        conn.connect_us = monotonic_us() - conn.connect_started_us;
        observe_connect(conn.listener->stats->worker(index_), uint64_t(conn.connect_us));
        conn.state = ConnState::kForwarding;
        conn.backend->connections_total.fetch_add(1, std::memory_order_relaxed);
        report_connect_result(conn.listener->config, *conn.backend, res, now_ms_);
        if (conn.listener->config.proxy_protocol != ProxyProtocol::kOff && !send_proxy_header(conn))
            return close_connection(slot, CloseReason::kError, CloseWith::kRst);
        start_forwarding(slot);
        return;
    }
    conn.backend->connect_errors.fetch_add(1, std::memory_order_relaxed);
    report_connect_result(conn.listener->config, *conn.backend, res, now_ms_);
    log_connect_error(conn, res);
    // Only the linked timeout may still be in flight, and it is not tied to the fd.
    conn.backend_fd.reset();
    conn.backend->active.fetch_sub(1, std::memory_order_relaxed);
    conn.backend.reset();
    connect_next(slot);
}

// ------------------------------------------------------------------ closing

void Worker::close_connection(uint32_t slot, CloseReason reason, CloseWith how) noexcept {
    Connection& conn = conns_[slot];
    if (conn.state == ConnState::kClosing || conn.state == ConnState::kFree) return;
    spdlog::debug("worker {}: connection {} closed: {}", index_, slot, close_reason_name(reason));
    conn.state = ConnState::kClosing;
    conn.reason = reason;
    if (access_log_) access_log_->log(conn, now_ms_);
    if (conn.source_tracked) {
        // The limiter that admitted it: conn.listener is the runtime of its accept.
        conn.source_tracked = false;
        conn.listener->source_limiter->release(conn.client, uint64_t(now_ms_) * 1000000);
    }
    timeouts_.disarm(slot);
    if (conn.waits_for_fd) {
        conn.waits_for_fd = false;
        --fd_waiters_;
    }
    for (UniqueFd* fd : {&conn.client_fd, &conn.backend_fd}) {
        if (!*fd) continue;
        if (how == CloseWith::kRst) {
            linger hard{1, 0};  // close with RST: propagate the reset we saw
            setsockopt(fd->get(), SOL_SOCKET, SO_LINGER, &hard, sizeof(hard));
        }
        if (conn.in_flight > 0) {
            // io_uring holds the socket until the cancel is processed; closing
            // it before the cancel is even submitted would let the fd be reused.
            io_uring_sqe* sqe = sqe_for(slot, Op::kCancel);
            io_uring_prep_cancel_fd(sqe, fd->get(), IORING_ASYNC_CANCEL_ALL);
            close_after_submit_.push_back(std::move(*fd));
        } else {
            fd->reset();
        }
    }
    for (Direction& d : conn.dirs) {
        for (uint32_t i = d.queue_head; i < d.queue.size(); ++i) release_chunk(d.queue[i]);
        d.clear_queue();
        pipes_.release(std::move(d.pipe), d.leg.pipe_bytes() == 0);
    }
    bool freed_backend_slot = false;
    if (conn.backend) {
        conn.backend->active.fetch_sub(1, std::memory_order_relaxed);
        conn.backend.reset();
        freed_backend_slot = conn.listener->config.max_connections != 0;
    }
    auto& stats = conn.listener->stats->worker(index_);
    stats.active.store(stats.active.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed);
    uint32_t listener_slot = conn.listener_slot;
    maybe_free(slot);
    // A close gives back a backend slot (max_connections) and two fds (a client
    // queued because socket() ran out of them).
    if ((freed_backend_slot || fd_waiters_ > 0) && !listeners_[listener_slot]->waiting.empty())
        service_queue(listener_slot);
}

void Worker::maybe_free(uint32_t slot) noexcept {
    Connection& conn = conns_[slot];
    if (conn.state == ConnState::kClosing && conn.in_flight == 0) conns_.release(slot);
}

}  // namespace ringlb
