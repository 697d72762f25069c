// The check schedule; see check_schedule.h. Pure.
#include "core/health/check_schedule.h"

#include <algorithm>
#include <utility>

namespace ringlb {

CheckSchedule::CheckSchedule(PickInRange pick, int64_t batch_slack_ms)
    : pick_(std::move(pick)), batch_slack_ms_(batch_slack_ms) {}

CheckSchedule::Plan& CheckSchedule::plan(CheckId id) {
    const size_t index = size_t(id.slot) * 2 + size_t(id.kind);
    if (index >= plans_.size()) plans_.resize(index + 2 - index % 2);
    return plans_[index];
}

const CheckSchedule::Plan* CheckSchedule::find(CheckId id) const {
    const size_t index = size_t(id.slot) * 2 + size_t(id.kind);
    return index < plans_.size() ? &plans_[index] : nullptr;
}

bool CheckSchedule::enabled(CheckId id) const {
    const Plan* p = find(id);
    return p && p->enabled;
}

void CheckSchedule::configure(CheckId id, bool enabled, int64_t interval_ms, int64_t now_ms) {
    Plan& p = plan(id);
    p.interval_ms = interval_ms;
    if (enabled && !p.enabled) {
        p.enabled = true;
        plan_run(id, now_ms + pick_(0, std::max<int64_t>(interval_ms - 1, 0)));
    } else if (!enabled && p.enabled) {
        p.enabled = false;
        ++p.epoch;
    }
}

void CheckSchedule::retire(uint32_t slot) {
    for (CheckKind kind : kCheckKinds) {
        Plan& p = plan({slot, kind});
        p.enabled = false;
        ++p.epoch;
    }
}

void CheckSchedule::plan_run(CheckId id, int64_t due_ms) {
    Plan& p = plan(id);
    ++p.epoch;
    heap_.push(Due{due_ms, id, p.epoch});
}

// ±5%: checks started together drift apart instead of firing in step for ever.
int64_t CheckSchedule::jittered(int64_t interval_ms) {
    return std::max<int64_t>(interval_ms + pick_(-interval_ms / 20, interval_ms / 20), 1);
}

std::optional<CheckId> CheckSchedule::pop_due(int64_t now_ms) {
    while (!heap_.empty() && heap_.top().due_ms <= now_ms + batch_slack_ms_) {
        const Due due = heap_.top();
        heap_.pop();
        const Plan& p = plan(due.id);
        if (!p.enabled || p.epoch != due.epoch) continue;
        plan_run(due.id, std::max(due.due_ms + jittered(p.interval_ms), now_ms + 1));
        return due.id;
    }
    return std::nullopt;
}

std::optional<int64_t> CheckSchedule::next_due_ms() const {
    if (heap_.empty()) return std::nullopt;
    return heap_.top().due_ms;
}

}  // namespace ringlb
