// ProgressGate: which workers' heartbeats did not move between two looks.
#include <gtest/gtest.h>

#include "core/daemon/progress_gate.h"

namespace ringlb {
namespace {

TEST(ProgressGate, EveryWorkerMovingMeansNoneStalled) {
    ProgressGate gate({5, 9});
    EXPECT_TRUE(gate.stalled({6, 10}).empty());
    EXPECT_TRUE(gate.stalled({100, 11}).empty());
}

TEST(ProgressGate, OneStuckWorkerIsNamedUntilItMovesAgain) {
    ProgressGate gate({5, 9, 1});
    EXPECT_EQ(gate.stalled({6, 9, 2}), std::vector<size_t>{1});
    EXPECT_EQ(gate.stalled({7, 9, 3}), std::vector<size_t>{1});
    EXPECT_TRUE(gate.stalled({8, 10, 4}).empty());
}

TEST(ProgressGate, AMissingWorkerCountsAsStalled) {
    ProgressGate gate({5, 9});
    EXPECT_EQ(gate.stalled({6}), std::vector<size_t>{1});
}

}  // namespace
}  // namespace ringlb
