// The health-check thread; see health_checker.h. Decisions are HealthFsm's
// (pure); this file does the I/O: sockets, io_uring ops with linked timeouts,
// the schedule, snapshot changes, logging and publishing to BackendState.
#include "core/health/health_checker.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <time.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <future>
#include <queue>
#include <random>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/base/duration.h"
#include "core/base/log.h"
#include "core/base/op_tag.h"
#include "core/base/setup_thread.h"
#include "core/base/uring.h"
#include "core/health/health_fsm.h"
#include "core/runtime/runtime.h"
#include "core/runtime/snapshot_holder.h"

namespace ringlb {

namespace {

constexpr unsigned kSqEntries = 512;
constexpr unsigned kCqEntries = 8192;
constexpr size_t kResponseBytes = 512;   // a status line or an agent line fits
constexpr int64_t kStopWaitMs = 2000;    // for the CQEs of cancelled checks at stop
constexpr int kEagerRounds = 4;          // submit-and-reap rounds per wakeup before sleeping
// Longest a completion waits to be handled while checks are in flight; a step's
// timeout is what is left of check_timeout, so this stays under a tenth of it.
constexpr int64_t kMaxBusyWaitMs = 10;

enum class HcOp : uint8_t { kConnect = 1, kLinkTimeout, kSend, kRecv, kCancel, kClose };
enum ProbeKind : uint8_t { kHealthProbe = 0, kAgentProbe = 1 };

// user_data: sub is the probe kind.
using HcTag = CqeTag<HcOp>;

std::string connect_detail(int error) {
    switch (error) {
        case ECONNREFUSED: return "connect refused";
        case ECANCELED:
        case ETIMEDOUT: return "connect timeout";
        case EHOSTUNREACH: return "host unreachable";
        case ENETUNREACH: return "network unreachable";
        case ECONNRESET: return "connection reset";
        default: return std::string("connect: ") + std::strerror(error);
    }
}

// One check in progress on one backend: its socket and buffers. The timespec
// and buffers must stay put while the kernel may read or fill them.
struct Probe {
    bool enabled = false;  // this kind of check is configured
    bool busy = false;     // a check is running
    int fd = -1;
    uint32_t in_flight = 0;
    int64_t deadline_ms = 0;
    uint32_t epoch = 0;    // bumped on every (re)schedule: older heap entries are stale
    __kernel_timespec timeout{};
    size_t sent = 0;
    size_t received = 0;
    char buffer[kResponseBytes];
};

// One backend of one listener, for as long as a snapshot names it.
struct Target {
    bool live = false;
    bool retired = false;  // gone from the snapshot; freed once no CQE is pending
    uint32_t generation = 0;
    std::shared_ptr<BackendState> state;
    std::shared_ptr<const ListenerRuntime> listener;
    BackendConfig config;
    InetAddr check_addr;
    InetAddr agent_addr;
    std::string http_request;
    std::string label;  // "listener web backend 10.0.1.11:8080"
    HealthFsm fsm{HealthParams{}};
    Probe probes[2];
    uint64_t passive_trips_seen = 0;
    int64_t passive_trip_ms = 0;
    uint32_t published_permille = 1000;
    std::string agent_error;  // the last agent failure logged, to log each change once

    const ListenerConfig& lc() const { return listener->config; }
};

struct Due {
    int64_t due_ms;
    uint32_t slot;
    uint32_t generation;
    uint32_t epoch;
    uint8_t kind;
    bool operator>(const Due& other) const { return due_ms > other.due_ms; }
};

std::string passive_detail(const ListenerConfig& lc, int error) {
    return std::to_string(lc.max_fails) + "/" + std::to_string(lc.max_fails) + " connect failure" +
           (lc.max_fails == 1 ? "" : "s") + " within " + format_duration(lc.fail_timeout) + ": " +
           connect_detail(error);
}

HealthParams params_for(const ListenerConfig& lc) {
    return HealthParams{lc.check.kind != HealthCheckKind::kNone, lc.rise, lc.fall, lc.slow_start.count()};
}

}  // namespace

class HealthChecker::Loop {
public:
    Loop(const SnapshotHolder& snapshots, HealthCheckerOptions options)
        : snapshots_(snapshots), options_(options), rng_(uint64_t(monotonic_ms()) * 0x9e3779b97f4a7c15ull) {}

    void init_ring() { ring_.init(kSqEntries, kCqEntries); }
    void run();

    std::atomic<bool> stop_requested{false};

private:
    void on_tick(int64_t now);
    void apply_snapshot(const std::shared_ptr<const RuntimeSnapshot>& snapshot, int64_t now);
    uint32_t allocate_slot();
    void configure(Target& t, const ListenerRuntime& listener, const BackendConfig& config);
    void update_probes(uint32_t slot, int64_t now);
    void retire(uint32_t slot);
    void maybe_release(uint32_t slot);

    void schedule(uint32_t slot, uint8_t kind, int64_t due_ms);
    int64_t interval_ms(const Target& t, uint8_t kind) const;
    int64_t jittered(int64_t interval);
    void start_due(int64_t now);
    void launch(uint32_t slot, uint8_t kind, int64_t due_ms, int64_t now);

    io_uring_sqe* prep(uint32_t slot, uint8_t kind, HcOp op);
    void submit_step(uint32_t slot, uint8_t kind, HcOp op, int64_t now);
    void handle(const io_uring_cqe* cqe, int64_t now);
    void on_connected(uint32_t slot, uint8_t kind, int res, int64_t now);
    void on_sent(uint32_t slot, uint8_t kind, int res, int64_t now);
    void on_received(uint32_t slot, uint8_t kind, int res, int64_t now);
    void finish_check(uint32_t slot, bool passed, const std::string& detail, int64_t now);
    void finish_agent(uint32_t slot, bool complete, const std::string& failure, int64_t now);
    void close_probe(Probe& p);
    void end_probe(uint32_t slot, uint8_t kind);

    void sync_passive(Target& t, int64_t now);
    void apply(Target& t, std::optional<HealthTransition> transition, int64_t now, bool passive_recovery = false);
    void publish(Target& t, int64_t now);
    void check_enter(int rc);
    unsigned reap(int64_t now);
    void shutdown();

    const SnapshotHolder& snapshots_;
    const HealthCheckerOptions options_;
    Ring ring_;
    std::shared_ptr<const RuntimeSnapshot> snapshot_;
    std::vector<std::unique_ptr<Target>> slots_;
    std::vector<uint32_t> free_slots_;
    std::priority_queue<Due, std::vector<Due>, std::greater<Due>> heap_;
    std::mt19937_64 rng_;
    uint64_t in_flight_ = 0;
    int64_t next_tick_ms_ = 0;
    int64_t busy_wait_ms_ = kMaxBusyWaitMs;
    LogRateLimit socket_log_;
};

// ------------------------------------------------------------------ loop

void HealthChecker::Loop::run() {
    pthread_setname_np(pthread_self(), "ringlb-health");  // perf/health_bench.py finds it by name
    int64_t now = monotonic_ms();
    while (!stop_requested.load(std::memory_order_relaxed)) {
        if (now >= next_tick_ms_) {
            on_tick(now);
            next_tick_ms_ = now + options_.tick_ms;
        }
        start_due(now);
        // Rounds that never sleep: submit, run deferred completions, handle them. A
        // connect to a near backend often completes right here, and the next step
        // (send, close) goes out in the same wakeup. Bounded: a step per round.
        for (int round = 0; round < kEagerRounds; ++round) {
            check_enter(io_uring_submit_and_get_events(ring_.raw()));
            now = monotonic_ms();
            if (reap(now) == 0) break;
        }
        // Then sleep until the next check is due or the tick, and while checks are in
        // flight at most busy_wait_ms_. Sleeping outside io_uring_enter means
        // completions (deferred to this thread, DEFER_TASKRUN) do not wake us one by
        // one: they are handled in batches, one wakeup per busy_wait_ms_ at most
        // instead of one per check; a context switch costs more than a check's
        // user-space work.
        int64_t wake = next_tick_ms_;
        if (!heap_.empty()) wake = std::min(wake, heap_.top().due_ms);
        if (in_flight_ > 0) wake = std::min(wake, now + busy_wait_ms_);
        if (wake > now) {
            const timespec pause{time_t((wake - now) / 1000), long((wake - now) % 1000) * 1000000};
            nanosleep(&pause, nullptr);
        }
        now = monotonic_ms();
    }
    shutdown();
}

void HealthChecker::Loop::check_enter(int rc) {
    if (rc >= 0 || rc == -ETIME || rc == -EINTR || rc == -EAGAIN || rc == -EBUSY) return;
    // Health checks that silently stopped would leave every verdict frozen.
    spdlog::critical("health checks: io_uring_enter: {}; exiting", std::strerror(-rc));
    std::_Exit(70);
}

unsigned HealthChecker::Loop::reap(int64_t now) {
    unsigned head, seen = 0;
    io_uring_cqe* cqe;
    io_uring_for_each_cqe(ring_.raw(), head, cqe) {
        handle(cqe, now);
        ++seen;
    }
    io_uring_cq_advance(ring_.raw(), seen);
    return seen;
}

void HealthChecker::Loop::shutdown() {
    for (auto& t : slots_) {
        if (!t->live) continue;
        for (Probe& p : t->probes) {
            if (p.fd >= 0 && p.in_flight > 0) {
                io_uring_sqe* sqe = ring_.get_sqe();
                io_uring_prep_cancel_fd(sqe, p.fd, IORING_ASYNC_CANCEL_ALL);
                io_uring_sqe_set_data64(sqe, HcTag{HcOp::kCancel, 0, 0, 0}.pack());
                ++in_flight_;
            }
        }
    }
    io_uring_submit(ring_.raw());
    // Buffers and timespecs live in the targets: wait for every CQE before they go.
    const int64_t deadline = monotonic_ms() + kStopWaitMs;
    while (in_flight_ > 0 && monotonic_ms() < deadline) {
        io_uring_cqe* cqe = nullptr;
        __kernel_timespec wait = to_timespec(100);
        if (io_uring_wait_cqe_timeout(ring_.raw(), &cqe, &wait) != 0) continue;
        unsigned head, seen = 0;
        io_uring_for_each_cqe(ring_.raw(), head, cqe) {
            --in_flight_;
            ++seen;
        }
        io_uring_cq_advance(ring_.raw(), seen);
    }
    for (auto& t : slots_)
        for (Probe& p : t->probes) close_probe(p);
}

void HealthChecker::Loop::on_tick(int64_t now) {
    auto snapshot = snapshots_.load();
    if (snapshot && snapshot != snapshot_) apply_snapshot(snapshot, now);
    for (uint32_t slot = 0; slot < slots_.size(); ++slot) {
        Target& t = *slots_[slot];
        if (!t.live || t.retired) continue;
        sync_passive(t, now);
        if (t.fsm.passive_down() && now - t.passive_trip_ms >= t.lc().fail_timeout.count())
            apply(t, t.fsm.on_passive_recovery(now), now, true);
        if (t.fsm.weight_permille(now) != t.published_permille) publish(t, now);
    }
}

// ------------------------------------------------------------------ snapshots

uint32_t HealthChecker::Loop::allocate_slot() {
    if (!free_slots_.empty()) {
        uint32_t slot = free_slots_.back();
        free_slots_.pop_back();
        return slot;
    }
    slots_.push_back(std::make_unique<Target>());
    return uint32_t(slots_.size() - 1);
}

void HealthChecker::Loop::configure(Target& t, const ListenerRuntime& listener, const BackendConfig& config) {
    const ListenerConfig& lc = listener.config;
    t.config = config;
    t.check_addr = config.address;
    if (lc.check_port) t.check_addr.set_port(*lc.check_port);
    t.agent_addr = config.address;
    if (lc.agent_port) t.agent_addr.set_port(*lc.agent_port);
    t.http_request = lc.check.kind == HealthCheckKind::kHttp ? build_http_check_request(lc.check, t.check_addr) : "";
    t.label = "listener " + lc.name + " backend " + config.address.to_string();
}

void HealthChecker::Loop::apply_snapshot(const std::shared_ptr<const RuntimeSnapshot>& snapshot, int64_t now) {
    std::unordered_map<const BackendState*, uint32_t> by_state;
    for (uint32_t slot = 0; slot < slots_.size(); ++slot)
        if (slots_[slot]->live && !slots_[slot]->retired) by_state.emplace(slots_[slot]->state.get(), slot);
    std::vector<bool> kept(slots_.size(), false);
    for (const ListenerEntry& entry : snapshot->listeners) {
        const auto& listener = entry.runtime;
        for (const BackendRef& backend : listener->backends) {
            const HealthParams params = params_for(listener->config);
            auto found = by_state.find(backend.state.get());
            uint32_t slot;
            if (found != by_state.end()) {
                slot = found->second;
                kept[slot] = true;
                Target& t = *slots_[slot];
                t.listener = listener;
                configure(t, *listener, backend.config);
                apply(t, t.fsm.set_params(params, now), now);
            } else {
                slot = allocate_slot();
                if (slot >= kept.size()) kept.resize(slot + 1, false);
                kept[slot] = true;
                Target& t = *slots_[slot];
                t.live = true;
                t.retired = false;
                t.state = backend.state;
                t.listener = listener;
                t.fsm = HealthFsm(params);
                t.passive_trips_seen = backend.state->passive_trips.load();
                t.published_permille = 0;  // publish the weight at least once
                configure(t, *listener, backend.config);
                publish(t, now);
            }
            Target& t = *slots_[slot];
            apply(t, t.fsm.on_admin(backend.config.state, now), now);
            update_probes(slot, now);
        }
    }
    for (uint32_t slot = 0; slot < kept.size(); ++slot)
        if (!kept[slot] && slots_[slot]->live && !slots_[slot]->retired) retire(slot);
    busy_wait_ms_ = kMaxBusyWaitMs;
    for (const ListenerEntry& entry : snapshot->listeners)
        busy_wait_ms_ = std::clamp<int64_t>(entry.runtime->config.check_timeout.count() / 10, 1, busy_wait_ms_);
    snapshot_ = snapshot;
}

// Turns each kind of check on or off as the listener now says; a newly enabled
// one starts at a random point of its interval, so checks spread out.
void HealthChecker::Loop::update_probes(uint32_t slot, int64_t now) {
    Target& t = *slots_[slot];
    const bool want[2] = {t.lc().check.kind != HealthCheckKind::kNone, t.lc().agent_port.has_value()};
    for (uint8_t kind : {kHealthProbe, kAgentProbe}) {
        Probe& p = t.probes[kind];
        if (want[kind] && !p.enabled) {
            p.enabled = true;
            std::uniform_int_distribution<int64_t> phase(0, std::max<int64_t>(interval_ms(t, kind) - 1, 0));
            schedule(slot, kind, now + phase(rng_));
        } else if (!want[kind] && p.enabled) {
            p.enabled = false;
            ++p.epoch;  // its heap entry is now stale; a running check finishes unheeded
        }
    }
}

void HealthChecker::Loop::retire(uint32_t slot) {
    Target& t = *slots_[slot];
    t.retired = true;
    bool cancelled = false;
    for (uint8_t kind : {kHealthProbe, kAgentProbe}) {
        Probe& p = t.probes[kind];
        p.enabled = false;
        ++p.epoch;
        if (p.fd >= 0 && p.in_flight > 0) {
            io_uring_sqe* sqe = prep(slot, kind, HcOp::kCancel);
            io_uring_prep_cancel_fd(sqe, p.fd, IORING_ASYNC_CANCEL_ALL);
            cancelled = true;
        }
    }
    // The cancels must reach the kernel before the fds close.
    if (cancelled) io_uring_submit(ring_.raw());
    for (Probe& p : t.probes) close_probe(p);
    maybe_release(slot);
}

void HealthChecker::Loop::maybe_release(uint32_t slot) {
    Target& t = *slots_[slot];
    if (!t.retired || t.probes[0].in_flight > 0 || t.probes[1].in_flight > 0) return;
    const uint32_t generation = t.generation + 1;
    t = Target{};
    t.generation = generation;
    free_slots_.push_back(slot);
}

// ------------------------------------------------------------------ schedule

int64_t HealthChecker::Loop::interval_ms(const Target& t, uint8_t kind) const {
    return kind == kHealthProbe ? t.lc().check_interval.count() : t.lc().agent_interval.count();
}

// ±5%: checks started together drift apart instead of firing in step for ever.
int64_t HealthChecker::Loop::jittered(int64_t interval) {
    std::uniform_int_distribution<int64_t> jitter(-interval / 20, interval / 20);
    return std::max<int64_t>(interval + jitter(rng_), 1);
}

void HealthChecker::Loop::schedule(uint32_t slot, uint8_t kind, int64_t due_ms) {
    Target& t = *slots_[slot];
    Probe& p = t.probes[kind];
    ++p.epoch;
    heap_.push(Due{due_ms, slot, t.generation, p.epoch, kind});
}

void HealthChecker::Loop::start_due(int64_t now) {
    while (!heap_.empty() && heap_.top().due_ms <= now + options_.batch_slack_ms) {
        const Due due = heap_.top();
        heap_.pop();
        Target& t = *slots_[due.slot];
        if (!t.live || t.retired || t.generation != due.generation) continue;
        Probe& p = t.probes[due.kind];
        if (!p.enabled || p.epoch != due.epoch) continue;
        launch(due.slot, due.kind, due.due_ms, now);
    }
}

void HealthChecker::Loop::launch(uint32_t slot, uint8_t kind, int64_t due_ms, int64_t now) {
    Target& t = *slots_[slot];
    Probe& p = t.probes[kind];
    // From the planned time, not from now: starting up to batch_slack_ms early
    // must not make checks more frequent than check_interval.
    schedule(slot, kind, std::max(due_ms + jittered(interval_ms(t, kind)), now + 1));
    // Still running (timeout longer than the interval), or paused for maintenance: skip a turn.
    if (p.busy || p.in_flight > 0) return;
    if (kind == kHealthProbe ? t.fsm.active_checks_paused() : t.fsm.agent_paused()) return;

    const InetAddr& target = kind == kHealthProbe ? t.check_addr : t.agent_addr;
    int fd = ::socket(target.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        // Out of descriptors here says nothing about the backend: no verdict.
        uint64_t suppressed = 0;
        if (socket_log_.allow(now, &suppressed))
            spdlog::warn("health checks: socket: {}; check skipped ({} more since last line)", std::strerror(errno),
                         suppressed);
        return;
    }
    // Close with a reset: a checker that closes first would otherwise leave a
    // TIME_WAIT socket per check (60,000 at 1,000 checks a second), as HAProxy avoids too.
    linger hard{1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &hard, sizeof(hard));
    if (kind == kHealthProbe) {
        // Delay our handshake ACK (HAProxy does the same): a tcp check then ends
        // with SYN, SYN-ACK, RST, so the backend never creates, queues and hands its
        // application a connection for it; an http check's request carries the ACK.
        // Not for the agent, which speaks first and needs the handshake done.
        int zero = 0;
        setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &zero, sizeof(zero));
    }
    p.fd = fd;
    p.busy = true;
    p.sent = 0;
    p.received = 0;
    p.deadline_ms = now + t.lc().check_timeout.count();
    submit_step(slot, kind, HcOp::kConnect, now);
}

// ------------------------------------------------------------------ ops

io_uring_sqe* HealthChecker::Loop::prep(uint32_t slot, uint8_t kind, HcOp op) {
    Target& t = *slots_[slot];
    io_uring_sqe* sqe = ring_.get_sqe();
    io_uring_sqe_set_data64(sqe, HcTag{op, kind, t.generation, slot}.pack());
    ++t.probes[kind].in_flight;
    ++in_flight_;
    return sqe;
}

// One step of a check (connect, send the rest of the request, or receive into
// the rest of the buffer), linked to a timeout for what is left of check_timeout.
void HealthChecker::Loop::submit_step(uint32_t slot, uint8_t kind, HcOp op, int64_t now) {
    Target& t = *slots_[slot];
    Probe& p = t.probes[kind];
    // A link must not be split across two submissions: keep both SQEs together.
    if (io_uring_sq_space_left(ring_.raw()) < 2) io_uring_submit(ring_.raw());
    io_uring_sqe* sqe = prep(slot, kind, op);
    if (op == HcOp::kConnect) {
        const InetAddr& addr = kind == kHealthProbe ? t.check_addr : t.agent_addr;
        io_uring_prep_connect(sqe, p.fd, addr.sockaddr_ptr(), addr.sockaddr_len());
    } else if (op == HcOp::kSend) {
        io_uring_prep_send(sqe, p.fd, t.http_request.data() + p.sent, t.http_request.size() - p.sent, MSG_NOSIGNAL);
    } else {
        io_uring_prep_recv(sqe, p.fd, p.buffer + p.received, kResponseBytes - p.received, 0);
    }
    sqe->flags |= IOSQE_IO_LINK;
    p.timeout = to_timespec(std::max<int64_t>(p.deadline_ms - now, 1));
    io_uring_sqe* timeout = prep(slot, kind, HcOp::kLinkTimeout);
    io_uring_prep_link_timeout(timeout, &p.timeout, 0);
}

void HealthChecker::Loop::handle(const io_uring_cqe* cqe, int64_t now) {
    const HcTag tag = HcTag::unpack(cqe->user_data);
    --in_flight_;
    Target& t = *slots_[tag.slot];
    if (!t.live || (t.generation & HcTag::kGenerationMask) != tag.generation) {
        // Cannot happen while in-flight counting holds: a slot is reused only at zero.
        spdlog::warn("health checks: dropped a stale completion (op {})", int(tag.op));
        return;
    }
    Probe& p = t.probes[tag.sub];
    --p.in_flight;
    if (!p.busy || t.retired) {
        maybe_release(tag.slot);
        return;
    }
    switch (tag.op) {
        case HcOp::kConnect: on_connected(tag.slot, tag.sub, cqe->res, now); break;
        case HcOp::kSend: on_sent(tag.slot, tag.sub, cqe->res, now); break;
        case HcOp::kRecv: on_received(tag.slot, tag.sub, cqe->res, now); break;
        case HcOp::kLinkTimeout:
        case HcOp::kCancel:
        case HcOp::kClose: break;
    }
}

void HealthChecker::Loop::on_connected(uint32_t slot, uint8_t kind, int res, int64_t now) {
    Target& t = *slots_[slot];
    if (res < 0) {
        if (kind == kAgentProbe) return finish_agent(slot, false, "agent " + connect_detail(-res), now);
        return finish_check(slot, false, connect_detail(-res), now);
    }
    if (kind == kAgentProbe) return submit_step(slot, kind, HcOp::kRecv, now);
    if (t.lc().check.kind != HealthCheckKind::kHttp || t.http_request.empty())
        return finish_check(slot, true, "connect ok", now);
    submit_step(slot, kind, HcOp::kSend, now);
}

void HealthChecker::Loop::on_sent(uint32_t slot, uint8_t kind, int res, int64_t now) {
    Target& t = *slots_[slot];
    Probe& p = t.probes[kind];
    if (res < 0) {
        return finish_check(slot, false,
                            res == -ECANCELED ? "timeout sending the request"
                                              : std::string("send: ") + std::strerror(-res),
                            now);
    }
    p.sent += size_t(res);
    submit_step(slot, kind, p.sent < t.http_request.size() ? HcOp::kSend : HcOp::kRecv, now);
}

void HealthChecker::Loop::on_received(uint32_t slot, uint8_t kind, int res, int64_t now) {
    Target& t = *slots_[slot];
    Probe& p = t.probes[kind];
    const int64_t timeout_ms = t.lc().check_timeout.count();
    if (res < 0) {
        std::string why = res == -ECANCELED ? "no response within " + format_duration(Millis(timeout_ms))
                                            : std::string("recv: ") + std::strerror(-res);
        if (kind == kAgentProbe) return finish_agent(slot, false, "agent: " + why, now);
        return finish_check(slot, false, why, now);
    }
    p.received += size_t(res);
    const bool complete = res == 0 || p.received == kResponseBytes;
    const std::string_view got(p.buffer, p.received);
    if (kind == kAgentProbe) {
        if (complete || got.find('\n') != std::string_view::npos) return finish_agent(slot, true, "", now);
    } else if (auto verdict = evaluate_http_check(got, t.lc().check, complete)) {
        return finish_check(slot, verdict->passed, verdict->detail, now);
    }
    submit_step(slot, kind, HcOp::kRecv, now);
}

// A finished check: its socket is closed by io_uring along with the other
// SQEs of this wakeup, a syscall saved per check.
void HealthChecker::Loop::end_probe(uint32_t slot, uint8_t kind) {
    Probe& p = slots_[slot]->probes[kind];
    if (p.fd >= 0) {
        io_uring_sqe* sqe = prep(slot, kind, HcOp::kClose);
        io_uring_prep_close(sqe, p.fd);
    }
    p.fd = -1;
    p.busy = false;
}

void HealthChecker::Loop::close_probe(Probe& p) {
    // Only a linked timeout may still be pending here, and it holds no fd.
    if (p.fd >= 0) ::close(p.fd);
    p.fd = -1;
    p.busy = false;
}

void HealthChecker::Loop::finish_check(uint32_t slot, bool passed, const std::string& detail, int64_t now) {
    Target& t = *slots_[slot];
    end_probe(slot, kHealthProbe);
    t.state->checks_total.fetch_add(1, std::memory_order_relaxed);
    if (!passed) t.state->checks_failed.fetch_add(1, std::memory_order_relaxed);
    t.state->set_last_check(detail);
    spdlog::debug("{} check {}: {}", t.label, passed ? "passed" : "failed", detail);
    sync_passive(t, now);
    apply(t, t.fsm.on_check(passed, detail, now), now);
}

// The agent's reply is in the probe's buffer when `complete`; otherwise
// `failure` says why there is none. An agent that cannot be reached changes
// nothing (HAProxy: connectivity is the health check's business).
void HealthChecker::Loop::finish_agent(uint32_t slot, bool complete, const std::string& failure, int64_t now) {
    Target& t = *slots_[slot];
    Probe& p = t.probes[kAgentProbe];
    std::string line(p.buffer, p.received);
    end_probe(slot, kAgentProbe);
    if (!p.enabled) return;  // agent_port removed by a reload meanwhile
    line = line.substr(0, line.find('\n'));
    if (!line.empty() && line.back() == '\r') line.pop_back();
    Result<AgentReply> reply = complete ? parse_agent_reply(line) : Result<AgentReply>(fail(failure));
    if (!reply) {
        if (reply.error() != t.agent_error)
            spdlog::warn("{} agent check: {}{}", t.label, reply.error(),
                         complete ? "" : "; keeping the agent's last word");
        t.agent_error = reply.error();
        return;
    }
    if (!t.agent_error.empty()) spdlog::info("{} agent answers again: '{}'", t.label, line);
    t.agent_error.clear();
    spdlog::debug("{} agent said '{}'", t.label, line);
    const uint32_t percent_before = t.fsm.agent_percent();
    sync_passive(t, now);
    apply(t, t.fsm.on_agent(*reply, line, now), now);
    if (t.fsm.agent_percent() != percent_before)
        spdlog::info("{} weight {}% of {} (agent: '{}')", t.label, t.fsm.agent_percent(), t.config.weight, line);
}

// ------------------------------------------------------------------ verdicts

// Workers trip passive failures on their own; the checker learns of it here,
// before any verdict of its own and on every tick.
void HealthChecker::Loop::sync_passive(Target& t, int64_t now) {
    const uint64_t trips = t.state->passive_trips.load();
    if (trips == t.passive_trips_seen) return;
    t.passive_trips_seen = trips;
    t.passive_trip_ms = t.state->passive_trip_ms.load();
    apply(t, t.fsm.on_passive_trip(passive_detail(t.lc(), t.state->passive_errno.load()), now), now);
}

void HealthChecker::Loop::apply(Target& t, std::optional<HealthTransition> transition, int64_t now,
                                bool passive_recovery) {
    if (transition) {
        const auto level = transition->to == BackendStatus::kDown ? spdlog::level::warn : spdlog::level::info;
        spdlog::log(level, "{} {} ({})", t.label, status_name(transition->to), transition->reason);
        t.state->transitions.fetch_add(1, std::memory_order_relaxed);
        if (transition->to == BackendStatus::kUp) {
            // Back by checks (or by an operator): old connect failures no longer count.
            // Back because fail_timeout passed: on probation, one failure trips it again.
            const PassiveParams params{t.lc().max_fails, t.lc().fail_timeout.count()};
            t.state->passive_window.store(passive_recovery ? passive_probation(now, params).pack() : 0);
        }
    }
    publish(t, now);
}

void HealthChecker::Loop::publish(Target& t, int64_t now) {
    BackendState& s = *t.state;
    const BackendStatus status = t.fsm.status();
    if (s.status.load(std::memory_order_relaxed) != status) s.status.store(status);
    const uint32_t permille = t.fsm.weight_permille(now);
    if (permille != t.published_permille) {
        s.weight_permille.store(permille, std::memory_order_relaxed);
        t.published_permille = permille;
    }
    if (status != BackendStatus::kUp || s.admin.load() != BackendAdminState::kReady) {
        if (s.healthy.load(std::memory_order_relaxed)) s.healthy.store(false);
        return;
    }
    if (s.healthy.load()) return;
    s.healthy.store(true);
    // A worker may have tripped passive failures since sync_passive, or the daemon
    // drained the backend since this pass began: each writes its own atomic before
    // clearing healthy, so seeing neither here means their false comes after ours.
    if (s.passive_trips.load() != t.passive_trips_seen || s.admin.load() != BackendAdminState::kReady)
        s.healthy.store(false);
}

void publish_admin_states(const RuntimeSnapshot& snapshot) {
    for (const ListenerEntry& entry : snapshot.listeners) {
        for (const BackendRef& backend : entry.runtime->backends) {
            backend.state->admin.store(backend.config.state);
            if (backend.config.state != BackendAdminState::kReady) backend.state->healthy.store(false);
        }
    }
}

// ------------------------------------------------------------------ HealthChecker

HealthChecker::HealthChecker(const SnapshotHolder& snapshots, HealthCheckerOptions options)
    : loop_(std::make_unique<Loop>(snapshots, options)) {}

HealthChecker::~HealthChecker() { stop(); }

void HealthChecker::start() {
    thread_ = start_thread_after_setup("health checker", [this] { loop_->init_ring(); }, [this] { loop_->run(); });
}

void HealthChecker::stop() {
    loop_->stop_requested.store(true);
    if (thread_.joinable()) thread_.join();
}

}  // namespace ringlb
