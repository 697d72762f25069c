// Which backend a new connection should try next: the order of preference
// (primaries, then backups, then the ones already tried) and the "all full means
// queue" rule. Pure: reads the backends' shared counters, reserves nothing; the
// worker reserves the slot (an atomic increment) and connects.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/runtime/runtime.h"
#include "core/sched/scheduler.h"

namespace ringlb {

enum class BackendChoice : uint8_t {
    kPicked,   // `index` names the backend to try
    kAllFull,  // every backend that may take it is at max_connections: queue the client
    kNone,     // nothing can take it (all down, drained, in maintenance, or none left to try)
};

struct BackendPick {
    BackendChoice choice = BackendChoice::kNone;
    uint32_t index = 0;  // into the listener's backend list, when kPicked
};

// Order of preference: primaries not yet tried for this client, then backups not
// yet tried (a primary that refused or timed out "cannot take" it), then the tried
// ones again, so a retry goes to the same backend only when nothing else is up.
// Only backends whose configured state is ready and which are healthy count.
// Healthy primaries that are merely full queue the client (kAllFull) rather than
// spill to backups, as in HAProxy.
//
// tried_mask: bit i set when backend i (first 64 only) was tried already.
// max_connections: per backend, 0 = unlimited. scheduler: picks among the
// candidates of the winning pass (effective weights and active counts passed
// through); null takes the first. candidates: scratch the caller keeps between
// calls so picking allocates nothing once it has grown.
BackendPick choose_backend(std::span<const BackendRef> backends, uint64_t tried_mask, uint32_t max_connections,
                           Scheduler* scheduler, uint64_t source_hash, std::vector<Candidate>& candidates) noexcept;

}  // namespace ringlb
