// Which backends drain, and since when; see drain.h.
#include "core/runtime/drain.h"

namespace ringlb {

void follow_drains(const RuntimeSnapshot& current, const RuntimeSnapshot* previous, int64_t now_ms) noexcept {
    for (const ListenerEntry& entry : current.listeners)
        for (const BackendRef& backend : entry.runtime->backends)
            mark_draining(*backend.state,
                          is_draining(backend.state->admin.load(std::memory_order_relaxed),
                                      backend.state->agent_drain.load(std::memory_order_relaxed)),
                          now_ms);
    if (!previous) return;
    for (const ListenerEntry& old : previous->listeners)
        for (const BackendRef& backend : old.runtime->backends) {
            bool kept = false;
            for (const ListenerEntry& entry : current.listeners)
                for (const BackendRef& now : entry.runtime->backends) kept = kept || now.state == backend.state;
            if (!kept) mark_draining(*backend.state, true, now_ms);
        }
}

}  // namespace ringlb
