// Per-backend runtime state shared by every worker and every config snapshot
// that names the backend: the atomics schedulers and operators need.
#pragma once

#include <atomic>
#include <cstdint>

#include "core/inet_addr.h"
#include "core/log.h"

namespace ringlb {

struct BackendState {
    explicit BackendState(const InetAddr& addr) : address(addr) {}

    const InetAddr address;
    std::atomic<int64_t> active{0};              // live connections, all workers
    std::atomic<bool> healthy{true};             // set by health checks
    std::atomic<uint64_t> connections_total{0};  // established through this backend
    std::atomic<uint64_t> connect_errors{0};

    LogRateLimit error_log;                      // connect errors: a line per second
};

}  // namespace ringlb
