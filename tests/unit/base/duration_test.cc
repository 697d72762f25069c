// Unit tests for core/duration: the ms/s/m/h spellings of ringlb.conf.
#include "core/base/duration.h"

#include <gtest/gtest.h>

#include <limits>

namespace ringlb {
namespace {

TEST(Duration, ReadsEachSuffix) {
    EXPECT_EQ(parse_duration("100ms"), Millis{100});
    EXPECT_EQ(parse_duration("2s"), Millis{2000});
    EXPECT_EQ(parse_duration("15m"), Millis{15 * 60 * 1000});
    EXPECT_EQ(parse_duration("1h"), Millis{3600 * 1000});
}

TEST(Duration, ZeroMayBeBareOrCarryASuffix) {
    EXPECT_EQ(parse_duration("0"), Millis{0});
    EXPECT_EQ(parse_duration("0ms"), Millis{0});
    EXPECT_EQ(parse_duration("0h"), Millis{0});
}

TEST(Duration, RejectsMalformedText) {
    for (const char* text : {"", "10", "1.5s", "s", "ms", "10x", "-1s", "+1s", " 1s", "1s ", "1 s", "1S",
                             "1sec", "1msx", "00", "1hm", "0x10s"})
        EXPECT_EQ(parse_duration(text), std::nullopt) << "'" << text << "'";
}

TEST(Duration, RejectsValuesThatDoNotFitInMillis) {
    EXPECT_EQ(parse_duration("99999999999999999999ms"), std::nullopt);
    // Fits as a count of hours' digits but not once multiplied to milliseconds.
    EXPECT_EQ(parse_duration("9223372036854775h"), std::nullopt);
    auto max = std::numeric_limits<Millis::rep>::max();
    EXPECT_EQ(parse_duration(std::to_string(max) + "ms"), Millis{max});
    EXPECT_EQ(parse_duration(std::to_string(max / 1000 + 1) + "s"), std::nullopt);
}

TEST(Duration, FormatsInTheLargestUnitThatIsExact) {
    EXPECT_EQ(format_duration(Millis{100}), "100ms");
    EXPECT_EQ(format_duration(Millis{2000}), "2s");
    EXPECT_EQ(format_duration(Millis{15 * 60 * 1000}), "15m");
    EXPECT_EQ(format_duration(Millis{3600 * 1000}), "1h");
    EXPECT_EQ(format_duration(Millis{90 * 1000}), "90s");
    EXPECT_EQ(format_duration(Millis{1500}), "1500ms");
    EXPECT_EQ(format_duration(Millis{90 * 60 * 1000}), "90m");
    EXPECT_EQ(format_duration(Millis{0}), "0");
}

TEST(Duration, FormattedTextReadsBackToTheSameValue) {
    for (Millis::rep millis : {0LL, 1LL, 999LL, 1000LL, 1001LL, 59'000LL, 60'000LL, 61'000LL, 3'599'999LL,
                               3'600'000LL, 86'400'000LL, 123'456'789LL}) {
        auto text = format_duration(Millis{millis});
        EXPECT_EQ(parse_duration(text), Millis{millis}) << text;
    }
}

}  // namespace
}  // namespace ringlb
