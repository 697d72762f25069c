#include "core/sched/choose_backend.h"

namespace ringlb {

BackendPick choose_backend(std::span<const BackendRef> backends, uint64_t tried_mask, uint32_t max_connections,
                           Scheduler* scheduler, uint64_t source_hash, std::vector<Candidate>& candidates) noexcept {
    auto tried = [tried_mask](uint32_t i) { return i < 64 && (tried_mask >> i) & 1; };
    struct Pass { bool backup, allow_tried; };
    for (Pass pass : {Pass{false, false}, Pass{true, false}, Pass{false, true}, Pass{true, true}}) {
        bool full = false;
        candidates.clear();
        for (uint32_t i = 0; i < backends.size(); ++i) {
            const BackendRef& b = backends[i];
            if (b.config.backup != pass.backup || b.config.state != BackendAdminState::kReady ||
                !b.state->healthy.load(std::memory_order_relaxed))
                continue;
            if (tried(i) != pass.allow_tried) continue;
            int64_t active = b.state->active.load(std::memory_order_relaxed);
            if (max_connections && active >= max_connections) {
                full = true;
                continue;
            }
            candidates.push_back({i, effective_weight(b.config.weight, *b.state), active, pass.backup});
        }
        if (candidates.empty()) {
            if (full) return {BackendChoice::kAllFull, 0};
            continue;
        }
        size_t chosen = scheduler ? scheduler->pick(candidates, source_hash) : 0;
        return {BackendChoice::kPicked, candidates[chosen].index};
    }
    return {BackendChoice::kNone, 0};
}

}  // namespace ringlb
