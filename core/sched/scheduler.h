// The scheduler interface: given the backends that may take a new connection
// right now, pick one. Pure: no clock, no I/O; each worker owns its own
// scheduler instances, so implementations need no locking.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "core/config/config.h"

namespace ringlb {

// One backend that may take the connection. `index` is the backend's position in
// its listener's backend list (stable for the life of the scheduler).
struct Candidate {
    uint32_t index = 0;
    uint32_t weight = 1;     // effective weight, >= 1
    int64_t active = 0;      // live connections across all workers
    bool backup = false;     // candidates are all primaries or all backups
};

class Scheduler {
public:
    virtual ~Scheduler() = default;
    // Returns a position in `candidates`, which is never empty. `source_hash`
    // is the client's address hash (used only by source-hash).
    virtual size_t pick(std::span<const Candidate> candidates, uint64_t source_hash) noexcept = 0;
};

class MaglevSlot;

// backend_count: size of the listener's backend list the candidates index into.
// maglev: the listener's published tables, required for source-hash.
// Workers call it when they apply a snapshot, on the data path: nothing in it
// throws (an allocation failure terminates, as everywhere on that path).
std::unique_ptr<Scheduler> make_scheduler(SchedulerKind kind, size_t backend_count,
                                          std::shared_ptr<MaglevSlot> maglev) noexcept;

}  // namespace ringlb
