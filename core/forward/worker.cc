// Worker event loop: accepting, choosing a backend and connecting, closing,
// timeouts and stop. Byte forwarding lives in worker_forward.cc.
#include "core/forward/worker.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <cstdlib>
#include <future>
#include <stdexcept>

#include "core/base/clock.h"
#include "core/base/log.h"
#include "core/base/setup_thread.h"
#include "core/forward/proxy_header.h"
#include "core/forward/source_limiter.h"
#include "core/health/passive_health.h"
#include "core/sched/choose_backend.h"
#include "core/sched/maglev.h"

namespace ringlb {

namespace {

constexpr unsigned kSqEntries = 2048;
constexpr unsigned kCqEntries = 16384;
constexpr int64_t kTickMs = 100;
constexpr int64_t kAcceptPauseMs = 100;  // after EMFILE/ENFILE: retry accepting this much later
constexpr int64_t kFdPressureMs = 1000;  // after EMFILE/ENFILE: accept one at a time this long
constexpr uint64_t kFdMargin = 256;      // fewer free fds than this (estimated): one accept at a time

LogRateLimit fd_exhaustion_log;
LogRateLimit no_backend_log;
LogRateLimit source_limit_log;

void set_nodelay(int fd) {
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

}  // namespace

Worker::Worker(int index, const SnapshotHolder& snapshots, WorkerOptions options)
    : index_(index),
      snapshots_(snapshots),
      options_(options),
      pipes_(options.pipe_size, options.max_idle_pipes) {
    if (options_.access_log) access_log_ = &options_.access_log->writer(index_);
}

Worker::~Worker() {
    if (thread_.joinable()) {
        request_stop(0);
        thread_.join();
    }
}

void Worker::start() {
    // The ring is created on the worker thread itself: SINGLE_ISSUER and
    // DEFER_TASKRUN tie it to its creator, and a registered ring fd is per thread.
    thread_ = start_thread_after_setup(
        "worker " + std::to_string(index_),
        [this] {
            ring_.init(kSqEntries, kCqEntries);
            buffers_.init(ring_.raw(), 0, options_.buffer_count, options_.buffer_size);
            recv_limit_ = recv_multishot_limit_supported();
            wake_fd_.reset(eventfd(0, EFD_CLOEXEC));
            if (!wake_fd_) throw std::runtime_error(std::string("eventfd: ") + std::strerror(errno));
        },
        [this] { run(); });
    if (index_ == 0) {
        spdlog::info("io_uring setup flags: {}", ring_.describe_flags());
        if (recv_limit_)
            spdlog::info("copy-mode receive: multishot, limited to the {} KiB pause threshold",
                         SpliceLeg::kPauseBytes / 1024);
        else
            spdlog::info("copy-mode receive: single-shot (multishot recv has no byte limit before Linux 6.17)");
    }
}

void Worker::wake() noexcept {
    uint64_t one = 1;
    ssize_t ignored = ::write(wake_fd_.get(), &one, sizeof(one));
    (void)ignored;
}

void Worker::request_reload() noexcept {
    reload_requested_.store(true);
    wake();
}

void Worker::request_stop(int64_t grace_ms) noexcept {
    grace_ms_.store(grace_ms);
    stop_requested_.store(true);
    wake();
}

void Worker::join() {
    if (thread_.joinable()) thread_.join();
}

io_uring_sqe* Worker::sqe_for(uint32_t slot, Op op, Dir dir) noexcept {
    io_uring_sqe* sqe = ring_.get_sqe();
    OpTag tag{op, uint8_t(dir), 0, slot};
    if (op != Op::kAccept && op != Op::kAcceptResume && op != Op::kTick && op != Op::kWake &&
        op != Op::kIgnored) {
        Connection& conn = conns_[slot];
        tag.generation = conn.generation;
        ++conn.in_flight;
    }
    io_uring_sqe_set_data64(sqe, tag.pack());
    return sqe;
}

void Worker::run() noexcept {
    char name[16];  // the kernel's limit, NUL included
    std::snprintf(name, sizeof(name), "ringlb-w%d", index_);
    pthread_setname_np(pthread_self(), name);
    now_ms_ = monotonic_ms();
    tick_interval_ = to_timespec(kTickMs);
    arm_wake_read();
    arm_tick();
    apply_snapshot(snapshots_.load());

    while (!finished()) {
        int rc = io_uring_submit_and_wait(ring_.raw(), 1);
        // The cancels for these fds are submitted now; closing them lets the
        // sockets go once io_uring drops its references.
        close_after_submit_.clear();
        if (rc < 0 && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY && rc != -ETIME) {
            // Not a condition the loop can recover from: spinning on it would hide it.
            spdlog::critical("worker {}: io_uring_submit_and_wait: {}; exiting", index_, std::strerror(-rc));
            std::_Exit(70);
        }
        now_ms_ = monotonic_ms();
        unsigned head, seen = 0;
        io_uring_cqe* cqe;
        io_uring_for_each_cqe(ring_.raw(), head, cqe) {
            handle_cqe(cqe);
            ++seen;
        }
        io_uring_cq_advance(ring_.raw(), seen);
        buffers_.commit();
        if (!starved_.empty()) drain_starved();
        heartbeat_.fetch_add(1, std::memory_order_relaxed);
    }
    io_uring_submit(ring_.raw());
    close_after_submit_.clear();
}

bool Worker::finished() const noexcept {
    if (!stopping_ || conns_.live() != 0) return false;
    for (const auto& l : listeners_)
        if (l->accept_armed) return false;
    return true;
}

void Worker::handle_cqe(const io_uring_cqe* cqe) noexcept {
    OpTag tag = OpTag::unpack(cqe->user_data);
    switch (tag.op) {
        case Op::kAccept: return handle_accept(tag.slot, cqe->res, cqe->flags);
        case Op::kAcceptResume: return handle_accept_resume(tag.slot);
        case Op::kTick: return on_tick();
        case Op::kWake: return on_wake();
        case Op::kIgnored:
        case Op::kNone: return;
        default: break;
    }
    Connection& conn = conns_[tag.slot];
    if (conn.state == ConnState::kFree || (conn.generation & OpTag::kGenerationMask) != tag.generation) {
        // Cannot happen while in_flight accounting holds; keep buffers from leaking if it does.
        if (cqe->flags & IORING_CQE_F_BUFFER) {
            buffers_.on_taken();
            buffers_.recycle(uint16_t(cqe->flags >> IORING_CQE_BUFFER_SHIFT));
        }
        spdlog::warn("worker {}: dropped a stale completion (op {})", index_, int(tag.op));
        return;
    }
    switch (tag.op) {
        case Op::kConnect: return handle_connect(tag.slot, cqe->res);
        case Op::kConnectTimeout:
        case Op::kCancel:
            --conn.in_flight;
            return maybe_free(tag.slot);
        case Op::kRecv: return handle_recv(tag.slot, Dir(tag.sub), cqe->res, cqe->flags);
        case Op::kSend: return handle_send(tag.slot, Dir(tag.sub), cqe->res);
        case Op::kPollIn: return handle_poll(tag.slot, Dir(tag.sub), PollFor::kRead, cqe->res);
        case Op::kPollOut: return handle_poll(tag.slot, Dir(tag.sub), PollFor::kWrite, cqe->res);
        default: return;
    }
}

void Worker::arm_wake_read() noexcept {
    io_uring_sqe* sqe = sqe_for(0, Op::kWake);
    io_uring_prep_read(sqe, wake_fd_.get(), &wake_value_, sizeof(wake_value_), 0);
}

void Worker::arm_tick() noexcept {
    io_uring_sqe* sqe = sqe_for(0, Op::kTick);
    io_uring_prep_timeout(sqe, &tick_interval_, 0, 0);
}

void Worker::on_wake() noexcept {
    if (stop_requested_.exchange(false) && !stopping_) begin_stop();
    if (reload_requested_.exchange(false) && !stopping_) apply_snapshot(snapshots_.load());
    arm_wake_read();
}

void Worker::on_tick() noexcept {
    heartbeat_.fetch_add(1, std::memory_order_relaxed);
    if (access_log_) access_log_->on_tick();
    expired_.clear();
    timeouts_.collect_expired(now_ms_, expired_);
    for (uint32_t slot : expired_) {
        Connection& conn = conns_[slot];
        if (conn.state == ConnState::kQueued) {
            bump(conn.listener->stats->worker(index_).queue_timeouts);
            close_connection(slot, CloseReason::kQueueTimeout, false);
            continue;
        }
        if (conn.state != ConnState::kForwarding && conn.state != ConnState::kConnecting) continue;
        bool half_closed = conn.dirs[0].leg.done() || conn.dirs[1].leg.done();
        close_connection(slot, half_closed ? CloseReason::kHalfCloseTimeout : CloseReason::kIdleTimeout, false);
    }
    if (stopping_ && !deadline_passed_ && now_ms_ >= stop_deadline_ms_) {
        deadline_passed_ = true;
        uint32_t forced = 0;
        for (uint32_t slot = 0; slot < conns_.capacity(); ++slot) {
            Connection& conn = conns_[slot];
            if (conn.state == ConnState::kConnecting || conn.state == ConnState::kForwarding ||
                conn.state == ConnState::kQueued) {
                close_connection(slot, CloseReason::kShutdown, false);
                ++forced;
            }
        }
        if (forced) spdlog::info("worker {}: shutdown grace over, closed {} connections", index_, forced);
    }
    // Slots (and fds) freed on other workers are only seen here.
    for (uint32_t i = 0; i < listeners_.size(); ++i)
        if (!listeners_[i]->waiting.empty()) service_queue(i);
    if (!finished()) arm_tick();
}

// ---------------------------------------------------------------- listeners

void Worker::apply_snapshot(const std::shared_ptr<const RuntimeSnapshot>& snapshot) noexcept {
    if (!snapshot) return;
    snapshot_ = snapshot;
    std::vector<bool> kept(listeners_.size(), false);
    for (const ListenerEntry& entry : snapshot->listeners) {
        bool found = false;
        for (uint32_t i = 0; i < listeners_.size(); ++i) {
            WorkerListener& wl = *listeners_[i];
            if (!wl.removed && wl.sockets == entry.sockets) {
                // Same sockets: keep accepting, new connections follow the new config.
                wl.runtime = entry.runtime;
                wl.connect_timeout = to_timespec(entry.runtime->config.connect_timeout.count());
                wl.scheduler = make_scheduler(entry.runtime->config.scheduler, entry.runtime->backends.size(),
                                      entry.runtime->maglev);
                kept[i] = true;
                found = true;
                break;
            }
        }
        if (found) continue;
        auto wl = std::make_unique<WorkerListener>();
        wl->runtime = entry.runtime;
        wl->sockets = entry.sockets;
        wl->fd = entry.sockets->per_worker[size_t(index_)].get();  // the daemon opens one per worker
        wl->connect_timeout = to_timespec(entry.runtime->config.connect_timeout.count());
        wl->scheduler = make_scheduler(entry.runtime->config.scheduler, entry.runtime->backends.size(),
                                      entry.runtime->maglev);
        listeners_.push_back(std::move(wl));
        kept.push_back(true);
        arm_accept(uint32_t(listeners_.size() - 1));
    }
    for (uint32_t i = 0; i < kept.size(); ++i) {
        WorkerListener& wl = *listeners_[i];
        if (kept[i] || wl.removed) continue;
        remove_listener(i);
    }
}

void Worker::begin_stop() noexcept {
    stopping_ = true;
    stop_deadline_ms_ = now_ms_ + grace_ms_.load();
    for (uint32_t i = 0; i < listeners_.size(); ++i) remove_listener(i);
    snapshot_.reset();
    if (conns_.live()) spdlog::info("worker {}: stopping, {} connections may finish within {} ms", index_,
                                    conns_.live(), grace_ms_.load());
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
        if (fd_exhaustion_log.allow(now_ms_, &suppressed))
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
bool Worker::admit_source(const WorkerListener& wl, int fd, sockaddr_storage* peer, socklen_t* peer_len,
                          bool* tracked) noexcept {
    socklen_t len = sizeof(*peer);
    // Not connected any more (reset while queued): nothing to limit, it fails on its own.
    if (getpeername(fd, reinterpret_cast<sockaddr*>(peer), &len) != 0) return true;
    *peer_len = len;
    const InetAddr source = InetAddr::from_sockaddr(reinterpret_cast<sockaddr*>(peer), len);
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
    linger hard{1, 0};  // the caller's close then sends a RST
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &hard, sizeof(hard));
    return false;
}

void Worker::on_new_client(uint32_t listener_slot, UniqueFd client) noexcept {
    const int fd = client.get();
    WorkerListener& wl = *listeners_[listener_slot];
    // Abuse limits off: this branch is all they cost (peer stays unwritten).
    sockaddr_storage peer;
    socklen_t peer_len = 0;
    bool tracked = false;
    if (wl.runtime->source_limiter && !admit_source(wl, fd, &peer, &peer_len, &tracked)) return;
    uint32_t slot = conns_.allocate();
    Connection& conn = conns_[slot];
    conn.source_tracked = tracked;
    conn.state = ConnState::kConnecting;
    conn.client_fd = std::move(client);
    conn.listener = wl.runtime;
    conn.listener_slot = listener_slot;
    conn.accepted_ms = now_ms_;  // TCP_NODELAY comes from the listening socket
    const bool source_hash = wl.runtime->config.scheduler == SchedulerKind::kSourceHash;
    if (peer_len == 0 && (source_hash || (access_log_ && access_log_->enabled()))) {
        peer_len = sizeof(peer);
        if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &peer_len) != 0) peer_len = 0;
    }
    if (peer_len != 0) conn.client = InetAddr::from_sockaddr(reinterpret_cast<sockaddr*>(&peer), peer_len);
    if (source_hash && conn.client.family() != AF_UNSPEC) conn.source_hash = hash_source_address(conn.client);
    auto& stats = wl.runtime->stats->worker(index_);
    bump(stats.connections_total);
    bump(stats.active);
    timeouts_.arm(slot, conn.listener->config.idle_timeout.count(), now_ms_);
    connect_next(slot);
}

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
        close_connection(slot, none ? CloseReason::kNoBackend : CloseReason::kConnectFailed, false);
        return;
    }
    const uint32_t index = picked.index;
    const BackendRef& backend = conn.listener->backends[index];
    conn.backend = backend.state;  // holds the slot reserved by pick_backend
    UniqueFd fd(::socket(backend.config.address.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd) {
        int error = errno;
        uint64_t suppressed = 0;
        if (fd_exhaustion_log.allow(now_ms_, &suppressed))
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
        close_connection(slot, CloseReason::kError, false);
        return;
    }
    if (conn.waits_for_fd) {
        conn.waits_for_fd = false;
        --fd_waiters_;  // the last one gone: the accept resume timer re-arms accepting
    }
    set_nodelay(fd.get());
    conn.backend_fd = std::move(fd);
    conn.backend_index = index;
    if (index < 64) conn.tried_mask |= uint64_t(1) << index;
    ++conn.attempts;
    conn.connect_started_us = monotonic_us();

    io_uring_sqe* sqe = sqe_for(slot, Op::kConnect);
    io_uring_prep_connect(sqe, conn.backend_fd.get(), backend.config.address.sockaddr_ptr(), backend.config.address.sockaddr_len());
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
    InetAddr client = InetAddr::from_sockaddr(reinterpret_cast<sockaddr*>(&peer), peer_len);
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
            return close_connection(slot, CloseReason::kError, true);
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

void Worker::close_connection(uint32_t slot, CloseReason reason, bool reset) noexcept {
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
        if (reset) {
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
