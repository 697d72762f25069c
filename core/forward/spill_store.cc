#include "core/forward/spill_store.h"

#include <cstring>

namespace ringlb {

std::optional<uint16_t> SpillStore::put(const char* bytes, uint32_t len) noexcept {
    uint16_t id;
    if (!free_ids_.empty()) {
        id = free_ids_.back();
        free_ids_.pop_back();
    } else if (slots_.size() < kCapacity) {
        id = uint16_t(slots_.size());
        slots_.emplace_back();
    } else {
        return std::nullopt;
    }
    slots_[id] = std::make_unique_for_overwrite<char[]>(len);
    std::memcpy(slots_[id].get(), bytes, len);
    return id;
}

void SpillStore::release(uint16_t id) noexcept {
    slots_[id].reset();
    free_ids_.push_back(id);
}

}  // namespace ringlb
