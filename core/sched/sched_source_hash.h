// source-hash: Maglev consistent hashing of the client's address (DESIGN §4).
// Tables are built off the data path from backend addresses and weights only,
// so both hosts of the pair agree. A backend that becomes unavailable is left
// out of a rebuilt table (refresh_maglev, run periodically by the daemon) that
// workers pick up by version; until then Maglev's fallback probe skips it.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <vector>

#include "core/config/config.h"
#include "core/sched/scheduler.h"

namespace ringlb {

// Entries are indexes into the listener's backend list. Backups get their own
// table: they serve only while no primary can, and then hash just as stably.
struct MaglevTables {
    std::vector<uint32_t> primary;
    std::vector<uint32_t> backup;
    std::vector<bool> built_from;  // per backend index: was it in the tables
};

// available[i]: backend i may be in the tables (empty = all of them).
std::shared_ptr<const MaglevTables> build_listener_maglev(const ListenerConfig& listener,
                                                          const std::vector<bool>& available = {});

// The tables a listener's workers use, replaced whole; readers notice a new
// version with one relaxed load per pick and take the lock only then.
class MaglevSlot {
public:
    explicit MaglevSlot(std::shared_ptr<const MaglevTables> tables) : tables_(std::move(tables)) {}
    uint64_t version() const noexcept { return version_.load(std::memory_order_acquire); }
    std::shared_ptr<const MaglevTables> load(uint64_t* version) const noexcept {
        std::lock_guard lock(mutex_);
        *version = version_.load(std::memory_order_relaxed);
        return tables_;
    }
    void store(std::shared_ptr<const MaglevTables> tables) {
        std::lock_guard lock(mutex_);
        tables_ = std::move(tables);
        version_.fetch_add(1, std::memory_order_release);
    }

private:
    mutable std::mutex mutex_;
    std::shared_ptr<const MaglevTables> tables_;
    std::atomic<uint64_t> version_{0};
};

// Rebuilds the listener's tables when `available` (per backend index: healthy
// now) differs from the set they were built from. Control-plane work
// (milliseconds for 65537 slots); returns true when it published new tables.
bool refresh_maglev(MaglevSlot& slot, const ListenerConfig& listener, const std::vector<bool>& available);

class SourceHashScheduler final : public Scheduler {
public:
    SourceHashScheduler(std::shared_ptr<MaglevSlot> slot, size_t backend_count) noexcept
        : slot_(std::move(slot)), position_(backend_count, kAbsent) {
        tables_ = slot_->load(&version_);
    }
    size_t pick(std::span<const Candidate> candidates, uint64_t source_hash) noexcept override;

private:
    static constexpr uint32_t kAbsent = UINT32_MAX;
    std::shared_ptr<MaglevSlot> slot_;
    std::shared_ptr<const MaglevTables> tables_;
    uint64_t version_ = 0;
    std::vector<uint32_t> position_;  // backend index → position in candidates (scratch)
};

}  // namespace ringlb
