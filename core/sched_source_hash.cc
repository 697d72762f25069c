#include "core/sched_source_hash.h"

#include "core/maglev.h"

namespace ringlb {

std::shared_ptr<const MaglevTables> build_listener_maglev(const ListenerConfig& listener) {
    auto tables = std::make_shared<MaglevTables>();
    for (bool backup : {false, true}) {
        std::vector<MaglevBackend> members;
        std::vector<uint32_t> listener_index;
        for (uint32_t i = 0; i < listener.backends.size(); ++i) {
            const BackendConfig& b = listener.backends[i];
            if (b.backup != backup) continue;
            members.push_back({b.address, b.weight});
            listener_index.push_back(i);
        }
        std::vector<uint32_t> table = build_maglev_table(members, listener.hash_table_size);
        for (uint32_t& entry : table) entry = listener_index[entry];
        (backup ? tables->backup : tables->primary) = std::move(table);
    }
    return tables;
}

size_t SourceHashScheduler::pick(std::span<const Candidate> candidates, uint64_t source_hash) {
    for (size_t i = 0; i < candidates.size(); ++i) {
        if (candidates[i].index >= position_.size()) position_.resize(candidates[i].index + 1, kAbsent);
        position_[candidates[i].index] = uint32_t(i);
    }
    const std::vector<uint32_t>& table = candidates[0].backup ? tables_->backup : tables_->primary;
    auto chosen = lookup_maglev_backend(table, source_hash, [this](uint32_t backend) {
        return backend < position_.size() && position_[backend] != kAbsent;
    });
    size_t result = chosen ? position_[*chosen] : size_t(source_hash % candidates.size());
    for (const Candidate& c : candidates) position_[c.index] = kAbsent;
    return result;
}

}  // namespace ringlb
