// source-hash scheduling over Maglev tables: stable per client, skips
// backends that cannot take the connection, backups hash on their own table.
#include <gtest/gtest.h>

#include <map>
#include <random>

#include "core/sched/maglev.h"
#include "core/sched/sched_source_hash.h"

namespace ringlb {
namespace {

ListenerConfig listener_with(std::vector<std::string> addresses, std::vector<bool> backups = {}) {
    ListenerConfig l;
    for (size_t i = 0; i < addresses.size(); ++i) {
        BackendConfig b;
        b.address = *InetAddr::parse(addresses[i]);
        b.backup = i < backups.size() && backups[i];
        l.backends.push_back(b);
    }
    l.hash_table_size = 1009;
    return l;
}

std::vector<Candidate> candidates_for(const ListenerConfig& l, bool backup, int skip = -1) {
    std::vector<Candidate> out;
    for (uint32_t i = 0; i < l.backends.size(); ++i)
        if (l.backends[i].backup == backup && int(i) != skip) out.push_back({i, 1, 0, backup});
    return out;
}

uint64_t hash_of(uint32_t n) {
    return hash_source_address(*InetAddr::parse_host("10.0." + std::to_string(n / 256) + "." + std::to_string(n % 256), 0));
}

TEST(SourceHash, TheSameClientAlwaysGetsTheSameBackend) {
    auto l = listener_with({"10.1.0.1:80", "10.1.0.2:80", "10.1.0.3:80"});
    SourceHashScheduler s(std::make_shared<MaglevSlot>(build_listener_maglev(l)), 3);
    auto c = candidates_for(l, false);
    for (uint32_t client = 0; client < 200; ++client) {
        uint32_t first = c[s.pick(c, hash_of(client))].index;
        for (int k = 0; k < 3; ++k) EXPECT_EQ(c[s.pick(c, hash_of(client))].index, first);
    }
}

TEST(SourceHash, ClientsSpreadOverAllBackends) {
    auto l = listener_with({"10.1.0.1:80", "10.1.0.2:80", "10.1.0.3:80"});
    SourceHashScheduler s(std::make_shared<MaglevSlot>(build_listener_maglev(l)), 3);
    auto c = candidates_for(l, false);
    std::map<uint32_t, int> hits;
    for (uint32_t client = 0; client < 3000; ++client) hits[c[s.pick(c, hash_of(client))].index]++;
    for (uint32_t b = 0; b < 3; ++b) EXPECT_NEAR(hits[b], 1000, 150);
}

TEST(SourceHash, AnUnavailableBackendMovesOnlyItsOwnClients) {
    auto l = listener_with({"10.1.0.1:80", "10.1.0.2:80", "10.1.0.3:80", "10.1.0.4:80"});
    SourceHashScheduler s(std::make_shared<MaglevSlot>(build_listener_maglev(l)), 4);
    auto all = candidates_for(l, false);
    auto without_second = candidates_for(l, false, 1);
    for (uint32_t client = 0; client < 1000; ++client) {
        uint32_t before = all[s.pick(all, hash_of(client))].index;
        uint32_t after = without_second[s.pick(without_second, hash_of(client))].index;
        EXPECT_NE(after, 1u);
        if (before != 1) {
            EXPECT_EQ(before, after);
        }
    }
}

TEST(SourceHash, BackupsUseTheirOwnTable) {
    auto l = listener_with({"10.1.0.1:80", "10.1.0.8:80", "10.1.0.9:80"}, {false, true, true});
    SourceHashScheduler s(std::make_shared<MaglevSlot>(build_listener_maglev(l)), 3);
    auto backups = candidates_for(l, true);
    std::map<uint32_t, int> hits;
    for (uint32_t client = 0; client < 1000; ++client) {
        uint32_t chosen = backups[s.pick(backups, hash_of(client))].index;
        EXPECT_TRUE(chosen == 1 || chosen == 2);
        hits[chosen]++;
    }
    EXPECT_GT(hits[1], 350);
    EXPECT_GT(hits[2], 350);
}

TEST(SourceHash, ATableRebuiltWithoutADownBackendIsPickedUpByWorkers) {
    auto l = listener_with({"10.1.0.1:80", "10.1.0.2:80", "10.1.0.3:80", "10.1.0.4:80"});
    auto slot = std::make_shared<MaglevSlot>(build_listener_maglev(l));
    SourceHashScheduler s(slot, 4);
    auto without_second = candidates_for(l, false, 1);
    std::map<uint32_t, uint32_t> by_probe;
    for (uint32_t client = 0; client < 2000; ++client)
        by_probe[client] = without_second[s.pick(without_second, hash_of(client))].index;

    slot->store(build_listener_maglev(l, {true, false, true, true}));
    uint32_t differ = 0;
    for (uint32_t client = 0; client < 2000; ++client) {
        uint32_t chosen = without_second[s.pick(without_second, hash_of(client))].index;
        EXPECT_NE(chosen, 1u);
        differ += chosen != by_probe[client];
    }
    // The rebuilt table is in use (its choices differ from the fallback probe's for
    // some clients), and it is Maglev: most clients keep their backend.
    EXPECT_GT(differ, 0u);
    EXPECT_LT(differ, 2000u / 4);
}

TEST(SourceHash, RebuiltTablesLeaveOutExactlyTheUnavailableBackends) {
    auto l = listener_with({"10.1.0.1:80", "10.1.0.2:80", "10.1.0.3:80"});
    auto tables = build_listener_maglev(l, {true, false, true});
    EXPECT_EQ(tables->built_from, (std::vector<bool>{true, false, true}));
    for (uint32_t entry : tables->primary) EXPECT_NE(entry, 1u);
}

}  // namespace
}  // namespace ringlb
