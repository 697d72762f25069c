// drain_timeout: how long connections to a drained backend may stay (AWS NLB's
// deregistration delay). The daemon marks when each backend began draining
// (ringlbctl or config state=drain, the agent's "drain", removal from the config);
// workers close the connections whose backend has drained for drain_timeout.
// The decisions are pure; the clock comes in as a parameter.
#pragma once

#include <atomic>
#include <cstdint>

#include "core/runtime/backend.h"
#include "core/runtime/runtime.h"

namespace ringlb {

// Draining: taking no new connections by the operator's or the agent's word
// (down and maint are not drain: health decides those). Not from the status the
// health checker derives, which lags a drain set back to ready by up to a tick.
inline bool is_draining(BackendAdminState admin, bool agent_drain) noexcept {
    return admin == BackendAdminState::kDrain || agent_drain;
}

// True once a connection whose backend began draining at since_ms must end.
// since_ms 0: not draining. timeout_ms 0: wait forever (the default).
inline bool drain_expired(int64_t since_ms, int64_t timeout_ms, int64_t now_ms) noexcept {
    return since_ms != 0 && timeout_ms > 0 && now_ms - since_ms >= timeout_ms;
}

// Records the start of a drain (once) or its end. One writer: the daemon thread.
inline void mark_draining(BackendState& backend, bool draining, int64_t now_ms) noexcept {
    if (draining) {
        int64_t none = 0;
        if (backend.drain_since_ms.compare_exchange_strong(none, now_ms > 0 ? now_ms : 1))
            draining_backend_count().fetch_add(1, std::memory_order_relaxed);
    } else if (backend.drain_since_ms.exchange(0) != 0) {
        draining_backend_count().fetch_sub(1, std::memory_order_relaxed);
    }
}

// Marks every backend of `current` that drains now and unmarks those back in
// service; with `previous` (a config change), also marks the backends it had and
// `current` has not (removed: only their live connections hold them now).
void follow_drains(const RuntimeSnapshot& current, const RuntimeSnapshot* previous, int64_t now_ms) noexcept;

}  // namespace ringlb
