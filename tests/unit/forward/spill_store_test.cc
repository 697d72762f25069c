#include "core/forward/spill_store.h"

#include <gtest/gtest.h>

#include <string>

namespace ringlb {
namespace {

TEST(SpillStore, KeepsACopyUntilReleased) {
    SpillStore store;
    std::string bytes = "the peer stopped reading";
    auto id = store.put(bytes.data(), uint32_t(bytes.size()));
    ASSERT_TRUE(id.has_value());
    bytes.assign(bytes.size(), 'x');  // the ring buffer is reused at once
    EXPECT_EQ(std::string(store.data(*id), 24), "the peer stopped reading");
    EXPECT_EQ(store.in_use(), 1u);
    store.release(*id);
    EXPECT_EQ(store.in_use(), 0u);
}

TEST(SpillStore, ReusesReleasedIdsAndKeepsOthersIntact) {
    SpillStore store;
    auto a = store.put("aaaa", 4);
    auto b = store.put("bbbb", 4);
    ASSERT_TRUE(a && b);
    EXPECT_NE(*a, *b);
    store.release(*a);
    auto c = store.put("cc", 2);
    ASSERT_TRUE(c);
    EXPECT_EQ(*c, *a);
    EXPECT_EQ(std::string(store.data(*b), 4), "bbbb");
    EXPECT_EQ(std::string(store.data(*c), 2), "cc");
    EXPECT_EQ(store.in_use(), 2u);
}

TEST(SpillStore, RefusesWhenEveryIdIsTaken) {
    SpillStore store;
    for (uint32_t i = 0; i < SpillStore::kCapacity; ++i) ASSERT_TRUE(store.put("x", 1)) << i;
    EXPECT_FALSE(store.put("y", 1).has_value());
    store.release(7);
    auto again = store.put("z", 1);
    ASSERT_TRUE(again);
    EXPECT_EQ(*again, 7);
}

}  // namespace
}  // namespace ringlb
