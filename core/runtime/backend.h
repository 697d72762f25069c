// Per-backend runtime state shared by every worker and every config snapshot
// that names the backend: the atomics schedulers and operators need.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

#include "core/base/inet_addr.h"
#include "core/base/rate_limit.h"
#include "core/config/config.h"
#include "core/runtime/backend_status.h"

namespace ringlb {

// Schedulers compare the configured weight (1..256) times kWeightScale, scaled
// down by an agent's percentage and by slow start. The scale keeps those
// fractions even for weight 1 (HAProxy scales by 16 for the same reason);
// leastconn and smooth round robin only compare ratios, so it changes nothing else.
constexpr uint32_t kWeightScale = 1000;
constexpr uint32_t kMaxEffectiveWeight = 256 * kWeightScale;

// Backends, in every snapshot or only in live connections, whose drain_since_ms is
// set: workers look for connections past drain_timeout only while this is above 0.
inline std::atomic<int64_t>& draining_backend_count() noexcept {
    static std::atomic<int64_t> count{0};
    return count;
}

struct BackendState {
    explicit BackendState(const InetAddr& addr) : address(addr) {}
    ~BackendState() {
        if (drain_since_ms.load(std::memory_order_relaxed) != 0)
            draining_backend_count().fetch_sub(1, std::memory_order_relaxed);
    }

    const InetAddr address;
    std::atomic<int64_t> active{0};              // live connections, all workers
    // Takes new connections (status UP). Written by the health checker thread;
    // a worker clears it when passive failures trip (core/health/passive_health.h).
    std::atomic<bool> healthy{true};
    std::atomic<uint64_t> connections_total{0};  // established through this backend
    std::atomic<uint64_t> connect_errors{0};

    // The operator's state from the config (state=drain); written before a
    // snapshot naming it is published (publish_admin_states), so that drain and
    // maint hold from the next connection on.
    std::atomic<BackendAdminState> admin{BackendAdminState::kReady};
    // Monotonic ms when it began draining (core/runtime/drain.h); 0 = not draining.
    std::atomic<int64_t> drain_since_ms{0};
    // The agent's "drain" (or 0%), written by the health checker; the operator's is `admin`.
    std::atomic<bool> agent_drain{false};

    // Health, written by the health checker thread (core/health/health_checker.cc).
    std::atomic<BackendStatus> status{BackendStatus::kUp};
    std::atomic<uint32_t> weight_permille{1000};  // of the configured weight: agent % × slow start
    std::atomic<uint64_t> transitions{0};         // status changes, each one logged
    std::atomic<uint64_t> checks_total{0};        // active checks finished
    std::atomic<uint64_t> checks_failed{0};

    // Passive failures, written by workers through report_connect_result.
    std::atomic<uint64_t> passive_window{0};      // PassiveWindow::pack()
    std::atomic<uint64_t> passive_trips{0};
    std::atomic<int64_t> passive_trip_ms{0};      // monotonic ms of the last trip
    std::atomic<int> passive_errno{0};            // what the tripping connect failed with

    LogRateLimit error_log;                      // connect errors: a line per second

    // What the last active check found ("HTTP 500", "connect refused"). Thread-safe.
    std::string last_check() const {
        std::lock_guard lock(detail_mutex_);
        return last_check_;
    }
    void set_last_check(std::string_view text) {
        std::lock_guard lock(detail_mutex_);
        if (last_check_ != text) last_check_.assign(text);
    }

private:
    mutable std::mutex detail_mutex_;
    std::string last_check_;
};

// The weight a scheduler should use for this backend now: configured × the
// health checker's permille, at least 1. Any thread; one relaxed load.
inline uint32_t effective_weight(uint32_t configured, const BackendState& state) {
    const uint64_t weight = uint64_t(configured) * state.weight_permille.load(std::memory_order_relaxed);
    return uint32_t(std::clamp<uint64_t>(weight, 1, kMaxEffectiveWeight));
}

}  // namespace ringlb
