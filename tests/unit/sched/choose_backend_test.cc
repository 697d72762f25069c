// choose_backend: the order of preference over primaries, backups and backends
// already tried, and "all full means queue". Real BackendState counters, real
// schedulers; the scratch candidates show what the scheduler was offered.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "core/sched/choose_backend.h"
#include "core/sched/sched_leastconn.h"
#include "core/sched/sched_roundrobin.h"

namespace ringlb {
namespace {

struct Spec {
    bool backup = false;
    bool healthy = true;
    int64_t active = 0;
    uint32_t weight = 1;
    BackendAdminState admin = BackendAdminState::kReady;
};

std::vector<BackendRef> backends_of(const std::vector<Spec>& specs) {
    std::vector<BackendRef> out;
    for (size_t i = 0; i < specs.size(); ++i) {
        BackendRef ref;
        ref.config.address = *InetAddr::parse("10.0.0." + std::to_string(i + 1) + ":80");
        ref.config.backup = specs[i].backup;
        ref.config.weight = specs[i].weight;
        ref.config.state = specs[i].admin;
        ref.state = std::make_shared<BackendState>(ref.config.address);
        ref.state->healthy.store(specs[i].healthy);
        ref.state->active.store(specs[i].active);
        out.push_back(std::move(ref));
    }
    return out;
}

uint64_t tried(std::initializer_list<uint32_t> indexes) {
    uint64_t mask = 0;
    for (uint32_t i : indexes) mask |= uint64_t(1) << i;
    return mask;
}

std::vector<uint32_t> indexes_of(const std::vector<Candidate>& candidates) {
    std::vector<uint32_t> out;
    for (const Candidate& c : candidates) out.push_back(c.index);
    return out;
}

// First candidate of the winning pass (no scheduler), unlimited connections.
BackendPick first_choice(const std::vector<BackendRef>& backends, uint64_t tried_mask = 0,
                         uint32_t max_connections = 0) {
    std::vector<Candidate> scratch;
    return choose_backend(backends, tried_mask, max_connections, nullptr, 0, scratch);
}

TEST(ChooseBackend, UntriedPrimariesComeFirstAndAreAllOffered) {
    auto backends = backends_of({{.backup = true}, {}, {}});
    std::vector<Candidate> scratch;
    BackendPick pick = choose_backend(backends, 0, 0, nullptr, 0, scratch);
    EXPECT_EQ(pick.choice, BackendChoice::kPicked);
    EXPECT_EQ(pick.index, 1u);
    EXPECT_EQ(indexes_of(scratch), (std::vector<uint32_t>{1, 2}));
}

TEST(ChooseBackend, BackupsServeOnlyWhenNoPrimaryCanTakeTheClient) {
    auto backends = backends_of({{.healthy = false}, {.backup = true}, {.admin = BackendAdminState::kDrain}});
    BackendPick pick = first_choice(backends);
    EXPECT_EQ(pick.choice, BackendChoice::kPicked);
    EXPECT_EQ(pick.index, 1u);
}

TEST(ChooseBackend, AnUntriedBackupComesBeforeATriedPrimary) {
    auto backends = backends_of({{}, {.backup = true}});
    BackendPick pick = first_choice(backends, tried({0}));
    EXPECT_EQ(pick.choice, BackendChoice::kPicked);
    EXPECT_EQ(pick.index, 1u);
}

TEST(ChooseBackend, TriedPrimariesAreRetriedBeforeTriedBackups) {
    auto backends = backends_of({{.backup = true}, {}});
    BackendPick pick = first_choice(backends, tried({0, 1}));
    EXPECT_EQ(pick.choice, BackendChoice::kPicked);
    EXPECT_EQ(pick.index, 1u);
}

TEST(ChooseBackend, ATriedBackupIsTheLastResort) {
    auto backends = backends_of({{.healthy = false}, {.backup = true}});
    BackendPick pick = first_choice(backends, tried({1}));
    EXPECT_EQ(pick.choice, BackendChoice::kPicked);
    EXPECT_EQ(pick.index, 1u);
}

TEST(ChooseBackend, TheSameBackendIsRetriedOnlyWhenNothingElseIsUp) {
    auto backends = backends_of({{}, {}});
    EXPECT_EQ(first_choice(backends, tried({0})).index, 1u);
    backends[1].state->healthy.store(false);
    BackendPick pick = first_choice(backends, tried({0}));
    EXPECT_EQ(pick.choice, BackendChoice::kPicked);
    EXPECT_EQ(pick.index, 0u);
}

TEST(ChooseBackend, FullPrimariesQueueTheClientRatherThanSpillToBackups) {
    auto backends = backends_of({{.active = 2}, {.active = 3}, {.backup = true}});
    EXPECT_EQ(first_choice(backends, 0, 2).choice, BackendChoice::kAllFull);
}

TEST(ChooseBackend, AFullPrimaryLeavesTheClientToAnotherPrimaryWithRoom) {
    auto backends = backends_of({{.active = 2}, {.active = 1}, {.backup = true}});
    std::vector<Candidate> scratch;
    BackendPick pick = choose_backend(backends, 0, 2, nullptr, 0, scratch);
    EXPECT_EQ(pick.choice, BackendChoice::kPicked);
    EXPECT_EQ(pick.index, 1u);
    EXPECT_EQ(indexes_of(scratch), (std::vector<uint32_t>{1}));
}

TEST(ChooseBackend, FullBackupsQueueWhenNoPrimaryIsUp) {
    auto backends = backends_of({{.healthy = false}, {.backup = true, .active = 5}});
    EXPECT_EQ(first_choice(backends, 0, 5).choice, BackendChoice::kAllFull);
}

TEST(ChooseBackend, AFullTriedPrimaryDoesNotHoldBackAnUntriedBackup) {
    // Pass 2 (untried backups) runs before pass 3 (tried primaries) ever sees the full one.
    auto backends = backends_of({{.active = 4}, {.backup = true}});
    BackendPick pick = first_choice(backends, tried({0}), 4);
    EXPECT_EQ(pick.choice, BackendChoice::kPicked);
    EXPECT_EQ(pick.index, 1u);
}

TEST(ChooseBackend, ZeroMaxConnectionsMeansNoBackendIsEverFull) {
    auto backends = backends_of({{.active = 1000000}});
    EXPECT_EQ(first_choice(backends, 0, 0).choice, BackendChoice::kPicked);
}

TEST(ChooseBackend, DrainedAndMaintainedBackendsAreSkipped) {
    auto backends = backends_of({{.admin = BackendAdminState::kDrain},
                                 {.admin = BackendAdminState::kMaint},
                                 {.backup = true, .admin = BackendAdminState::kDrain}});
    EXPECT_EQ(first_choice(backends).choice, BackendChoice::kNone);
    backends[1].config.state = BackendAdminState::kReady;
    BackendPick pick = first_choice(backends);
    EXPECT_EQ(pick.choice, BackendChoice::kPicked);
    EXPECT_EQ(pick.index, 1u);
}

TEST(ChooseBackend, UnhealthyBackendsAreSkipped) {
    auto backends = backends_of({{.healthy = false}, {.backup = true, .healthy = false}});
    EXPECT_EQ(first_choice(backends).choice, BackendChoice::kNone);
    EXPECT_EQ(first_choice(backends, tried({0, 1})).choice, BackendChoice::kNone);
}

TEST(ChooseBackend, NoBackendsMeansNone) {
    EXPECT_EQ(first_choice({}).choice, BackendChoice::kNone);
}

TEST(ChooseBackend, BackendsPastTheSixtyFourthAreNeverCountedAsTried) {
    std::vector<Spec> specs(66, Spec{.healthy = false});
    specs[65].healthy = true;
    auto backends = backends_of(specs);
    std::vector<Candidate> scratch;
    // Bit 1 of the mask must not be read as backend 65.
    BackendPick pick = choose_backend(backends, ~uint64_t(0), 0, nullptr, 0, scratch);
    EXPECT_EQ(pick.choice, BackendChoice::kPicked);
    EXPECT_EQ(pick.index, 65u);
}

TEST(ChooseBackend, EffectiveWeightsActiveCountsAndTheBackupFlagReachTheScheduler) {
    auto backends = backends_of({{.healthy = false}, {.backup = true, .active = 7, .weight = 3},
                                 {.backup = true, .active = 2, .weight = 1}});
    backends[1].state->weight_permille.store(500);  // slow start at half
    std::vector<Candidate> scratch;
    LeastConnScheduler leastconn;
    BackendPick pick = choose_backend(backends, 0, 0, &leastconn, 0, scratch);
    ASSERT_EQ(scratch.size(), 2u);
    EXPECT_EQ(scratch[0].index, 1u);
    EXPECT_EQ(scratch[0].weight, 3u * kWeightScale / 2);
    EXPECT_EQ(scratch[0].active, 7);
    EXPECT_TRUE(scratch[0].backup);
    EXPECT_EQ(scratch[1].weight, 1u * kWeightScale);
    EXPECT_EQ(scratch[1].active, 2);
    // leastconn: (2+1)/1000 beats (7+1)/1500.
    EXPECT_EQ(pick.index, 2u);
}

TEST(ChooseBackend, TheSchedulerPicksAmongTheCandidatesByPosition) {
    auto backends = backends_of({{.weight = 2}, {.backup = true}, {.weight = 1}});
    RoundRobinScheduler rr(backends.size());
    std::vector<Candidate> scratch;
    std::string sequence;
    for (int i = 0; i < 6; ++i)
        sequence += char('0' + choose_backend(backends, 0, 0, &rr, 0, scratch).index);
    EXPECT_EQ(sequence, "020020");  // smooth round robin 2:1 over the primaries only
}

}  // namespace
}  // namespace ringlb
