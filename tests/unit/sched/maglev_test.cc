// Properties of the Maglev table (balance, weights, order independence, disruption),
// the source hash and the fallback lookup, plus golden values that catch any change
// of the hashes (both hosts of a pair must agree, across versions too).
#include "core/base/prime.h"
#include "core/sched/maglev.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace ringlb {
namespace {

InetAddr addr(const std::string& text) {
    auto parsed = InetAddr::parse(text);
    if (!parsed) throw std::runtime_error("bad test address " + text);
    return *parsed;
}

// Backends 10.0.0.1:8080 ... 10.0.0.N:8080, all of one weight.
std::vector<MaglevBackend> equal_backends(int count) {
    std::vector<MaglevBackend> backends;
    for (int i = 1; i <= count; ++i) {
        backends.push_back({addr("10.0." + std::to_string(i / 256) + "." + std::to_string(i % 256) + ":8080"), 1});
    }
    return backends;
}

std::vector<size_t> slot_counts(const std::vector<uint32_t>& table, size_t backend_count) {
    std::vector<size_t> counts(backend_count, 0);
    for (uint32_t index : table) counts.at(index) += 1;
    return counts;
}

// The table with each slot's backend index replaced by its address.
std::vector<InetAddr> address_table(const std::vector<uint32_t>& table,
                                    const std::vector<MaglevBackend>& backends) {
    std::vector<InetAddr> result;
    result.reserve(table.size());
    for (uint32_t index : table) result.push_back(backends.at(index).address);
    return result;
}

std::vector<InetAddr> random_sources(size_t count, uint32_t seed) {
    std::mt19937 rng(seed);
    std::vector<InetAddr> sources;
    sources.reserve(count);
    for (size_t i = 0; i < count; ++i) {
        uint32_t v4 = rng();
        std::string text = std::to_string(v4 >> 24) + "." + std::to_string((v4 >> 16) & 255) + "." +
                           std::to_string((v4 >> 8) & 255) + "." + std::to_string(v4 & 255) + ":" +
                           std::to_string(1024 + rng() % 60000);
        sources.push_back(addr(text));
    }
    return sources;
}

InetAddr backend_for(const InetAddr& source, const std::vector<uint32_t>& table,
                     const std::vector<MaglevBackend>& backends) {
    return backends.at(table.at(hash_source_address(source) % table.size())).address;
}

TEST(Maglev, IsPrimeAgreesWithTrialDivision) {
    for (uint32_t n = 0; n < 5000; ++n) {
        bool expected = n >= 2;
        for (uint32_t d = 2; d < n && expected; ++d) {
            if (n % d == 0) expected = false;
        }
        EXPECT_EQ(is_prime(n), expected) << n;
    }
    EXPECT_TRUE(is_prime(65537));
    EXPECT_TRUE(is_prime(4294967291u));   // largest 32-bit prime
    EXPECT_FALSE(is_prime(4294967295u));  // 3 · 5 · 17 · 257 · 65537
    EXPECT_FALSE(is_prime(65521u * 65519u));  // product of two large primes
}

TEST(Maglev, NonPrimeTableSizeIsRejected) {
    auto backends = equal_backends(3);
    EXPECT_THROW(build_maglev_table(backends, 0), std::invalid_argument);
    EXPECT_THROW(build_maglev_table(backends, 1), std::invalid_argument);
    EXPECT_THROW(build_maglev_table(backends, 65536), std::invalid_argument);
    EXPECT_THROW(build_maglev_table(backends, 65535), std::invalid_argument);
    EXPECT_NO_THROW(build_maglev_table(backends, 2));
    EXPECT_NO_THROW(build_maglev_table(backends, 65537));
}

TEST(Maglev, NoBackendsGiveAnEmptyTable) {
    EXPECT_TRUE(build_maglev_table({}, 65537).empty());
    std::vector<MaglevBackend> zero_weight = {{addr("10.0.0.1:80"), 0}, {addr("10.0.0.2:80"), 0}};
    EXPECT_TRUE(build_maglev_table(zero_weight, 65537).empty());
}

TEST(Maglev, EverySlotNamesABackendAndWeightZeroOwnsNone) {
    std::vector<MaglevBackend> backends = {
        {addr("10.0.0.1:80"), 1}, {addr("10.0.0.2:80"), 0}, {addr("10.0.0.3:80"), 2}};
    auto table = build_maglev_table(backends, 1009);
    ASSERT_EQ(table.size(), 1009u);
    auto counts = slot_counts(table, backends.size());
    EXPECT_EQ(counts[1], 0u);
    EXPECT_EQ(counts[0] + counts[2], 1009u);
}

TEST(Maglev, EqualBackendsEachOwnAnEqualShare) {
    for (int n = 2; n <= 64; ++n) {
        auto backends = equal_backends(n);
        auto table = build_maglev_table(backends, kDefaultMaglevTableSize);
        ASSERT_EQ(table.size(), kDefaultMaglevTableSize);
        double ideal = double(kDefaultMaglevTableSize) / n;
        auto counts = slot_counts(table, backends.size());
        for (int i = 0; i < n; ++i) {
            EXPECT_NEAR(counts[i], ideal, ideal * 0.01) << "backend " << i << " of " << n;
        }
    }
}

TEST(Maglev, SharesFollowWeights) {
    const std::vector<std::vector<uint32_t>> weight_sets = {
        {1, 2, 3, 4}, {1, 10}, {3, 1, 1}, {1, 256}, {5, 5, 5, 7, 100, 1}};
    for (const auto& weights : weight_sets) {
        auto backends = equal_backends(static_cast<int>(weights.size()));
        uint64_t total = 0;
        for (size_t i = 0; i < weights.size(); ++i) {
            backends[i].weight = weights[i];
            total += weights[i];
        }
        auto table = build_maglev_table(backends, kDefaultMaglevTableSize);
        auto counts = slot_counts(table, backends.size());
        for (size_t i = 0; i < weights.size(); ++i) {
            double ideal = double(kDefaultMaglevTableSize) * weights[i] / total;
            EXPECT_NEAR(counts[i], ideal, ideal * 0.02)
                << "weight " << weights[i] << " (backend " << i << " of " << weights.size() << ")";
        }
    }
}

TEST(Maglev, AnyOrderOfTheSameBackendsGivesTheSameAddresses) {
    auto backends = equal_backends(12);
    backends.push_back({addr("[2001:db8::7]:443"), 3});
    backends.push_back({addr("10.0.0.3:9090"), 2});  // same host as another, other port
    backends[4].weight = 5;
    auto reference = address_table(build_maglev_table(backends, kDefaultMaglevTableSize), backends);

    std::mt19937 rng(20160316);
    for (int round = 0; round < 8; ++round) {
        auto shuffled = backends;
        std::shuffle(shuffled.begin(), shuffled.end(), rng);
        auto table = build_maglev_table(shuffled, kDefaultMaglevTableSize);
        EXPECT_TRUE(address_table(table, shuffled) == reference) << "shuffle " << round;
    }
    std::reverse(backends.begin(), backends.end());
    EXPECT_TRUE(address_table(build_maglev_table(backends, kDefaultMaglevTableSize), backends) == reference);
}

TEST(Maglev, RemovingOneOfTenBackendsMovesAboutATenth) {
    const auto backends = equal_backends(10);
    const auto table = build_maglev_table(backends, kDefaultMaglevTableSize);
    const auto sources = random_sources(100000, 42);
    std::vector<InetAddr> before;
    for (const auto& source : sources) before.push_back(backend_for(source, table, backends));

    double worst_moved_others = 0, least_moved_total = 1, most_moved_total = 0;
    for (size_t removed = 0; removed < backends.size(); ++removed) {
        auto fewer = backends;
        fewer.erase(fewer.begin() + removed);
        auto smaller = build_maglev_table(fewer, kDefaultMaglevTableSize);

        size_t on_removed = 0, moved_from_removed = 0, on_others = 0, moved_others = 0;
        for (size_t i = 0; i < sources.size(); ++i) {
            InetAddr after = backend_for(sources[i], smaller, fewer);
            if (before[i] == backends[removed].address) {
                ++on_removed;
                if (!(after == before[i])) ++moved_from_removed;
            } else {
                ++on_others;
                if (!(after == before[i])) ++moved_others;
            }
        }
        double fraction_others = double(moved_others) / on_others;
        double fraction_total = double(moved_from_removed + moved_others) / sources.size();
        worst_moved_others = std::max(worst_moved_others, fraction_others);
        least_moved_total = std::min(least_moved_total, fraction_total);
        most_moved_total = std::max(most_moved_total, fraction_total);
        EXPECT_EQ(moved_from_removed, on_removed) << "removed " << removed;
        EXPECT_GT(on_removed, 9000u) << "removed " << removed;
        EXPECT_LE(fraction_others, 0.01) << "removed " << removed;
        EXPECT_NEAR(fraction_total, 0.1, 0.02) << "removed " << removed;

        // Adding it back (at the end, so the caller's order differs) restores the table.
        fewer.push_back(backends[removed]);
        auto restored = build_maglev_table(fewer, kDefaultMaglevTableSize);
        EXPECT_TRUE(address_table(restored, fewer) == address_table(table, backends)) << "removed " << removed;
    }
    std::printf("[          ] sources moved: %.2f%%..%.2f%% of all; at most %.3f%% of those "
                "on the other nine\n",
                least_moved_total * 100, most_moved_total * 100, worst_moved_others * 100);
}

TEST(Maglev, SourceHashIgnoresThePortAndSeesMappedIpv4AsIpv4) {
    EXPECT_EQ(hash_source_address(addr("192.0.2.1:1000")), hash_source_address(addr("192.0.2.1:2000")));
    EXPECT_EQ(hash_source_address(addr("192.0.2.1:1000")),
              hash_source_address(addr("[::ffff:192.0.2.1]:1000")));
    EXPECT_NE(hash_source_address(addr("192.0.2.1:1000")), hash_source_address(addr("192.0.2.2:1000")));
    EXPECT_NE(hash_source_address(addr("[2001:db8::1]:1")), hash_source_address(addr("[2001:db8::2]:1")));
}

TEST(Maglev, SourceHashSpreadsNeighbouringAddresses) {
    // Clients from one /24 must not pile onto a few slots.
    constexpr uint32_t kSize = 251;
    std::vector<int> hits(kSize, 0);
    for (int i = 0; i < 256 * 40; ++i) {
        auto source = addr("198.51." + std::to_string(i / 256) + "." + std::to_string(i % 256) + ":1");
        hits[hash_source_address(source) % kSize] += 1;
    }
    double mean = 256.0 * 40 / kSize;  // ≈ 40.8; a Poisson count stays well within ±50%
    for (uint32_t slot = 0; slot < kSize; ++slot) EXPECT_NEAR(hits[slot], mean, mean * 0.5) << slot;
}

// Golden values: if one of these changes, the hash or the population changed, and a
// ringlb of this version would disagree with its peer running the previous one. They
// were cross-checked against an independent Python rendering of the algorithm
// described in maglev.h / maglev.cc (FNV-1a 64 + fmix64, weighted Pseudocode 1).
TEST(Maglev, GoldenSourceHashes) {
    EXPECT_EQ(hash_source_address(addr("192.0.2.1:1")), 0x803931826a2288eaULL);
    EXPECT_EQ(hash_source_address(addr("[2001:db8::1]:1")), 0x8dec2b2d0b0e530fULL);
}

TEST(Maglev, GoldenTableOfThirteenSlots) {
    std::vector<MaglevBackend> backends = {
        {addr("10.0.1.11:8080"), 1}, {addr("10.0.1.12:8080"), 1}, {addr("10.0.1.13:8080"), 1}};
    std::vector<uint32_t> expected = {1, 0, 2, 1, 2, 2, 2, 1, 0, 0, 0, 1, 0};
    EXPECT_EQ(build_maglev_table(backends, 13), expected);

    backends[0].weight = 3;
    std::vector<uint32_t> expected_weighted = {0, 0, 2, 1, 0, 0, 2, 0, 0, 0, 0, 1, 0};
    EXPECT_EQ(build_maglev_table(backends, 13), expected_weighted);
}

TEST(Maglev, LookupReturnsTheTableEntryWhenItIsAvailable) {
    auto backends = equal_backends(7);
    auto table = build_maglev_table(backends, 1009);
    for (uint64_t hash = 0; hash < 5000; ++hash) {
        auto picked = lookup_maglev_backend(table, hash, [](uint32_t) { return true; });
        ASSERT_TRUE(picked.has_value());
        EXPECT_EQ(*picked, table[hash % table.size()]);
    }
    EXPECT_FALSE(lookup_maglev_backend(std::vector<uint32_t>{}, 5, [](uint32_t) { return true; }));
}

TEST(Maglev, LookupNeverReturnsAnUnavailableBackend) {
    auto backends = equal_backends(10);
    auto table = build_maglev_table(backends, kDefaultMaglevTableSize);
    std::mt19937_64 rng(7);
    for (uint32_t down_mask = 0; down_mask < (1u << 10); ++down_mask) {
        auto available = [&](uint32_t index) { return (down_mask & (1u << index)) == 0; };
        for (int i = 0; i < 200; ++i) {
            uint64_t hash = rng();
            auto picked = lookup_maglev_backend(table, hash, available);
            if (down_mask == (1u << 10) - 1) {
                EXPECT_FALSE(picked.has_value());
                break;
            }
            ASSERT_TRUE(picked.has_value()) << "mask " << down_mask;
            EXPECT_TRUE(available(*picked)) << "mask " << down_mask;
            if (available(table[hash % table.size()])) {
                EXPECT_EQ(*picked, table[hash % table.size()]);
            }
        }
    }
    // The smallest tables, where the probe step has the least room.
    for (uint32_t size : {2u, 3u}) {
        auto small = build_maglev_table(backends, size);
        for (uint64_t hash = 0; hash < 64; ++hash) {
            uint32_t keep = small[(hash * 7) % size];
            auto picked = lookup_maglev_backend(small, hash << 29, [&](uint32_t index) { return index == keep; });
            ASSERT_TRUE(picked.has_value()) << "size " << size;
            EXPECT_EQ(*picked, keep);
        }
    }
}

TEST(Maglev, ADownBackendsSourcesSpreadOverTheOthers) {
    auto backends = equal_backends(10);
    auto table = build_maglev_table(backends, kDefaultMaglevTableSize);
    const uint32_t down = 4;
    std::vector<size_t> took(backends.size(), 0);
    size_t displaced = 0;
    for (const auto& source : random_sources(100000, 99)) {
        uint64_t hash = hash_source_address(source);
        if (table[hash % table.size()] != down) continue;
        ++displaced;
        auto picked = lookup_maglev_backend(table, hash, [&](uint32_t index) { return index != down; });
        ASSERT_TRUE(picked.has_value());
        took[*picked] += 1;
    }
    double fair = double(displaced) / (backends.size() - 1);
    for (uint32_t i = 0; i < backends.size(); ++i) {
        if (i == down) continue;
        EXPECT_NEAR(took[i], fair, fair * 0.15) << "backend " << i;
    }
}

}  // namespace
}  // namespace ringlb
