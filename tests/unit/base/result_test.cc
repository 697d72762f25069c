#include "core/base/result.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace ringlb {
namespace {

Result<int> half(int n) {
    if (n % 2 != 0) return fail(std::to_string(n) + " is odd");
    return n / 2;
}

Result<void> check_positive(int n) {
    if (n <= 0) return fail("not positive");
    return {};
}

TEST(Result, HoldsTheValueOrTheReason) {
    Result<int> good = half(8);
    ASSERT_TRUE(good.ok());
    EXPECT_TRUE(bool(good));
    EXPECT_EQ(*good, 4);

    Result<int> bad = half(7);
    EXPECT_FALSE(bad.ok());
    EXPECT_FALSE(bool(bad));
    EXPECT_EQ(bad.error(), "7 is odd");
}

TEST(Result, VoidIsSuccessUnlessAFailureWasGiven) {
    EXPECT_TRUE(check_positive(1).ok());
    Result<void> refused = check_positive(0);
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.error(), "not positive");
}

TEST(Result, AStringValueIsNotMistakenForAFailure) {
    Result<std::string> empty_but_ok = std::string();
    EXPECT_TRUE(empty_but_ok.ok());
    EXPECT_EQ(empty_but_ok->size(), 0u);
    Result<std::string> failed = fail("");
    EXPECT_FALSE(failed.ok());
}

TEST(Result, MovesOutMoveOnlyValues) {
    Result<std::unique_ptr<int>> r = std::make_unique<int>(5);
    ASSERT_TRUE(r.ok());
    std::unique_ptr<int> taken = std::move(r).value();
    EXPECT_EQ(*taken, 5);
}

TEST(Result, StoreIntoSetsTheFieldOnlyOnSuccess) {
    int field = 1;
    EXPECT_TRUE(store_into(field, half(8)).ok());
    EXPECT_EQ(field, 4);
    Result<void> refused = store_into(field, half(7));
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.error(), "7 is odd");
    EXPECT_EQ(field, 4);
}

}  // namespace
}  // namespace ringlb
