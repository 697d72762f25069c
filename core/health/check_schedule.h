// When each check runs: a heap of due times over every (target slot, check kind),
// the random first phase and the ±5% jitter that keep checks spread out, and the
// forgetting of checks switched off or of targets gone from the snapshot. Pure:
// no sockets, no clock reads; time comes in as ms and randomness through PickInRange.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <queue>
#include <vector>

namespace ringlb {

// The two checks a backend can have, each with its own socket and interval.
enum class CheckKind : uint8_t { kHealth = 0, kAgent = 1 };  // tcp or http; agent-check
constexpr CheckKind kCheckKinds[] = {CheckKind::kHealth, CheckKind::kAgent};

struct CheckId {
    uint32_t slot = 0;  // the checker's target slot
    CheckKind kind = CheckKind::kHealth;
    bool operator==(const CheckId&) const = default;
};

// A uniformly chosen integer in [lo, hi]. The checker draws from a seeded
// mt19937_64; tests pass the extremes.
using PickInRange = std::function<int64_t(int64_t lo, int64_t hi)>;

class CheckSchedule {
public:
    // Checks due within batch_slack_ms of now start together, in one wakeup.
    CheckSchedule(PickInRange pick, int64_t batch_slack_ms);

    // Follows the config of one check: switched on, it first runs at a random point
    // of its interval from now, so checks of many backends spread out; switched off,
    // its planned run is forgotten (a run in progress is the caller's). A new
    // interval counts from the next run on: the one already planned stays.
    void configure(CheckId id, bool enabled, int64_t interval_ms, int64_t now_ms);
    // The target in `slot` left the snapshot: both of its checks are off, and a run
    // already planned, due or not, never comes out of pop_due.
    void retire(uint32_t slot);

    bool enabled(CheckId id) const;

    // The next check due by now + batch slack, earliest first, or nullopt. Plans its
    // following run one jittered interval after the planned time (not after now, so
    // that starting early never makes checks more frequent), but never in the past.
    std::optional<CheckId> pop_due(int64_t now_ms);
    // When the earliest planned run is due (possibly one that was since forgotten: an
    // early wakeup costs less than keeping the heap clean), or nullopt when none is.
    std::optional<int64_t> next_due_ms() const;

private:
    struct Plan {
        bool enabled = false;
        int64_t interval_ms = 0;
        uint32_t epoch = 0;  // bumped at every (re)plan and switch-off: older heap entries are stale
    };
    struct Due {
        int64_t due_ms;
        CheckId id;
        uint32_t epoch;
        bool operator>(const Due& other) const { return due_ms > other.due_ms; }
    };

    Plan& plan(CheckId id);
    const Plan* find(CheckId id) const;
    void plan_run(CheckId id, int64_t due_ms);
    int64_t jittered(int64_t interval_ms);

    PickInRange pick_;
    const int64_t batch_slack_ms_;
    std::vector<Plan> plans_;  // two per slot, [slot * 2 + kind]
    std::priority_queue<Due, std::vector<Due>, std::greater<Due>> heap_;
};

}  // namespace ringlb
