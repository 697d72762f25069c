// Maglev table population (NSDI 2016, §3.4, Pseudocode 1) with weights, and the fixed
// hashes it rests on. Everything here must give the same bits on every host and build:
// no std::hash, no pointer values, no unordered containers.
#include "core/sched/maglev.h"

#include <algorithm>
#include <limits>
#include <stdexcept>
#include <string>
#include <string_view>

#include "core/base/prime.h"

namespace ringlb {
namespace {

constexpr uint32_t kEmptySlot = std::numeric_limits<uint32_t>::max();

// FNV-1a, 64-bit (http://www.isthe.com/chongo/tech/comp/fnv/): fixed, simple, no key.
constexpr uint64_t kFnvOffsetBasis = 0xcbf29ce484222325ULL;
constexpr uint64_t kFnvPrime = 0x100000001b3ULL;

// Offset and skip must be independent draws from one identity, so each is the
// finalizer of the identity's hash plus its own constant (fmix64 is a bijection,
// so the two never coincide for a given identity).
constexpr uint64_t kOffsetSeed = 0;
constexpr uint64_t kSkipSeed = 0x9e3779b97f4a7c15ULL;  // 2^64 / golden ratio

uint64_t fnv1a64(std::string_view bytes) {
    uint64_t hash = kFnvOffsetBasis;
    for (unsigned char byte : bytes) {
        hash ^= byte;
        hash *= kFnvPrime;
    }
    return hash;
}

// MurmurHash3's fmix64: FNV-1a alone mixes its last bytes poorly into the low bits,
// which `% table_size` keeps; the finalizer spreads every input bit over all 64.
uint64_t fmix64(uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

struct BuildEntry {
    uint32_t caller_index;
    uint32_t weight;
    uint64_t position;  // this backend's next preferred slot
    uint64_t skip;
    uint64_t credit = 0;
};

}  // namespace

std::vector<uint32_t> build_maglev_table(std::span<const MaglevBackend> backends,
                                         uint32_t table_size) {
    if (!is_prime(table_size)) {
        // With a composite size, skip and size can share a factor and a permutation
        // would cycle through only part of the table.
        throw std::invalid_argument("Maglev table size " + std::to_string(table_size) +
                                    " is not prime");
    }
    if (backends.size() >= kEmptySlot) {
        throw std::invalid_argument("too many backends for a Maglev table");
    }

    std::vector<uint32_t> order;
    for (uint32_t i = 0; i < backends.size(); ++i) {
        if (backends[i].weight > 0) order.push_back(i);
    }
    if (order.empty()) return {};

    // Sorting by (address, weight) makes the result independent of the caller's
    // order; entries equal in both are interchangeable at the address level.
    std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
        if (backends[a].address == backends[b].address) return backends[a].weight < backends[b].weight;
        return backends[a].address < backends[b].address;
    });

    std::vector<BuildEntry> entries;
    entries.reserve(order.size());
    uint32_t max_weight = 0;
    for (uint32_t index : order) {
        const MaglevBackend& backend = backends[index];
        uint64_t identity = fnv1a64(backend.address.to_string());
        uint64_t offset = fmix64(identity + kOffsetSeed) % table_size;
        uint64_t skip = fmix64(identity + kSkipSeed) % (table_size - 1) + 1;
        entries.push_back({index, backend.weight, offset, skip});
        max_weight = std::max(max_weight, backend.weight);
    }

    // Pseudocode 1 of the paper, weighted: every round each backend earns its weight in
    // credit and claims its next preferred free slot each time the credit reaches the
    // largest weight. Over R rounds a backend claims ⌊R·w/max⌋ slots (one round fewer
    // if the table fills before its turn in the last one), so its share is w/Σw to
    // within a few slots, and equal weights give the paper's plain round robin.
    std::vector<uint32_t> table(table_size, kEmptySlot);
    uint32_t filled = 0;
    for (;;) {
        for (BuildEntry& entry : entries) {
            entry.credit += entry.weight;
            if (entry.credit < max_weight) continue;
            entry.credit -= max_weight;
            // Terminates: the permutation visits every slot, and one is still free.
            while (table[entry.position] != kEmptySlot) {
                entry.position = (entry.position + entry.skip) % table_size;
            }
            table[entry.position] = entry.caller_index;
            entry.position = (entry.position + entry.skip) % table_size;
            if (++filled == table_size) return table;
        }
    }
}

uint64_t hash_source_address(const InetAddr& client) noexcept {
    static constexpr char kV4MappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, '\xff', '\xff'};
    std::string_view bytes = client.address_bytes();
    if (bytes.size() == 16 && bytes.substr(0, 12) == std::string_view(kV4MappedPrefix, 12)) {
        bytes.remove_prefix(12);
    }
    return fmix64(fnv1a64(bytes));
}

}  // namespace ringlb
