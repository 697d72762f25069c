// Passive failures: a compare-and-swap loop around the pure PassiveWindow step.
#include "core/health/passive_health.h"

#include "core/health/health_fsm.h"

namespace ringlb {

void report_connect_result(const ListenerConfig& listener, BackendState& backend, int res, int64_t now_ms) noexcept {
    if (listener.max_fails == 0 || listener.backends.size() < 2) return;
    const bool ok = res >= 0;
    uint64_t word = backend.passive_window.load(std::memory_order_relaxed);
    if (ok && word == 0) return;
    const PassiveParams params{listener.max_fails, listener.fail_timeout.count()};
    for (;;) {
        const PassiveStep step = passive_on_connect(PassiveWindow::unpack(word), ok, now_ms, params);
        const uint64_t next = step.next.pack();
        if (next == word) return;
        if (!backend.passive_window.compare_exchange_weak(word, next)) continue;  // word reloaded
        if (step.tripped) {
            // The checker reads these after it sees passive_trips move.
            backend.passive_errno.store(-res);
            backend.passive_trip_ms.store(now_ms);
            backend.passive_trips.fetch_add(1);
            backend.healthy.store(false);
        }
        return;
    }
}

}  // namespace ringlb
