// A forwarding worker: one thread, one io_uring, its own listening socket per
// listener, connection table, provided buffers and pipe pool. Every connection
// it accepts lives here until it closes, so the data path takes no locks.
//
// worker.cc: thread, event loop, tick (timeouts, stop), snapshots and listeners.
// worker_accept.cc: accepting, fd-exhaustion pauses, per-source admission.
// worker_connect.cc: backend choice, connect and retries, the queue, close.
// worker_forward.cc: moving bytes — copy mode and splice mode (SpliceLeg).
//
// The data path, run() and everything it calls, is noexcept and nothing on it
// throws: errors are return values, EAGAIN and resets are normal inputs. What is
// left is allocation failure (a growing queue, table or log buffer) and a failing
// std::mutex lock, which would terminate the process: noexcept says so, and there
// is no sound way to go on mid-loop after either.
#pragma once

#include <atomic>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/base/rate_limit.h"
#include "core/base/unique_fd.h"
#include "core/base/uring.h"
#include "core/forward/access_log.h"
#include "core/forward/buffer_ring.h"
#include "core/forward/connection.h"
#include "core/forward/pipe_pool.h"
#include "core/forward/spill_store.h"
#include "core/forward/timeout_lists.h"
#include "core/forward/worker_op.h"
#include "core/runtime/runtime.h"
#include "core/runtime/snapshot_holder.h"
#include "core/sched/choose_backend.h"
#include "core/sched/scheduler.h"

namespace ringlb {

struct WorkerOptions {
    // Provided buffers per worker (power of two). The ring hands them out in FIFO
    // order, so every one gets touched: the count, not the load, sets the RSS.
    uint32_t buffer_count = 256;
    uint32_t buffer_size = 16 * 1024;
    size_t pipe_size = 256 * 1024;     // F_SETPIPE_SZ for splice pipes
    size_t max_idle_pipes = 64;
    // Out of descriptors: how many accepted clients may wait (queued, holding their
    // own fd) for one for their backend; the rest of a burst is closed.
    uint32_t max_fd_waiters = 1;
    // RLIMIT_NOFILE (0: unlimited) and the number of workers sharing the fd table:
    // close to the limit, accepts go one at a time (see Worker::arm_accept).
    uint64_t fd_limit = 0;
    uint32_t workers = 1;
    AccessLog* access_log = nullptr;   // one line per closed connection; null: none
};

class Worker {
public:
    Worker(int index, const SnapshotHolder& snapshots, WorkerOptions options);
    ~Worker();
    Worker(const Worker&) = delete;
    Worker& operator=(const Worker&) = delete;

    // Sets up the ring and buffers on the calling thread's behalf, then runs the
    // loop on a new thread. Throws std::runtime_error when setup fails.
    void start();
    // Thread-safe: pick up the newest snapshot.
    void request_reload() noexcept;
    // Thread-safe: stop accepting, reset at once the connections whose local address is
    // one of `released_vips` (IPv4, host order: VIPs the VRRP thread just gave up, whose
    // clients' packets now go to the peer), let the others finish for up to grace_ms.
    void request_stop(int64_t grace_ms, std::vector<uint32_t> released_vips = {}) noexcept;
    void join();

    // Bumped every loop iteration and tick: the heartbeat watchdogs read.
    uint64_t heartbeat() const { return heartbeat_.load(std::memory_order_relaxed); }

private:
    struct WorkerListener {
        std::shared_ptr<const ListenerRuntime> runtime;
        std::shared_ptr<ListenerSockets> sockets;  // held only while accepting
        int fd = -1;
        bool accept_armed = false;
        bool paused = false;       // out of fds: resumes on a timer
        bool removed = false;
        std::unique_ptr<Scheduler> scheduler;
        std::deque<std::pair<uint32_t, uint32_t>> waiting;  // queued clients: {slot, generation}
        __kernel_timespec resume_after{};
        __kernel_timespec connect_timeout{};
    };

    // the loop (worker.cc)
    void run() noexcept;
    void wake() noexcept;
    void handle_cqe(const io_uring_cqe* cqe) noexcept;
    void arm_wake_read() noexcept;
    void arm_tick() noexcept;
    void on_wake() noexcept;
    void on_tick() noexcept;
    void apply_snapshot(const std::shared_ptr<const RuntimeSnapshot>& snapshot) noexcept;
    void begin_stop() noexcept;
    void close_drained() noexcept;  // drain_timeout passed (core/runtime/drain.h)
    void reset_released_vip_connections(const std::vector<uint32_t>& released) noexcept;
    bool finished() const noexcept;

    // accepting (worker_accept.cc)
    void arm_accept(uint32_t listener_slot) noexcept;
    void cancel_accept(uint32_t listener_slot) noexcept;
    void remove_listener(uint32_t listener_slot) noexcept;  // stops accepting; sockets go once no accept is armed
    void handle_accept(uint32_t listener_slot, int res, uint32_t flags) noexcept;
    void handle_accept_resume(uint32_t listener_slot) noexcept;
    void pause_accept(uint32_t listener_slot) noexcept;   // out of fds: retry accepting in 100 ms
    bool near_fd_limit() const noexcept;                  // estimated free fds below kFdMargin
    void pause_accepting() noexcept;                      // every listener of this worker
    void on_new_client(uint32_t listener_slot, UniqueFd client) noexcept;
    bool admit_address(const WorkerListener& wl, int fd, const InetAddr& client) noexcept;
    bool admit_source(const WorkerListener& wl, int fd, const InetAddr& source, bool* tracked) noexcept;
    bool admit_client(const WorkerListener& wl, int fd, const InetAddr& client, bool* tracked) noexcept;
    void start_connection(uint32_t slot) noexcept;

    // accept_proxy (worker_proxy.cc): the client's PROXY header before anything else
    void accept_proxied(uint32_t listener_slot, UniqueFd client) noexcept;
    void arm_proxy_poll(uint32_t slot) noexcept;
    void handle_proxy_poll(uint32_t slot, int res) noexcept;
    void check_proxy_header(uint32_t slot, bool ended) noexcept;
    void reject_proxied(uint32_t slot, uint8_t reason) noexcept;  // a ProxyRejectReason
    void recheck_proxy_waiting() noexcept;

    // connecting, queueing and closing (worker_connect.cc)
    void connect_next(uint32_t slot) noexcept;
    BackendPick pick_backend(const Connection& conn) noexcept;  // choose_backend, then reserve its slot
    static bool reserve_slot(BackendState& backend, uint32_t limit) noexcept;
    void enqueue(uint32_t slot) noexcept;
    void service_queue(uint32_t listener_slot) noexcept;
    void handle_connect(uint32_t slot, int res) noexcept;
    void log_connect_error(const Connection& conn, int res) noexcept;
    bool send_proxy_header(const Connection& conn) noexcept;
    void close_connection(uint32_t slot, CloseReason reason, CloseWith how) noexcept;
    void maybe_free(uint32_t slot) noexcept;

    // forwarding (worker_forward.cc): carries out what each direction's SpliceLeg decides
    using PollFor = SpliceLeg::PollFor;
    void start_forwarding(uint32_t slot) noexcept;
    void drain_starved() noexcept;  // buffers came back: recv again where ENOBUFS stopped it
    void run_leg_actions(uint32_t slot, Dir dir, LegActions actions) noexcept;
    bool run_close_or_log(uint32_t slot, Dir dir, LegActions actions) noexcept;  // true: closed
    void run_splice_actions(uint32_t slot, Dir dir, LegActions actions) noexcept;
    void arm_recv(uint32_t slot, Dir dir, uint32_t limit) noexcept;
    void cancel_recv(uint32_t slot, Dir dir) noexcept;
    void handle_recv(uint32_t slot, Dir dir, int res, uint32_t flags) noexcept;
    void submit_send(uint32_t slot, Dir dir) noexcept;
    const char* chunk_bytes(const SendChunk& chunk) const noexcept;
    void release_chunk(const SendChunk& chunk) noexcept;  // its ring buffer or its spilled copy
    void handle_send(uint32_t slot, Dir dir, int res) noexcept;
    void finish_direction(uint32_t slot, Dir dir) noexcept;
    void splice_pump(uint32_t slot, Dir dir) noexcept;
    void arm_poll(uint32_t slot, Dir dir, PollFor what) noexcept;
    void handle_poll(uint32_t slot, Dir dir, PollFor what, int res) noexcept;
    void count_bytes(Connection& conn, Dir dir, uint64_t n) noexcept;

    io_uring_sqe* sqe_for(uint32_t slot, Op op, Dir dir = Dir::kClientToBackend) noexcept;

    const int index_;
    const SnapshotHolder& snapshots_;
    const WorkerOptions options_;

    Ring ring_;
    BufferRing buffers_;
    SpillStore spills_;        // waiting bytes copied out of buffers_ when it runs low
    bool recv_limit_ = false;  // multishot recv takes a byte limit (recv_multishot_limit_supported)
    PipePool pipes_;
    ConnTable conns_;
    TimeoutLists timeouts_;
    std::vector<std::unique_ptr<WorkerListener>> listeners_;
    std::vector<Candidate> candidates_;      // scratch for pick_backend
    std::vector<uint32_t> expired_;          // scratch for on_tick
    // accept_proxy: clients whose header came in part, looked at again each tick.
    std::vector<std::pair<uint32_t, uint32_t>> proxy_waiting_, proxy_rechecks_;  // {slot, generation}
    std::vector<UniqueFd> close_after_submit_;  // closed once the cancels naming them are submitted
    struct Starved { uint32_t slot; uint32_t generation; Dir dir; };
    std::vector<Starved> starved_;
    static constexpr uint32_t kNoSlot = UINT32_MAX;
    static constexpr int64_t kAcceptPauseMs = 100;  // after EMFILE/ENFILE: retry accepting this much later
    static constexpr int64_t kFdPressureMs = 1000;  // after EMFILE/ENFILE: accept one at a time this long
    static constexpr uint64_t kFdMargin = 256;      // fewer free fds than this (estimated): one accept at a time
    // Accept and socket() failures for want of descriptors: one line a second, all workers.
    static LogRateLimit& fd_exhaustion_log() noexcept;
    uint32_t dequeued_slot_ = kNoSlot;       // the queued connection service_queue is trying
    uint32_t fd_waiters_ = 0;                // queued clients waiting for a backend fd (EMFILE)
    int64_t fd_pressure_until_ms_ = 0;       // single-shot accepts until then (last EMFILE + 1 s)

    UniqueFd wake_fd_;
    uint64_t wake_value_ = 0;
    __kernel_timespec tick_interval_{};
    int64_t now_ms_ = 0;
    std::shared_ptr<const RuntimeSnapshot> snapshot_;

    std::atomic<bool> reload_requested_{false};
    std::atomic<bool> stop_requested_{false};
    std::atomic<int64_t> grace_ms_{0};
    std::mutex stop_mutex_;                  // guards released_vips_ (set by request_stop)
    std::vector<uint32_t> released_vips_;
    bool stopping_ = false;
    int64_t stop_deadline_ms_ = 0;
    bool deadline_passed_ = false;

    AccessLogWriter* access_log_ = nullptr;  // this worker's writer of options_.access_log
    std::atomic<uint64_t> heartbeat_{0};
    std::thread thread_;
};

}  // namespace ringlb
