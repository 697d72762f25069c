// Idle-timeout bookkeeping for connection slots: one intrusive list per
// distinct timeout value, each kept in order of last activity, so the oldest
// entry of every list is the next to expire. O(1) touch, O(expired) sweep.
// Pure: time is passed in (milliseconds on the caller's monotonic clock).
#pragma once

#include <cstdint>
#include <vector>

namespace ringlb {

class TimeoutLists {
public:
    static constexpr uint32_t kNone = UINT32_MAX;

    // Puts `slot` on the list for `timeout_ms` (leaving any list it was on),
    // as most recently active at `now_ms`.
    void arm(uint32_t slot, int64_t timeout_ms, int64_t now_ms) noexcept;
    // Marks activity: moves `slot` to the back of its list.
    void touch(uint32_t slot, int64_t now_ms) noexcept;
    void disarm(uint32_t slot) noexcept;
    bool armed(uint32_t slot) const noexcept { return slot < links_.size() && links_[slot].list != kNone; }

    // Appends every slot whose deadline is <= now_ms to `out` and disarms it.
    void collect_expired(int64_t now_ms, std::vector<uint32_t>& out) noexcept;

private:
    struct Link {
        uint32_t prev = kNone, next = kNone, list = kNone;
        int64_t last_ms = 0;
    };
    struct List {
        int64_t timeout_ms;
        uint32_t head = kNone, tail = kNone;
    };
    uint32_t list_for(int64_t timeout_ms) noexcept;
    void unlink(uint32_t slot) noexcept;
    void push_back(uint32_t slot, uint32_t list) noexcept;

    std::vector<Link> links_;
    std::vector<List> lists_;
};

}  // namespace ringlb
