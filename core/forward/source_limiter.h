// Per-listener abuse limits by client address: concurrent connections
// (max_conn_per_source) and new connections per second (rate_per_source).
// Pure: no sockets, no clock reads, no logging; time is a parameter.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "core/base/inet_addr.h"

namespace ringlb {

// The limits of one listener, read from its config for every admit, so a
// reload that changes them applies to the table the listener already has.
struct SourceLimits {
    uint32_t max_conn = 0;   // connections open at once per source address; 0 = unlimited
    uint32_t rate = 0;       // new connections per second per source, burst = rate; 0 = unlimited

    bool enabled() const { return max_conn != 0 || rate != 0; }
};

enum class SourceVerdict : uint8_t {
    kAdmitted,           // counted: the caller must release() it exactly once when it closes
    kAdmittedUntracked,  // the table is full of live sources: let through unlimited, never release()
    kRejectedConnLimit,  // the source already has max_conn connections open
    kRejectedRate,       // the source exceeded rate new connections per second
};

// A table of client addresses shared by every worker of one listener.
// Thread-safe: kShards lock-striped shards, each an open-addressing table
// (linear probing, backward-shift deletion) behind its own mutex, so workers
// contend only when their clients hash to the same shard.
//
// The rate limit is a token bucket of `rate` tokens refilled at `rate` per
// second, kept as GCRA (ITU-T I.371): one "theoretical arrival time" per
// source; the bucket is full once that time has passed. A rejected attempt
// takes no token (as nginx limit_req), so a client that keeps trying is still
// let through at `rate` per second. IPv4 clients and IPv4-mapped IPv6 clients
// (::ffff:a.b.c.d on a dual-stack socket) are the same source.
//
// Memory: an entry (32 bytes) exists while its source has connections open or
// its bucket is refilling; release() frees it when neither holds, and idle
// entries left behind are swept when a shard would otherwise grow. At most
// max_sources are tracked; when a shard is full of live sources a new source
// is admitted untracked (fail open, like an HAProxy stick-table that cannot
// purge): the limits protect against a few abusive clients, and refusing
// everyone new once the table is full would hand an attacker with many
// addresses a way to lock all other clients out.
class SourceLimiter {
public:
    static constexpr size_t kShards = 64;
    static constexpr size_t kDefaultMaxSources = 262144;   // ≤ 16 MiB of tables per listener

    // seed: keys the address hash, so clients cannot pick addresses that
    // collide (the daemon passes a random one; tests a fixed one).
    explicit SourceLimiter(size_t max_sources = kDefaultMaxSources, uint64_t seed = 0);
    SourceLimiter(const SourceLimiter&) = delete;
    SourceLimiter& operator=(const SourceLimiter&) = delete;

    // A new connection from `source` (its port is ignored) at steady-clock
    // time now_ns. Checks max_conn first, then the rate; takes a connection
    // slot and a token only when it admits. Any thread.
    SourceVerdict admit(const InetAddr& source, const SourceLimits& limits, uint64_t now_ns) noexcept;
    // A connection admitted with kAdmitted closed. Any thread.
    void release(const InetAddr& source, uint64_t now_ns) noexcept;

    // For tests and statistics; each takes the shard locks it reads.
    uint32_t connections(const InetAddr& source) const;   // open connections counted for source
    size_t tracked() const;                               // entries held now
    size_t table_bytes() const;                           // memory held by the shard tables
    size_t max_sources() const { return per_shard_cap_ * kShards; }

private:
    using Key = std::array<uint64_t, 2>;   // the address as IPv6 (IPv4 as ::ffff:a.b.c.d)

    struct Entry {
        Key key{};
        uint64_t tat_ns = 0;   // GCRA theoretical arrival time: the bucket is full once now ≥ it
        uint32_t count = 0;    // admitted connections still open
        uint32_t used = 0;     // 0: empty slot
    };

    struct alignas(64) Shard {
        mutable std::mutex mutex;
        std::vector<Entry> slots;   // size 0 or a power of two
        size_t used = 0;
        uint64_t next_sweep_ns = 0;   // at its cap: no sweep before this time
    };

    static bool key_of(const InetAddr& source, Key* key);
    uint64_t hash(const Key& key) const;
    Shard& shard_for(uint64_t h) { return shards_[h >> 58]; }   // top 6 bits: kShards = 64
    const Shard& shard_for(uint64_t h) const { return shards_[h >> 58]; }

    // Index of key's slot, or of the empty slot where it would go.
    size_t probe(const Shard& shard, const Key& key, uint64_t h) const;
    // Makes room for one more entry: sweeps idle entries and grows up to the
    // cap. False when the shard is at its cap with every entry live.
    bool reserve(Shard& shard, uint64_t now_ns);
    void rebuild(Shard& shard, size_t size, uint64_t now_ns);
    void erase(Shard& shard, size_t index);
    static bool idle(const Entry& entry, uint64_t now_ns) { return entry.count == 0 && entry.tat_ns <= now_ns; }

    const uint64_t seed_;
    const size_t per_shard_cap_;
    std::unique_ptr<Shard[]> shards_;
};

}  // namespace ringlb
