#include "core/forward/connection.h"

#include <memory>

namespace ringlb {

const char* close_reason_name(CloseReason reason) noexcept {
    switch (reason) {
        case CloseReason::kNone: return "none";
        case CloseReason::kDone: return "done";
        case CloseReason::kClientReset: return "client-reset";
        case CloseReason::kBackendReset: return "backend-reset";
        case CloseReason::kIdleTimeout: return "idle-timeout";
        case CloseReason::kHalfCloseTimeout: return "half-close-timeout";
        case CloseReason::kNoBackend: return "no-backend";
        case CloseReason::kConnectFailed: return "connect-failed";
        case CloseReason::kQueueTimeout: return "queue-timeout";
        case CloseReason::kShutdown: return "shutdown";
        case CloseReason::kError: return "error";
        case CloseReason::kDrainTimeout: return "drain-timeout";
        case CloseReason::kProxyHeader: return "proxy-header";
        case CloseReason::kRefused: return "refused";
        case CloseReason::kVipReleased: return "vip-released";
    }
    return "?";
}

uint32_t ConnTable::allocate() noexcept {
    if (free_.empty()) {
        uint32_t base = capacity();
        chunks_.push_back(std::make_unique<Connection[]>(kChunk));
        for (uint32_t i = kChunk; i > 0; --i) free_.push_back(base + i - 1);
    }
    uint32_t slot = free_.back();
    free_.pop_back();
    ++live_;
    return slot;
}

void ConnTable::release(uint32_t slot) noexcept {
    Connection& conn = (*this)[slot];
    uint32_t next_generation = conn.generation + 1;
    // Destroyed and built again in place: cheaper than assigning a temporary
    // (its fds, pipes and queues are already given back by then).
    std::destroy_at(&conn);
    std::construct_at(&conn);
    conn.generation = next_generation;
    free_.push_back(slot);
    --live_;
}

}  // namespace ringlb
