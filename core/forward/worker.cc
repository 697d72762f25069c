// Worker lifecycle and event loop: the thread, the CQE dispatch, the tick
// (timeouts, shutdown grace), snapshots and listeners coming and going.
// Accepting is in worker_accept.cc, connecting and closing in worker_connect.cc,
// forwarding in worker_forward.cc.
#include "core/forward/worker.h"

#include <netinet/in.h>
#include <sys/eventfd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <cstdlib>
#include <stdexcept>

#include "core/base/clock.h"
#include "core/base/log.h"
#include "core/base/setup_thread.h"
#include "core/forward/proxy_accept.h"
#include "core/runtime/drain.h"
#include "core/forward/released_vips.h"

namespace ringlb {

namespace {

constexpr unsigned kSqEntries = 2048;
constexpr unsigned kCqEntries = 16384;
constexpr int64_t kTickMs = 100;

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

void Worker::request_stop(int64_t grace_ms, std::vector<uint32_t> released_vips) noexcept {
    {
        std::lock_guard lock(stop_mutex_);
        released_vips_ = std::move(released_vips);
    }
    grace_ms_.store(grace_ms);
    stop_requested_.store(true);
    wake();
}

void Worker::join() {
    if (thread_.joinable()) thread_.join();
}

namespace {

// As for a failed io_uring_submit_and_wait: the ring cannot go on, and spinning on
// it would hide that; the peer takes the VIP over. Out of line: sqe_for is hot.
[[noreturn, gnu::cold, gnu::noinline]] void ring_gave_up(int worker, const Ring& ring) noexcept {
    spdlog::critical("worker {}: {}; exiting", worker, ring.describe_submit_error());
    std::_Exit(70);
}

}  // namespace

io_uring_sqe* Worker::sqe_for(uint32_t slot, Op op, Dir dir) noexcept {
    io_uring_sqe* sqe = ring_.get_sqe();
    if (!sqe) [[unlikely]] ring_gave_up(index_, ring_);
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
        case Op::kProxyPoll: return handle_proxy_poll(tag.slot, cqe->res);
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
            close_connection(slot, CloseReason::kQueueTimeout, CloseWith::kFin);
            continue;
        }
        if (conn.state == ConnState::kProxyHeader) {  // no whole PROXY header within accept_proxy_timeout
            reject_proxied(slot, uint8_t(ProxyRejectReason::kTimeout));
            continue;
        }
        if (conn.state != ConnState::kForwarding && conn.state != ConnState::kConnecting) continue;
        bool half_closed = conn.dirs[0].leg.done() || conn.dirs[1].leg.done();
        close_connection(slot, half_closed ? CloseReason::kHalfCloseTimeout : CloseReason::kIdleTimeout, CloseWith::kFin);
    }
    if (stopping_ && !deadline_passed_ && now_ms_ >= stop_deadline_ms_) {
        deadline_passed_ = true;
        uint32_t forced = 0;
        for (uint32_t slot = 0; slot < conns_.capacity(); ++slot) {
            Connection& conn = conns_[slot];
            if (conn.state == ConnState::kConnecting || conn.state == ConnState::kForwarding ||
                conn.state == ConnState::kQueued || conn.state == ConnState::kProxyHeader) {
                close_connection(slot, CloseReason::kShutdown, CloseWith::kFin);
                ++forced;
            }
        }
        if (forced) spdlog::info("worker {}: shutdown grace over, closed {} connections", index_, forced);
    }
    if (draining_backend_count().load(std::memory_order_relaxed) > 0) close_drained();
    if (!proxy_waiting_.empty()) recheck_proxy_waiting();
    // Slots (and fds) freed on other workers are only seen here.
    for (uint32_t i = 0; i < listeners_.size(); ++i)
        if (!listeners_[i]->waiting.empty()) service_queue(i);
    if (!finished()) arm_tick();
}

// drain_timeout: connections whose backend has drained that long end now. A scan of
// the table, only while some backend drains; a listener without the key skips it.
void Worker::close_drained() noexcept {
    for (uint32_t slot = 0; slot < conns_.capacity(); ++slot) {
        Connection& conn = conns_[slot];
        if ((conn.state != ConnState::kForwarding && conn.state != ConnState::kConnecting) || !conn.backend) continue;
        const int64_t since = conn.backend->drain_since_ms.load(std::memory_order_relaxed);
        if (!drain_expired(since, conn.listener->config.drain_timeout.count(), now_ms_)) continue;
        bump(conn.listener->stats->worker(index_).drain_closed);
        close_connection(slot, CloseReason::kDrainTimeout, CloseWith::kFin);
    }
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
    std::vector<uint32_t> released;
    {
        std::lock_guard lock(stop_mutex_);
        released.swap(released_vips_);
    }
    if (!released.empty()) reset_released_vip_connections(released);
    if (conns_.live()) spdlog::info("worker {}: stopping, {} connections may finish within {} ms", index_,
                                    conns_.live(), grace_ms_.load());
}

void Worker::reset_released_vip_connections(const std::vector<uint32_t>& released) noexcept {
    std::vector<LocalEndpoint> endpoints;
    for (uint32_t slot = 0; slot < conns_.capacity(); ++slot) {
        const Connection& conn = conns_[slot];
        if (conn.state != ConnState::kConnecting && conn.state != ConnState::kForwarding &&
            conn.state != ConnState::kQueued)
            continue;
        LocalEndpoint endpoint{slot, {}};
        socklen_t length = sizeof endpoint.local;
        if (::getsockname(conn.client_fd.get(), reinterpret_cast<sockaddr*>(&endpoint.local), &length) == 0)
            endpoints.push_back(endpoint);
    }
    const std::vector<uint32_t> slots = select_released(endpoints, released);
    for (uint32_t slot : slots) {
        Connection& conn = conns_[slot];
        // The VIP is gone from the interface, so the kernel would find no route from it
        // and drop the RST; IP_TRANSPARENT (CAP_NET_ADMIN, which VRRP needs anyway) lets
        // the reset leave with the VIP as its source, and the client learns at once.
        const int on = 1;
        (void)::setsockopt(conn.client_fd.get(), SOL_IP, IP_TRANSPARENT, &on, sizeof on);
        bump(conn.listener->stats->worker(index_).vip_released);
        close_connection(slot, CloseReason::kVipReleased, CloseWith::kRst);
    }
    if (!slots.empty())
        spdlog::info("worker {}: reset {} connection(s) made to a released VIP", index_, slots.size());
}

}  // namespace ringlb
