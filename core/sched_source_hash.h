// source-hash: Maglev consistent hashing of the client's address (DESIGN §4).
// The tables are built off the data path from backend addresses and weights
// only, so both hosts of the pair agree; a backend that cannot take the
// connection is skipped with Maglev's fallback probe, not by rebuilding.
#pragma once

#include <memory>
#include <vector>

#include "core/config.h"
#include "core/scheduler.h"

namespace ringlb {

// Entries are indexes into the listener's backend list. Backups get their own
// table: they serve only while no primary can, and then hash just as stably.
struct MaglevTables {
    std::vector<uint32_t> primary;
    std::vector<uint32_t> backup;
};

std::shared_ptr<const MaglevTables> build_listener_maglev(const ListenerConfig& listener);

class SourceHashScheduler final : public Scheduler {
public:
    SourceHashScheduler(std::shared_ptr<const MaglevTables> tables, size_t backend_count)
        : tables_(std::move(tables)), position_(backend_count, kAbsent) {}
    size_t pick(std::span<const Candidate> candidates, uint64_t source_hash) override;

private:
    static constexpr uint32_t kAbsent = UINT32_MAX;
    std::shared_ptr<const MaglevTables> tables_;
    std::vector<uint32_t> position_;  // backend index → position in candidates (scratch)
};

}  // namespace ringlb
