#include "core/sched/sched_source_hash.h"

#include "core/sched/maglev.h"

namespace ringlb {

std::shared_ptr<const MaglevTables> build_listener_maglev(const ListenerConfig& listener,
                                                          const std::vector<bool>& available) {
    auto tables = std::make_shared<MaglevTables>();
    tables->built_from.assign(listener.backends.size(), false);
    for (bool backup : {false, true}) {
        std::vector<MaglevBackend> members;
        std::vector<uint32_t> listener_index;
        for (uint32_t i = 0; i < listener.backends.size(); ++i) {
            const BackendConfig& b = listener.backends[i];
            if (b.backup != backup || (!available.empty() && !available[i])) continue;
            members.push_back({b.address, b.weight});
            listener_index.push_back(i);
            tables->built_from[i] = true;
        }
        std::vector<uint32_t> table = build_maglev_table(members, listener.hash_table_size);
        for (uint32_t& entry : table) entry = listener_index[entry];
        (backup ? tables->backup : tables->primary) = std::move(table);
    }
    return tables;
}

bool refresh_maglev(MaglevSlot& slot, const ListenerConfig& listener, const std::vector<bool>& available) {
    uint64_t version = 0;
    auto current = slot.load(&version);
    if (current && current->built_from == available) return false;
    slot.store(build_listener_maglev(listener, available));
    return true;
}

size_t SourceHashScheduler::pick(std::span<const Candidate> candidates, uint64_t source_hash) noexcept {
    if (slot_->version() != version_) tables_ = slot_->load(&version_);
    for (size_t i = 0; i < candidates.size(); ++i) {
        if (candidates[i].index >= position_.size()) position_.resize(candidates[i].index + 1, kAbsent);
        position_[candidates[i].index] = uint32_t(i);
    }
    const std::vector<uint32_t>& table = candidates[0].backup ? tables_->backup : tables_->primary;
    // A candidate missing from the tables (they predate its recovery) is still
    // reachable through the fallback below only when nothing in the table is.
    auto chosen = lookup_maglev_backend(table, source_hash, [this](uint32_t backend) {
        return backend < position_.size() && position_[backend] != kAbsent;
    });
    size_t result = chosen ? position_[*chosen] : size_t(source_hash % candidates.size());
    for (const Candidate& c : candidates) position_[c.index] = kAbsent;
    return result;
}

}  // namespace ringlb
