// The health-check thread; see health_checker.h. The loop: it follows snapshots
// into targets, asks CheckSchedule (pure) what is due, starts probes on its ring
// (health_probe), reaps their completions and hands results to health_target.
#include "core/health/health_checker.h"

#include <pthread.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/base/clock.h"
#include "core/base/log.h"
#include "core/base/rate_limit.h"
#include "core/base/setup_thread.h"
#include "core/base/uring.h"
#include "core/health/check_schedule.h"
#include "core/health/health_probe.h"
#include "core/health/health_target.h"
#include "core/runtime/runtime.h"
#include "core/runtime/snapshot_holder.h"

namespace ringlb {

namespace {

constexpr unsigned kSqEntries = 512;
constexpr unsigned kCqEntries = 8192;
constexpr int64_t kStopWaitMs = 2000;  // for the CQEs of cancelled checks at stop
constexpr int kEagerRounds = 4;        // submit-and-reap rounds per wakeup before sleeping
// Longest a completion waits to be handled while checks are in flight; a step's
// timeout is what is left of check_timeout, so this stays under a tenth of it.
constexpr int64_t kMaxBusyWaitMs = 10;

}  // namespace

class HealthChecker::Loop {
public:
    Loop(const SnapshotHolder& snapshots, HealthCheckerOptions options)
        : snapshots_(snapshots),
          options_(options),
          rng_(uint64_t(monotonic_ms()) * 0x9e3779b97f4a7c15ull),
          schedule_([this](int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(rng_); },
                    options.batch_slack_ms) {}

    void init_ring() { ring_.init(kSqEntries, kCqEntries); }
    void run();

    std::atomic<bool> stop_requested{false};

private:
    void on_tick(int64_t now);
    void apply_snapshot(const std::shared_ptr<const RuntimeSnapshot>& snapshot, int64_t now);
    uint32_t allocate_slot();
    void follow_checks(uint32_t slot, int64_t now);
    void retire(uint32_t slot);
    void maybe_release(uint32_t slot);

    void start_due(int64_t now);
    void launch(CheckId id, int64_t now);
    HcTag owner(CheckId id) const;
    void handle(const io_uring_cqe* cqe, int64_t now);
    void check_enter(int rc);
    unsigned reap(int64_t now);
    void shutdown();

    const SnapshotHolder& snapshots_;
    const HealthCheckerOptions options_;
    Ring ring_;
    ProbeRing probes_{ring_};
    std::mt19937_64 rng_;
    CheckSchedule schedule_;
    std::shared_ptr<const RuntimeSnapshot> snapshot_;
    std::vector<std::unique_ptr<HealthTarget>> slots_;  // never move: the kernel fills their probes
    std::vector<uint32_t> free_slots_;
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
        if (auto due = schedule_.next_due_ms()) wake = std::min(wake, *due);
        if (probes_.in_flight() > 0) wake = std::min(wake, now + busy_wait_ms_);
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
    for (uint32_t slot = 0; slot < slots_.size(); ++slot) {
        if (!slots_[slot]->live) continue;
        for (CheckKind kind : kCheckKinds) probes_.abandon(slots_[slot]->probe(kind), owner({slot, kind}));
    }
    // Buffers and timespecs live in the targets: wait for every CQE before they go.
    const int64_t deadline = monotonic_ms() + kStopWaitMs;
    while (probes_.in_flight() > 0 && monotonic_ms() < deadline) {
        io_uring_cqe* cqe = nullptr;
        __kernel_timespec wait = to_timespec(100);
        if (io_uring_wait_cqe_timeout(ring_.raw(), &cqe, &wait) != 0) continue;
        unsigned head, seen = 0;
        io_uring_for_each_cqe(ring_.raw(), head, cqe) {
            probes_.count_reaped();
            ++seen;
        }
        io_uring_cq_advance(ring_.raw(), seen);
    }
}

void HealthChecker::Loop::on_tick(int64_t now) {
    auto snapshot = snapshots_.load();
    if (snapshot && snapshot != snapshot_) apply_snapshot(snapshot, now);
    for (auto& t : slots_)
        if (t->live && !t->retired) follow_time(*t, now);
}

// ------------------------------------------------------------------ snapshots

uint32_t HealthChecker::Loop::allocate_slot() {
    if (!free_slots_.empty()) {
        uint32_t slot = free_slots_.back();
        free_slots_.pop_back();
        return slot;
    }
    slots_.push_back(std::make_unique<HealthTarget>());
    return uint32_t(slots_.size() - 1);
}

void HealthChecker::Loop::apply_snapshot(const std::shared_ptr<const RuntimeSnapshot>& snapshot, int64_t now) {
    std::unordered_map<const BackendState*, uint32_t> by_state;
    for (uint32_t slot = 0; slot < slots_.size(); ++slot)
        if (slots_[slot]->live && !slots_[slot]->retired) by_state.emplace(slots_[slot]->state.get(), slot);
    std::vector<bool> kept(slots_.size(), false);
    for (const ListenerEntry& entry : snapshot->listeners) {
        const auto& listener = entry.runtime;
        for (const BackendRef& backend : listener->backends) {
            const HealthParams params = health_params(listener->config);
            auto found = by_state.find(backend.state.get());
            uint32_t slot;
            if (found != by_state.end()) {
                slot = found->second;
                kept[slot] = true;
                HealthTarget& t = *slots_[slot];
                configure_target(t, listener, backend.config);
                apply_transition(t, t.fsm.set_params(params, now), now);
            } else {
                slot = allocate_slot();
                if (slot >= kept.size()) kept.resize(slot + 1, false);
                kept[slot] = true;
                HealthTarget& t = *slots_[slot];
                t.live = true;
                t.retired = false;
                t.state = backend.state;
                t.fsm = HealthFsm(params);
                t.passive_trips_seen = backend.state->passive_trips.load();
                t.published_permille = 0;  // publish the weight at least once
                configure_target(t, listener, backend.config);
                publish(t, now);
            }
            HealthTarget& t = *slots_[slot];
            apply_transition(t, t.fsm.on_admin(backend.config.state, now), now);
            follow_checks(slot, now);
        }
    }
    for (uint32_t slot = 0; slot < kept.size(); ++slot)
        if (!kept[slot] && slots_[slot]->live && !slots_[slot]->retired) retire(slot);
    busy_wait_ms_ = kMaxBusyWaitMs;
    for (const ListenerEntry& entry : snapshot->listeners)
        busy_wait_ms_ = std::clamp<int64_t>(entry.runtime->config.check_timeout.count() / 10, 1, busy_wait_ms_);
    snapshot_ = snapshot;
}

// Each kind of check on or off, at the interval, as the listener now says.
void HealthChecker::Loop::follow_checks(uint32_t slot, int64_t now) {
    const HealthTarget& t = *slots_[slot];
    for (CheckKind kind : kCheckKinds)
        schedule_.configure({slot, kind}, t.probe_target(kind) != nullptr, t.interval_ms(kind), now);
}

void HealthChecker::Loop::retire(uint32_t slot) {
    HealthTarget& t = *slots_[slot];
    t.retired = true;
    schedule_.retire(slot);
    for (CheckKind kind : kCheckKinds) probes_.abandon(t.probe(kind), owner({slot, kind}));
    maybe_release(slot);
}

// A retired slot is reused only once no CQE of it can come any more.
void HealthChecker::Loop::maybe_release(uint32_t slot) {
    HealthTarget& t = *slots_[slot];
    if (!t.retired || t.probe(CheckKind::kHealth).in_flight > 0 || t.probe(CheckKind::kAgent).in_flight > 0) return;
    const uint32_t generation = t.generation + 1;
    t = HealthTarget{};
    t.generation = generation;
    free_slots_.push_back(slot);
}

// ------------------------------------------------------------------ checks

void HealthChecker::Loop::start_due(int64_t now) {
    while (auto due = schedule_.pop_due(now)) launch(*due, now);
}

void HealthChecker::Loop::launch(CheckId id, int64_t now) {
    HealthTarget& t = *slots_[id.slot];
    Probe& p = t.probe(id.kind);
    // Still running (timeout longer than the interval), or paused for maintenance: skip a turn.
    if (!p.idle()) return;
    if (id.kind == CheckKind::kHealth ? t.fsm.active_checks_paused() : t.fsm.agent_paused()) return;
    if (auto started = probes_.start(p, t.probe_target(id.kind), owner(id), now); !started) {
        // Out of descriptors here says nothing about the backend: no verdict.
        uint64_t suppressed = 0;
        if (socket_log_.allow(now, &suppressed))
            spdlog::warn("health checks: {}; check skipped ({} more since last line)", started.error(), suppressed);
    }
}

HcTag HealthChecker::Loop::owner(CheckId id) const {
    return HcTag{HcOp::kConnect, uint8_t(id.kind), slots_[id.slot]->generation, id.slot};
}

void HealthChecker::Loop::handle(const io_uring_cqe* cqe, int64_t now) {
    const HcTag tag = HcTag::unpack(cqe->user_data);
    probes_.count_reaped();
    HealthTarget& t = *slots_[tag.slot];
    if (!t.live || (t.generation & HcTag::kGenerationMask) != tag.generation) {
        // Cannot happen while in-flight counting holds: a slot is reused only at zero.
        spdlog::warn("health checks: dropped a stale completion (op {})", int(tag.op));
        return;
    }
    const CheckKind kind = CheckKind(tag.sub);
    Probe& p = t.probe(kind);
    --p.in_flight;
    if (!p.running || t.retired) {
        maybe_release(tag.slot);
        return;
    }
    const std::optional<ProbeResult> result = probes_.on_completion(p, tag, cqe->res, now);
    if (!result) return;
    if (kind == CheckKind::kHealth) {
        record_check(t, *result, now);
    } else if (schedule_.enabled({tag.slot, kind})) {  // else agent_port was removed by a reload meanwhile
        record_agent(t, *result, now);
    }
}

// ------------------------------------------------------------------ publish_admin_states, HealthChecker

void publish_admin_states(const RuntimeSnapshot& snapshot) {
    for (const ListenerEntry& entry : snapshot.listeners) {
        for (const BackendRef& backend : entry.runtime->backends) {
            backend.state->admin.store(backend.config.state);
            if (backend.config.state != BackendAdminState::kReady) backend.state->healthy.store(false);
        }
    }
}

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
