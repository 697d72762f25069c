// Unit tests for core/source_limiter: per-source connection caps, the GCRA
// rate limit over injected time, entry lifetime, the table cap and threads.
#include "core/forward/source_limiter.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace ringlb {
namespace {

constexpr uint64_t kMs = 1000 * 1000;
constexpr uint64_t kSecond = 1000 * kMs;
constexpr uint64_t kT0 = 5000 * kSecond;   // a steady clock is far from 0 on a running host

InetAddr addr(const std::string& text) {
    auto parsed = InetAddr::parse(text);
    EXPECT_TRUE(parsed) << text;
    return parsed.value_or(InetAddr{});
}

// 10.x.y.z for i, so tests can make many distinct sources.
InetAddr nth(uint32_t i) {
    return addr("10." + std::to_string((i >> 16) & 255) + "." + std::to_string((i >> 8) & 255) + "." +
                std::to_string(i & 255) + ":1000");
}

SourceLimits conn_limit(uint32_t n) { return {n, 0}; }
SourceLimits rate_limit(uint32_t n) { return {0, n}; }

TEST(SourceLimiter, AdmitsMaxConnFromOneSourceThenRejectsWithTheConnLimit) {
    SourceLimiter limiter;
    InetAddr a = addr("192.0.2.1:40000");
    for (int i = 0; i < 3; ++i) EXPECT_EQ(limiter.admit(a, conn_limit(3), kT0), SourceVerdict::kAdmitted) << i;
    EXPECT_EQ(limiter.admit(a, conn_limit(3), kT0), SourceVerdict::kRejectedConnLimit);
    EXPECT_EQ(limiter.admit(a, conn_limit(3), kT0 + 10 * kSecond), SourceVerdict::kRejectedConnLimit);
    EXPECT_EQ(limiter.connections(a), 3u);
}

TEST(SourceLimiter, ReleasingAConnectionFreesOneSlotForTheSameSource) {
    SourceLimiter limiter;
    InetAddr a = addr("192.0.2.1:40000");
    ASSERT_EQ(limiter.admit(a, conn_limit(2), kT0), SourceVerdict::kAdmitted);
    ASSERT_EQ(limiter.admit(a, conn_limit(2), kT0), SourceVerdict::kAdmitted);
    ASSERT_EQ(limiter.admit(a, conn_limit(2), kT0), SourceVerdict::kRejectedConnLimit);
    limiter.release(a, kT0);
    EXPECT_EQ(limiter.connections(a), 1u);
    EXPECT_EQ(limiter.admit(a, conn_limit(2), kT0), SourceVerdict::kAdmitted);
    EXPECT_EQ(limiter.admit(a, conn_limit(2), kT0), SourceVerdict::kRejectedConnLimit);
}

TEST(SourceLimiter, TheClientPortDoesNotMatterOnlyTheAddress) {
    SourceLimiter limiter;
    ASSERT_EQ(limiter.admit(addr("192.0.2.1:1"), conn_limit(1), kT0), SourceVerdict::kAdmitted);
    EXPECT_EQ(limiter.admit(addr("192.0.2.1:2"), conn_limit(1), kT0), SourceVerdict::kRejectedConnLimit);
    limiter.release(addr("192.0.2.1:3"), kT0);
    EXPECT_EQ(limiter.admit(addr("192.0.2.1:4"), conn_limit(1), kT0), SourceVerdict::kAdmitted);
}

TEST(SourceLimiter, AnotherSourceIsNotLimitedByTheFirstOnesConnections) {
    SourceLimiter limiter;
    InetAddr a = addr("192.0.2.1:40000"), b = addr("192.0.2.2:40000");
    ASSERT_EQ(limiter.admit(a, conn_limit(1), kT0), SourceVerdict::kAdmitted);
    ASSERT_EQ(limiter.admit(a, conn_limit(1), kT0), SourceVerdict::kRejectedConnLimit);
    EXPECT_EQ(limiter.admit(b, conn_limit(1), kT0), SourceVerdict::kAdmitted);
    EXPECT_EQ(limiter.connections(a), 1u);
    EXPECT_EQ(limiter.connections(b), 1u);
}

TEST(SourceLimiter, Ipv4MappedIpv6IsTheSameSourceAsThePlainIpv4Address) {
    SourceLimiter limiter;
    ASSERT_EQ(limiter.admit(addr("192.0.2.7:1"), conn_limit(1), kT0), SourceVerdict::kAdmitted);
    EXPECT_EQ(limiter.admit(addr("[::ffff:192.0.2.7]:2"), conn_limit(1), kT0), SourceVerdict::kRejectedConnLimit);
    limiter.release(addr("[::ffff:192.0.2.7]:2"), kT0);
    EXPECT_EQ(limiter.connections(addr("192.0.2.7:9")), 0u);
    // A real IPv6 address that merely ends in the same bytes is another source.
    EXPECT_EQ(limiter.admit(addr("[2001:db8::c000:207]:1"), conn_limit(1), kT0), SourceVerdict::kAdmitted);
    EXPECT_EQ(limiter.admit(addr("192.0.2.7:1"), conn_limit(1), kT0), SourceVerdict::kAdmitted);
}

TEST(SourceLimiter, AnAddressWithoutAFamilyIsLetThroughUntracked) {
    SourceLimiter limiter;
    EXPECT_EQ(limiter.admit(InetAddr{}, conn_limit(1), kT0), SourceVerdict::kAdmittedUntracked);
    EXPECT_EQ(limiter.admit(InetAddr{}, conn_limit(1), kT0), SourceVerdict::kAdmittedUntracked);
    EXPECT_EQ(limiter.tracked(), 0u);
}

TEST(SourceLimiter, RateAllowsABurstOfRateConnectionsAtOnceThenRejects) {
    SourceLimiter limiter;
    InetAddr a = addr("192.0.2.1:40000");
    for (int i = 0; i < 5; ++i) EXPECT_EQ(limiter.admit(a, rate_limit(5), kT0), SourceVerdict::kAdmitted) << i;
    EXPECT_EQ(limiter.admit(a, rate_limit(5), kT0), SourceVerdict::kRejectedRate);
    EXPECT_EQ(limiter.admit(a, rate_limit(5), kT0 + 199 * kMs), SourceVerdict::kRejectedRate);
}

TEST(SourceLimiter, RateRefillsOneTokenEveryOneOverRateSecondsOfInjectedTime) {
    SourceLimiter limiter;
    InetAddr a = addr("192.0.2.1:40000");
    for (int i = 0; i < 5; ++i) ASSERT_EQ(limiter.admit(a, rate_limit(5), kT0), SourceVerdict::kAdmitted);
    // 5 per second: a token every 200 ms.
    EXPECT_EQ(limiter.admit(a, rate_limit(5), kT0 + 200 * kMs), SourceVerdict::kAdmitted);
    EXPECT_EQ(limiter.admit(a, rate_limit(5), kT0 + 200 * kMs), SourceVerdict::kRejectedRate);
    EXPECT_EQ(limiter.admit(a, rate_limit(5), kT0 + 399 * kMs), SourceVerdict::kRejectedRate);
    EXPECT_EQ(limiter.admit(a, rate_limit(5), kT0 + 400 * kMs), SourceVerdict::kAdmitted);
    // A full second after the last one, the whole burst is back — and no more.
    int admitted = 0;
    for (int i = 0; i < 20; ++i)
        admitted += limiter.admit(a, rate_limit(5), kT0 + 1400 * kMs) == SourceVerdict::kAdmitted;
    EXPECT_EQ(admitted, 5);
}

TEST(SourceLimiter, AClientThatKeepsTryingStillGetsRatePerSecond) {
    SourceLimiter limiter;
    InetAddr a = addr("192.0.2.1:40000");
    // One attempt every millisecond for ten seconds: rejected attempts take no
    // token, so it gets the burst, then 10 per second.
    int admitted = 0;
    for (uint64_t ms = 0; ms < 10000; ++ms)
        admitted += limiter.admit(a, rate_limit(10), kT0 + ms * kMs) == SourceVerdict::kAdmitted;
    EXPECT_EQ(admitted, 10 + 99);   // burst at t=0, then one every 100 ms up to 9.9 s
}

TEST(SourceLimiter, TheConnLimitIsCheckedFirstAndARejectionTakesNoToken) {
    SourceLimiter limiter;
    InetAddr a = addr("192.0.2.1:40000");
    SourceLimits both{1, 2};
    ASSERT_EQ(limiter.admit(a, both, kT0), SourceVerdict::kAdmitted);
    for (int i = 0; i < 5; ++i) EXPECT_EQ(limiter.admit(a, both, kT0), SourceVerdict::kRejectedConnLimit);
    limiter.release(a, kT0);
    // One token of two was used; the five refusals used none.
    EXPECT_EQ(limiter.admit(a, both, kT0), SourceVerdict::kAdmitted);
    limiter.release(a, kT0);
    EXPECT_EQ(limiter.admit(a, both, kT0), SourceVerdict::kRejectedRate);
}

TEST(SourceLimiter, NewLimitsApplyToTheCountsAlreadyInTheTable) {
    SourceLimiter limiter;
    InetAddr a = addr("192.0.2.1:40000");
    for (int i = 0; i < 4; ++i) ASSERT_EQ(limiter.admit(a, conn_limit(4), kT0), SourceVerdict::kAdmitted);
    // A reload lowers the limit: the four open ones stay, new ones wait until below 2.
    EXPECT_EQ(limiter.admit(a, conn_limit(2), kT0), SourceVerdict::kRejectedConnLimit);
    limiter.release(a, kT0);
    limiter.release(a, kT0);
    EXPECT_EQ(limiter.admit(a, conn_limit(2), kT0), SourceVerdict::kRejectedConnLimit);
    limiter.release(a, kT0);
    EXPECT_EQ(limiter.admit(a, conn_limit(2), kT0), SourceVerdict::kAdmitted);
    // And raising it lets more in at once.
    EXPECT_EQ(limiter.admit(a, conn_limit(10), kT0), SourceVerdict::kAdmitted);
    EXPECT_EQ(limiter.connections(a), 3u);
}

TEST(SourceLimiter, AnEntryIsFreedWhenItsLastConnectionClosesWithAFullBucket) {
    SourceLimiter limiter;
    InetAddr a = addr("192.0.2.1:40000");
    ASSERT_EQ(limiter.admit(a, conn_limit(5), kT0), SourceVerdict::kAdmitted);
    ASSERT_EQ(limiter.admit(a, conn_limit(5), kT0), SourceVerdict::kAdmitted);
    EXPECT_EQ(limiter.tracked(), 1u);
    limiter.release(a, kT0);
    EXPECT_EQ(limiter.tracked(), 1u);
    limiter.release(a, kT0);
    EXPECT_EQ(limiter.tracked(), 0u);
}

TEST(SourceLimiter, AnEntryWhoseBucketIsRefillingOutlivesItsConnectionsAndKeepsTheRate) {
    SourceLimiter limiter;
    InetAddr a = addr("192.0.2.1:40000");
    for (int i = 0; i < 2; ++i) ASSERT_EQ(limiter.admit(a, rate_limit(2), kT0), SourceVerdict::kAdmitted);
    limiter.release(a, kT0 + 1 * kMs);
    limiter.release(a, kT0 + 2 * kMs);
    // Closing the connections must not hand the client a fresh bucket.
    EXPECT_EQ(limiter.tracked(), 1u);
    EXPECT_EQ(limiter.admit(a, rate_limit(2), kT0 + 3 * kMs), SourceVerdict::kRejectedRate);
    // Full again after 1 s: the next close frees the entry.
    ASSERT_EQ(limiter.admit(a, rate_limit(2), kT0 + 500 * kMs), SourceVerdict::kAdmitted);
    limiter.release(a, kT0 + 1500 * kMs);
    EXPECT_EQ(limiter.tracked(), 0u);
}

TEST(SourceLimiter, TenThousandSourcesAreTrackedAndAllFreedAgain) {
    SourceLimiter limiter;
    for (uint32_t i = 0; i < 10000; ++i)
        ASSERT_EQ(limiter.admit(nth(i), conn_limit(2), kT0), SourceVerdict::kAdmitted) << i;
    for (uint32_t i = 0; i < 10000; ++i)
        ASSERT_EQ(limiter.admit(nth(i), conn_limit(2), kT0), SourceVerdict::kAdmitted) << i;
    for (uint32_t i = 0; i < 10000; i += 97)
        EXPECT_EQ(limiter.admit(nth(i), conn_limit(2), kT0), SourceVerdict::kRejectedConnLimit) << i;
    EXPECT_EQ(limiter.tracked(), 10000u);
    for (uint32_t i = 0; i < 10000; ++i) EXPECT_EQ(limiter.connections(nth(i)), 2u) << i;
    // Release in another order than inserted: backward-shift deletion must keep
    // every remaining entry reachable.
    for (uint32_t i = 0; i < 10000; i += 2) limiter.release(nth(i), kT0);
    for (uint32_t i = 1; i < 10000; i += 2) EXPECT_EQ(limiter.connections(nth(i)), 2u) << i;
    for (uint32_t i = 10000; i-- > 0;) limiter.release(nth(i), kT0);
    for (uint32_t i = 0; i < 10000; i += 2) limiter.release(nth(i + 1), kT0);
    EXPECT_EQ(limiter.tracked(), 0u);
}

TEST(SourceLimiter, IdleEntriesAreSweptWhenTheTableWouldGrowSoMemoryStaysBounded) {
    SourceLimiter limiter;
    // Each source connects once and closes at once, inside its refill time: the
    // entries stay until a sweep. More such sources than the cap must not pile up.
    for (uint32_t i = 0; i < 400000; ++i) {
        uint64_t now = kT0 + uint64_t(i) * 10000;   // 100,000 new sources per second
        InetAddr source = nth(i);
        ASSERT_EQ(limiter.admit(source, rate_limit(1), now), SourceVerdict::kAdmitted) << i;
        limiter.release(source, now);
    }
    // Every one was tracked (none fell past the cap), so the idle ones were
    // swept: live at any time are only the last second's 100,000.
    EXPECT_LE(limiter.tracked(), limiter.max_sources());
    EXPECT_LE(limiter.table_bytes(), 16u << 20);
}

TEST(SourceLimiter, AFullTableAdmitsNewSourcesUntrackedAndStillLimitsKnownOnes) {
    // Cap of one source per shard: of many sources, exactly one per shard is tracked.
    SourceLimiter limiter(SourceLimiter::kShards, 42);
    ASSERT_EQ(limiter.max_sources(), SourceLimiter::kShards);
    std::vector<InetAddr> tracked, untracked;
    for (uint32_t i = 0; i < 2000; ++i) {
        SourceVerdict verdict = limiter.admit(nth(i), conn_limit(1), kT0);
        ASSERT_NE(verdict, SourceVerdict::kRejectedConnLimit) << i;
        (verdict == SourceVerdict::kAdmitted ? tracked : untracked).push_back(nth(i));
    }
    EXPECT_EQ(tracked.size(), SourceLimiter::kShards);
    EXPECT_EQ(limiter.tracked(), SourceLimiter::kShards);
    for (const InetAddr& a : tracked) EXPECT_EQ(limiter.admit(a, conn_limit(1), kT0), SourceVerdict::kRejectedConnLimit);
    for (const InetAddr& a : untracked) EXPECT_EQ(limiter.connections(a), 0u);
    // Releasing the tracked ones makes room again (after the sweep back-off).
    for (const InetAddr& a : tracked) limiter.release(a, kT0);
    EXPECT_EQ(limiter.tracked(), 0u);
    size_t admitted = 0;
    for (const InetAddr& a : untracked)
        admitted += limiter.admit(a, conn_limit(1), kT0 + kSecond) == SourceVerdict::kAdmitted;
    EXPECT_EQ(admitted, SourceLimiter::kShards);
}

TEST(SourceLimiter, ShardsAreIndependentWhenOneIsFullOfLiveSources) {
    SourceLimiter limiter(SourceLimiter::kShards, 7);
    // Fill every shard with one live source, and keep one more source per shard.
    std::vector<InetAddr> live;
    std::vector<InetAddr> spare;
    for (uint32_t i = 0; i < 4000; ++i) {
        if (limiter.admit(nth(i), conn_limit(1), kT0) == SourceVerdict::kAdmitted) live.push_back(nth(i));
        else spare.push_back(nth(i));
    }
    ASSERT_EQ(live.size(), SourceLimiter::kShards);
    // Free exactly one shard: only a source hashing there can be tracked now,
    // so of all the spares exactly one is admitted tracked; the others stay untracked.
    limiter.release(live[0], kT0);
    size_t tracked_now = 0;
    for (const InetAddr& a : spare) {
        SourceVerdict verdict = limiter.admit(a, conn_limit(1), kT0 + kSecond);
        if (verdict == SourceVerdict::kAdmitted) ++tracked_now;
    }
    EXPECT_EQ(tracked_now, 1u);
    for (size_t i = 1; i < live.size(); ++i) EXPECT_EQ(limiter.connections(live[i]), 1u);
}

TEST(SourceLimiter, ReleasingAnUnknownSourceChangesNothing) {
    SourceLimiter limiter;
    limiter.release(addr("192.0.2.1:1"), kT0);
    ASSERT_EQ(limiter.admit(addr("192.0.2.2:1"), conn_limit(1), kT0), SourceVerdict::kAdmitted);
    limiter.release(addr("192.0.2.1:1"), kT0);
    EXPECT_EQ(limiter.connections(addr("192.0.2.2:1")), 1u);
    EXPECT_EQ(limiter.tracked(), 1u);
}

TEST(SourceLimiter, FourThreadsCountingOneSourceLoseNoConnection) {
    SourceLimiter limiter;
    constexpr int kThreads = 4, kEach = 50000;
    InetAddr a = addr("192.0.2.1:1");
    auto run = [&](bool admit) {
        std::vector<std::thread> threads;
        for (int t = 0; t < kThreads; ++t)
            threads.emplace_back([&] {
                for (int i = 0; i < kEach; ++i) {
                    if (admit) EXPECT_EQ(limiter.admit(a, conn_limit(0), kT0), SourceVerdict::kAdmitted);
                    else limiter.release(a, kT0);
                }
            });
        for (auto& thread : threads) thread.join();
    };
    run(true);
    EXPECT_EQ(limiter.connections(a), uint32_t(kThreads * kEach));
    run(false);
    EXPECT_EQ(limiter.connections(a), 0u);
    EXPECT_EQ(limiter.tracked(), 0u);
}

TEST(SourceLimiter, ConcurrentAdmitAndReleaseFromFourThreadsKeepCountsExact) {
    SourceLimiter limiter;
    constexpr int kThreads = 4, kRounds = 20000, kSources = 8;
    constexpr uint32_t kMax = 3;
    std::atomic<int> open[kSources] = {};
    std::atomic<int> over_limit{0}, admitted{0}, rejected{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            std::vector<int> held;   // sources this thread holds a connection of
            for (int round = 0; round < kRounds; ++round) {
                int source = (round * 7 + t) % kSources;
                SourceVerdict verdict = limiter.admit(nth(uint32_t(source)), conn_limit(kMax), kT0);
                if (verdict == SourceVerdict::kAdmitted) {
                    if (open[source].fetch_add(1) + 1 > int(kMax)) over_limit.fetch_add(1);
                    held.push_back(source);
                    admitted.fetch_add(1);
                } else {
                    rejected.fetch_add(1);
                }
                if (held.size() > 2 || (round % 3 == 0 && !held.empty())) {
                    int s = held.front();
                    held.erase(held.begin());
                    open[s].fetch_sub(1);
                    limiter.release(nth(uint32_t(s)), kT0);
                }
            }
            for (int s : held) {
                open[s].fetch_sub(1);
                limiter.release(nth(uint32_t(s)), kT0);
            }
        });
    }
    for (auto& thread : threads) thread.join();
    EXPECT_EQ(over_limit.load(), 0);
    EXPECT_EQ(admitted.load() + rejected.load(), kThreads * kRounds);
    for (int s = 0; s < kSources; ++s) EXPECT_EQ(limiter.connections(nth(uint32_t(s))), 0u) << s;
    EXPECT_EQ(limiter.tracked(), 0u);
}

}  // namespace
}  // namespace ringlb
