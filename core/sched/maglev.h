// Maglev consistent hashing (Eisenbud et al., NSDI 2016, §3.4) for the source-hash
// scheduler: a pure table builder, a stable source-address hash and the lookup with
// fallback. Knows nothing of health checks, sockets or config reloads.
#pragma once

#include <concepts>
#include <cstdint>
#include <optional>
#include <span>
#include <type_traits>
#include <vector>

#include "core/base/inet_addr.h"

namespace ringlb {

inline constexpr uint32_t kDefaultMaglevTableSize = 65537;

struct MaglevBackend {
    InetAddr address;
    uint32_t weight = 1;
};

// Builds the Maglev lookup table: `table_size` entries, each an index into `backends`
// as the caller passed them.
//
// The table depends only on the set of (address, port, weight): the backends are sorted
// before the table is populated, so the same set in any order maps every slot to the
// same address, and both hosts of a VRRP pair build identical tables. Each backend's
// permutation comes from a fixed hash of its "ADDR:PORT" text (InetAddr::to_string());
// see maglev.cc. A backend of weight w owns w / Σw of the slots, off by fewer than
// 2 + 2·N·w/Σw slots for N backends (±1 slot when all weights are equal).
// Backends of weight 0 own no slot. No backends, or only weight-0 ones → empty table.
// A table smaller than the number of backends leaves some of them without a slot.
//
// Control plane only: throws std::invalid_argument when table_size is not prime (the
// permutation needs it) or when there are 2^32 - 1 backends or more. Cost is roughly
// O(table_size · log table_size); build it off the data path and swap it in.
std::vector<uint32_t> build_maglev_table(std::span<const MaglevBackend> backends,
                                         uint32_t table_size);

// A 64-bit hash of the client's address bytes (not the port), identical on every host
// and build: FNV-1a 64 then the MurmurHash3 fmix64 finalizer. An IPv4-mapped IPv6
// address (::ffff:a.b.c.d, as seen on a dual-stack listener) hashes like a.b.c.d, so a
// client keeps its backend whichever family the listener uses.
uint64_t hash_source_address(const InetAddr& client) noexcept;

// Data path. Returns the backend owning slot `hash % table.size()`. When `available`
// says that backend is down, probes further slots in an order drawn from the same hash
// (double hashing: a step of 1 + (hash >> 32) % (size - 1), which visits every slot
// since the size is prime) and returns the first available backend met. Sources whose
// own backend is available never move; those of a down backend land on pseudo-random
// slots, so they spread over the others in proportion to their shares of the table,
// and the table is not rebuilt (DESIGN §4: only removed or drained backends lead to a
// rebuild, off the data path). A plain walk to the next slot would not do that: the
// population leaves neighbouring slots correlated, and one down backend of ten put up
// to 36% more or less than a fair share on the others (double hashing: 7%, noise).
// nullopt when the table is empty or no backend in it is available (then every slot
// was probed once).
template <typename Available>
    requires std::predicate<Available&, uint32_t>
std::optional<uint32_t> lookup_maglev_backend(std::span<const uint32_t> table, uint64_t hash,
                                              Available&& available) noexcept(
    std::is_nothrow_invocable_v<Available&, uint32_t>) {
    const size_t size = table.size();
    if (size == 0) return std::nullopt;
    size_t slot = static_cast<size_t>(hash % size);
    const size_t step = size > 1 ? 1 + static_cast<size_t>((hash >> 32) % (size - 1)) : 1;
    for (size_t probed = 0; probed < size; ++probed) {
        uint32_t backend = table[slot];
        if (available(backend)) return backend;
        slot += step;
        if (slot >= size) slot -= size;
    }
    return std::nullopt;
}

}  // namespace ringlb
