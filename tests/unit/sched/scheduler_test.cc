// Leastconn and smooth weighted round robin, pure.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/sched/sched_leastconn.h"
#include "core/sched/sched_roundrobin.h"
#include "core/sched/scheduler.h"

namespace ringlb {
namespace {

std::vector<Candidate> equal_backends(int n) {
    std::vector<Candidate> out;
    for (int i = 0; i < n; ++i) out.push_back({uint32_t(i), 1, 0});
    return out;
}

// Workers make schedulers and pick on their data path, which must not throw.
static_assert(noexcept(make_scheduler(SchedulerKind::kLeastConn, 0, nullptr)));
static_assert(noexcept(std::declval<Scheduler&>().pick({}, 0)));

TEST(SmoothRoundRobin, WeightsFiveOneOneGiveNginxSequence) {
    std::vector<Candidate> c = {{0, 5, 0}, {1, 1, 0}, {2, 1, 0}};
    RoundRobinScheduler rr(3);
    std::string seq;
    for (int i = 0; i < 7; ++i) seq += char('a' + c[rr.pick(c, 0)].index);
    EXPECT_EQ(seq, "aabacaa");
}

TEST(SmoothRoundRobin, SharesFollowWeightsOverManyPicks) {
    std::vector<Candidate> c = {{0, 3, 0}, {1, 2, 0}, {2, 1, 0}};
    RoundRobinScheduler rr(3);
    std::map<uint32_t, int> hits;
    for (int i = 0; i < 600; ++i) hits[c[rr.pick(c, 0)].index]++;
    EXPECT_EQ(hits[0], 300);
    EXPECT_EQ(hits[1], 200);
    EXPECT_EQ(hits[2], 100);
}

TEST(SmoothRoundRobin, SkipsBackendsThatAreNotCandidates) {
    RoundRobinScheduler rr(3);
    std::vector<Candidate> without_b = {{0, 1, 0}, {2, 1, 0}};
    for (int i = 0; i < 10; ++i) EXPECT_NE(without_b[rr.pick(without_b, 0)].index, 1u);
}

TEST(LeastConn, PicksTheBackendWithFewestActiveConnections) {
    LeastConnScheduler lc;
    std::vector<Candidate> c = {{0, 1, 5}, {1, 1, 2}, {2, 1, 7}};
    EXPECT_EQ(c[lc.pick(c, 0)].index, 1u);
}

TEST(LeastConn, WeightScalesTheLoad) {
    LeastConnScheduler lc;
    // (10+1)/4 = 2.75 beats (2+1)/1 = 3
    std::vector<Candidate> c = {{0, 4, 10}, {1, 1, 2}};
    EXPECT_EQ(c[lc.pick(c, 0)].index, 0u);
    // (12+1)/4 = 3.25 loses to 3
    c[0].active = 12;
    EXPECT_EQ(c[lc.pick(c, 0)].index, 1u);
}

TEST(LeastConn, TiesAreBrokenRoundRobin) {
    LeastConnScheduler lc;
    auto c = equal_backends(3);
    std::string seq;
    for (int i = 0; i < 6; ++i) seq += char('a' + c[lc.pick(c, 0)].index);
    EXPECT_EQ(seq, "abcabc");
}

TEST(LeastConn, WeightedSharesWhenConnectionsStayOpen) {
    // Connections never close: active grows with each pick, so shares follow weights.
    LeastConnScheduler lc;
    std::vector<Candidate> c = {{0, 3, 0}, {1, 1, 0}};
    for (int i = 0; i < 400; ++i) c[lc.pick(c, 0)].active++;
    EXPECT_EQ(c[0].active, 300);
    EXPECT_EQ(c[1].active, 100);
}

TEST(LeastConn, TieBreakSurvivesChangingCandidateSets) {
    LeastConnScheduler lc;
    std::vector<Candidate> all = equal_backends(4);
    std::vector<Candidate> without_c = {{0, 1, 0}, {1, 1, 0}, {3, 1, 0}};
    EXPECT_EQ(all[lc.pick(all, 0)].index, 0u);
    EXPECT_EQ(all[lc.pick(all, 0)].index, 1u);
    EXPECT_EQ(without_c[lc.pick(without_c, 0)].index, 3u);
    EXPECT_EQ(all[lc.pick(all, 0)].index, 0u);
}

}  // namespace
}  // namespace ringlb
