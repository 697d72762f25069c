// Per-listener statistics, one cache line per worker so the data path never
// shares a written line; readers sum the workers' entries.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <iterator>
#include <memory>

namespace ringlb {

// Single writer (its worker), any number of readers: a relaxed load+store is
// enough and avoids a locked instruction on the data path.
inline void bump(std::atomic<uint64_t>& counter, uint64_t n = 1) {
    counter.store(counter.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

// Upper bounds of the connect-time histogram buckets, in µs (exported as
// ringlb_connect_seconds); one more bucket, +Inf, follows the last.
inline constexpr uint64_t kConnectBucketsUs[] = {100,    250,    500,    1000,    2500,    5000,    10000, 25000,
                                                 50000,  100000, 250000, 500000,  1000000, 2500000, 5000000};
inline constexpr size_t kConnectBuckets = std::size(kConnectBucketsUs) + 1;
// accept_proxy's refusal reasons: untrusted, invalid, version, oversized, truncated, timeout.
inline constexpr size_t kProxyRejectCounters = 6;

struct alignas(64) WorkerListenerStats {
    std::atomic<uint64_t> connections_total{0};   // accepted
    std::atomic<uint64_t> connections_refused{0}; // closed because no backend could take them
    std::atomic<uint64_t> queue_timeouts{0};      // closed after waiting queue_timeout for a slot
    std::atomic<uint64_t> rejected_conn_limit{0}; // reset at accept: source over max_conn_per_source
    std::atomic<uint64_t> rejected_rate{0};       // reset at accept: source over rate_per_source
    std::atomic<uint64_t> source_untracked{0};    // let through without per-source limits: source table full
    std::atomic<uint64_t> denied{0};              // reset at accept: client not admitted by allow / deny
    std::atomic<uint64_t> drain_closed{0};        // closed by drain_timeout: their backend was drained or removed
    // accept_proxy: closed before any backend, by reason (core/forward/proxy_accept.h's order).
    std::atomic<uint64_t> proxy_rejected[kProxyRejectCounters] = {};
    std::atomic<uint64_t> vip_released{0};        // reset at stop: made to a VIP this host just released
    std::atomic<uint64_t> bytes_in{0};            // client → backend
    std::atomic<uint64_t> bytes_out{0};           // backend → client
    std::atomic<uint64_t> active{0};              // written as a gauge by its worker
    // Successful backend connects by duration (observe_connect): per-bucket
    // counts, not cumulative; the last bucket is +Inf.
    std::atomic<uint64_t> connect_buckets[kConnectBuckets] = {};
    std::atomic<uint64_t> connect_sum_us{0};
};

// Called by the worker that owns `stats` when a backend connect succeeds.
inline void observe_connect(WorkerListenerStats& stats, uint64_t micros) {
    size_t bucket = 0;
    while (bucket < std::size(kConnectBucketsUs) && micros > kConnectBucketsUs[bucket]) ++bucket;
    bump(stats.connect_buckets[bucket]);
    bump(stats.connect_sum_us, micros);
}

struct ListenerTotals {
    uint64_t connections_total = 0, connections_refused = 0, queue_timeouts = 0, bytes_in = 0, bytes_out = 0, active = 0;
    uint64_t rejected_conn_limit = 0, rejected_rate = 0, source_untracked = 0, vip_released = 0;
    uint64_t denied = 0, drain_closed = 0;
    std::array<uint64_t, kProxyRejectCounters> proxy_rejected{};
    std::array<uint64_t, kConnectBuckets> connect_buckets{};   // per bucket, not cumulative
    uint64_t connect_sum_us = 0;
};

class ListenerStats {
public:
    explicit ListenerStats(int workers)
        : workers_(workers), per_worker_(std::make_unique<WorkerListenerStats[]>(workers)) {}
    WorkerListenerStats& worker(int index) { return per_worker_[index]; }
    ListenerTotals totals() const {
        ListenerTotals t;
        for (int i = 0; i < workers_; ++i) {
            const auto& w = per_worker_[i];
            t.connections_total += w.connections_total.load(std::memory_order_relaxed);
            t.connections_refused += w.connections_refused.load(std::memory_order_relaxed);
            t.queue_timeouts += w.queue_timeouts.load(std::memory_order_relaxed);
            t.rejected_conn_limit += w.rejected_conn_limit.load(std::memory_order_relaxed);
            t.rejected_rate += w.rejected_rate.load(std::memory_order_relaxed);
            t.source_untracked += w.source_untracked.load(std::memory_order_relaxed);
            t.denied += w.denied.load(std::memory_order_relaxed);
            t.drain_closed += w.drain_closed.load(std::memory_order_relaxed);
            for (size_t r = 0; r < kProxyRejectCounters; ++r)
                t.proxy_rejected[r] += w.proxy_rejected[r].load(std::memory_order_relaxed);
            t.vip_released += w.vip_released.load(std::memory_order_relaxed);
            t.bytes_in += w.bytes_in.load(std::memory_order_relaxed);
            t.bytes_out += w.bytes_out.load(std::memory_order_relaxed);
            t.active += w.active.load(std::memory_order_relaxed);
            for (size_t b = 0; b < kConnectBuckets; ++b)
                t.connect_buckets[b] += w.connect_buckets[b].load(std::memory_order_relaxed);
            t.connect_sum_us += w.connect_sum_us.load(std::memory_order_relaxed);
        }
        return t;
    }

private:
    int workers_;
    std::unique_ptr<WorkerListenerStats[]> per_worker_;
};

}  // namespace ringlb
