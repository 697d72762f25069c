// Idle-timeout lists: order of expiry, touch, several timeout values.
#include <gtest/gtest.h>

#include "core/forward/timeout_lists.h"

namespace ringlb {
namespace {

std::vector<uint32_t> expired_at(TimeoutLists& lists, int64_t now) {
    std::vector<uint32_t> out;
    lists.collect_expired(now, out);
    return out;
}

TEST(TimeoutLists, ExpiresOnlyWhatIsPastItsDeadline) {
    TimeoutLists lists;
    lists.arm(1, 100, 0);
    lists.arm(2, 100, 50);
    EXPECT_TRUE(expired_at(lists, 99).empty());
    EXPECT_EQ(expired_at(lists, 100), std::vector<uint32_t>{1});
    EXPECT_EQ(expired_at(lists, 150), std::vector<uint32_t>{2});
    EXPECT_FALSE(lists.armed(1));
}

TEST(TimeoutLists, TouchPostponesExpiry) {
    TimeoutLists lists;
    lists.arm(1, 100, 0);
    lists.arm(2, 100, 10);
    lists.touch(1, 60);
    EXPECT_EQ(expired_at(lists, 110), std::vector<uint32_t>{2});
    EXPECT_EQ(expired_at(lists, 160), std::vector<uint32_t>{1});
}

TEST(TimeoutLists, DifferentTimeoutsExpireIndependently) {
    TimeoutLists lists;
    lists.arm(1, 1000, 0);
    lists.arm(2, 10, 0);
    EXPECT_EQ(expired_at(lists, 10), std::vector<uint32_t>{2});
    EXPECT_TRUE(expired_at(lists, 999).empty());
    EXPECT_EQ(expired_at(lists, 1000), std::vector<uint32_t>{1});
}

TEST(TimeoutLists, RearmingMovesASlotToAnotherList) {
    TimeoutLists lists;
    lists.arm(3, 1000, 0);
    lists.arm(3, 10, 5);  // e.g. a connection becoming half-closed
    EXPECT_EQ(expired_at(lists, 15), std::vector<uint32_t>{3});
    EXPECT_TRUE(expired_at(lists, 5000).empty());
}

TEST(TimeoutLists, DisarmedSlotsNeverExpire) {
    TimeoutLists lists;
    lists.arm(1, 10, 0);
    lists.arm(2, 10, 0);
    lists.disarm(1);
    EXPECT_EQ(expired_at(lists, 100), std::vector<uint32_t>{2});
}

}  // namespace
}  // namespace ringlb
