// Copies of received bytes taken out of a worker's provided-buffer ring when the
// ring runs low (core/forward/worker_forward.cc): the bytes wait here for their send
// instead of holding a ring buffer, so connections whose peer has stopped
// reading cannot take every buffer the worker has. Each direction still queues
// at most its pause threshold, so what waits here is bounded per connection.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

namespace ringlb {

class SpillStore {
public:
    static constexpr uint32_t kCapacity = UINT16_MAX;  // ids 0 .. kCapacity - 1

    // A copy of len bytes; nullopt when every id is taken.
    std::optional<uint16_t> put(const char* bytes, uint32_t len) noexcept;
    const char* data(uint16_t id) const noexcept { return slots_[id].get(); }
    void release(uint16_t id) noexcept;
    uint32_t in_use() const { return uint32_t(slots_.size() - free_ids_.size()); }

private:
    std::vector<std::unique_ptr<char[]>> slots_;  // null when free
    std::vector<uint16_t> free_ids_;
};

}  // namespace ringlb
