// When checks run (core/health/check_schedule.h), pure: due order, first phase
// and jitter bounds with an injected random source, checks switched off or
// targets retired while due, intervals changed by a reload. Time is plain ms.
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <vector>

#include "core/health/check_schedule.h"

namespace ringlb {
namespace {

constexpr CheckId health(uint32_t slot) { return {slot, CheckKind::kHealth}; }
constexpr CheckId agent(uint32_t slot) { return {slot, CheckKind::kAgent}; }

// Random sources that always pick one end of the range asked for.
int64_t lowest(int64_t lo, int64_t) { return lo; }
int64_t highest(int64_t, int64_t hi) { return hi; }

// Everything pop_due hands out at `now`, in order.
std::vector<CheckId> pop_all(CheckSchedule& schedule, int64_t now) {
    std::vector<CheckId> out;
    while (auto id = schedule.pop_due(now)) out.push_back(*id);
    return out;
}

// Steps the clock 1 ms at a time from `from` to `to` and records when each check came out.
std::map<uint32_t, std::vector<int64_t>> run_health_checks(CheckSchedule& schedule, int64_t from, int64_t to) {
    std::map<uint32_t, std::vector<int64_t>> started;
    for (int64_t now = from; now <= to; ++now)
        while (auto id = schedule.pop_due(now)) started[id->slot].push_back(now);
    return started;
}

TEST(CheckSchedule, AChecksFirstRunIsWithinItsIntervalFromWhenItWasSwitchedOn) {
    CheckSchedule early(lowest, 0);
    early.configure(health(0), true, 1000, 5000);
    EXPECT_EQ(early.next_due_ms(), 5000);

    CheckSchedule late(highest, 0);
    late.configure(health(0), true, 1000, 5000);
    EXPECT_EQ(late.next_due_ms(), 5999);
    EXPECT_FALSE(late.pop_due(5998));
    EXPECT_EQ(late.pop_due(5999), health(0));
}

TEST(CheckSchedule, ChecksComeOutEarliestFirstAndOnlyOnceDue) {
    // The random source answers each first phase in turn: 300, 100, 200.
    std::vector<int64_t> phases = {300, 100, 200};
    size_t next = 0;
    CheckSchedule schedule([&](int64_t lo, int64_t hi) { return next < phases.size() ? phases[next++] : (lo + hi) / 2; },
                           0);
    schedule.configure(health(0), true, 1000, 0);
    schedule.configure(health(1), true, 1000, 0);
    schedule.configure(agent(1), true, 1000, 0);
    EXPECT_TRUE(pop_all(schedule, 99).empty());
    EXPECT_EQ(pop_all(schedule, 250), (std::vector<CheckId>{health(1), agent(1)}));
    EXPECT_EQ(pop_all(schedule, 300), (std::vector<CheckId>{health(0)}));
    EXPECT_TRUE(pop_all(schedule, 300).empty());
}

TEST(CheckSchedule, ChecksDueWithinTheBatchSlackComeOutTogether) {
    CheckSchedule schedule(lowest, 20);
    schedule.configure(health(0), true, 1000, 100);
    schedule.configure(health(1), true, 1000, 120);
    schedule.configure(health(2), true, 1000, 121);
    EXPECT_EQ(pop_all(schedule, 100), (std::vector<CheckId>{health(0), health(1)}));
}

TEST(CheckSchedule, TheNextRunIsOneIntervalAfterThePlannedTimeWithinFivePercent) {
    for (auto pick : {lowest, highest}) {
        CheckSchedule schedule(pick, 0);
        schedule.configure(health(0), true, 1000, 0);
        const int64_t first = *schedule.next_due_ms();
        ASSERT_EQ(schedule.pop_due(first), health(0));
        EXPECT_EQ(schedule.next_due_ms(), first + (pick == lowest ? 950 : 1050));
    }
}

TEST(CheckSchedule, StartingEarlyInABatchNeverMakesChecksMoreFrequent) {
    CheckSchedule schedule(lowest, 20);
    schedule.configure(health(0), true, 100, 1000);  // due at 1000, taken out at 980
    ASSERT_EQ(schedule.pop_due(980), health(0));
    EXPECT_EQ(schedule.next_due_ms(), 1095);  // from 1000, not from 980
}

TEST(CheckSchedule, AWakeupLaterThanAWholeIntervalPlansTheNextRunAfterNow) {
    CheckSchedule schedule(lowest, 0);
    schedule.configure(health(0), true, 100, 1000);
    ASSERT_EQ(schedule.pop_due(5000), health(0));
    EXPECT_EQ(schedule.next_due_ms(), 5001);
    EXPECT_EQ(schedule.pop_due(5001), health(0));  // one run for the whole gap, not forty
    EXPECT_FALSE(schedule.pop_due(5001));
}

TEST(CheckSchedule, JitterStaysWithinFivePercentAndSpreadsChecksStartedTogether) {
    std::mt19937_64 rng(42);
    CheckSchedule schedule([&](int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(rng); },
                           0);
    for (uint32_t slot = 0; slot < 50; ++slot) schedule.configure(health(slot), true, 1000, 0);
    const auto started = run_health_checks(schedule, 0, 60000);
    ASSERT_EQ(started.size(), 50u);
    std::map<int64_t, int> first_runs;
    for (const auto& [slot, times] : started) {
        ASSERT_GE(times.size(), 57u) << slot;
        EXPECT_LT(times.front(), 1000) << slot;
        ++first_runs[times.front()];
        for (size_t i = 1; i < times.size(); ++i) {
            EXPECT_GE(times[i] - times[i - 1], 950) << slot << " run " << i;
            EXPECT_LE(times[i] - times[i - 1], 1050) << slot << " run " << i;
        }
    }
    EXPECT_GT(first_runs.size(), 40u);  // spread over the first interval, not all at once
}

TEST(CheckSchedule, ACheckSwitchedOffWhileDueNeverComesOut) {
    CheckSchedule schedule(lowest, 0);
    schedule.configure(health(0), true, 1000, 0);
    schedule.configure(agent(0), true, 1000, 0);
    schedule.configure(health(0), false, 1000, 0);
    EXPECT_FALSE(schedule.enabled(health(0)));
    EXPECT_TRUE(schedule.enabled(agent(0)));
    EXPECT_EQ(pop_all(schedule, 10000), (std::vector<CheckId>{agent(0)}));
}

TEST(CheckSchedule, ATargetRetiredWhileDueNeverComesOutEvenWhenItsSlotIsReused) {
    CheckSchedule schedule(highest, 0);
    schedule.configure(health(3), true, 1000, 0);  // due at 999
    schedule.configure(agent(3), true, 500, 0);    // due at 499
    schedule.configure(health(4), true, 1000, 0);  // due at 999
    schedule.retire(3);
    EXPECT_FALSE(schedule.enabled(health(3)));
    EXPECT_FALSE(schedule.enabled(agent(3)));
    // Slot 3 now holds another backend, switched on at 600: its first run is at 1599.
    schedule.configure(health(3), true, 1000, 600);
    EXPECT_EQ(pop_all(schedule, 1000), (std::vector<CheckId>{health(4)}));
    EXPECT_EQ(pop_all(schedule, 1599), (std::vector<CheckId>{health(3)}));
}

TEST(CheckSchedule, ACheckSwitchedOffAndOnAgainRunsOnceNotTwice) {
    CheckSchedule schedule(lowest, 0);
    schedule.configure(health(0), true, 1000, 0);    // due at 0
    schedule.configure(health(0), false, 1000, 10);
    schedule.configure(health(0), true, 1000, 20);  // due at 20; the entry for 0 is stale
    EXPECT_EQ(pop_all(schedule, 20), (std::vector<CheckId>{health(0)}));
    EXPECT_EQ(schedule.next_due_ms(), 970);
}

TEST(CheckSchedule, ANewIntervalFromAReloadCountsFromTheRunAlreadyPlanned) {
    CheckSchedule schedule(lowest, 0);
    schedule.configure(health(0), true, 1000, 0);  // due at 0
    ASSERT_EQ(schedule.pop_due(0), health(0));     // next at 950
    schedule.configure(health(0), true, 200, 100);  // reload: still on, now every 200 ms
    EXPECT_EQ(schedule.next_due_ms(), 950);        // the planned run stays
    ASSERT_EQ(schedule.pop_due(950), health(0));
    EXPECT_EQ(schedule.next_due_ms(), 950 + 190);
    ASSERT_EQ(schedule.pop_due(1140), health(0));
    EXPECT_EQ(schedule.next_due_ms(), 1140 + 190);
}

TEST(CheckSchedule, AnIntervalTooShortToJitterStillAdvances) {
    CheckSchedule schedule(lowest, 0);
    schedule.configure(health(0), true, 1, 0);
    ASSERT_EQ(schedule.pop_due(0), health(0));
    EXPECT_EQ(schedule.next_due_ms(), 1);
}

TEST(CheckSchedule, NothingPlannedMeansNoWakeup) {
    CheckSchedule schedule(lowest, 0);
    EXPECT_EQ(schedule.next_due_ms(), std::nullopt);
    EXPECT_FALSE(schedule.pop_due(1000000));
    EXPECT_FALSE(schedule.enabled(health(7)));
}

}  // namespace
}  // namespace ringlb
