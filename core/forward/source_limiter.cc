// SourceLimiter: lock-striped open-addressing tables of client addresses,
// each entry a connection count and a GCRA arrival time. See source_limiter.h.
#include "core/forward/source_limiter.h"

#include <sys/socket.h>

#include <algorithm>
#include <cstring>

namespace ringlb {

namespace {

constexpr uint64_t kNanosPerSecond = 1000000000;
constexpr size_t kMinSlots = 16;
// A shard at its cap with every entry live is swept again only this much later:
// under a flood of new sources a sweep per connection would cost O(cap) each.
constexpr uint64_t kFullSweepBackoffNs = 10 * 1000 * 1000;

static_assert(SourceLimiter::kShards == 64, "shard_for takes the top 6 bits of the hash");

// splitmix64's finalizer: every input bit reaches every output bit.
uint64_t mix(uint64_t x) {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

// Load factor at most 3/4, so a probe always meets an empty slot.
bool fits(size_t used, size_t slots) { return used + 1 <= slots / 4 * 3; }

size_t slots_for_cap(size_t cap) {
    size_t size = kMinSlots;
    while (size / 4 * 3 < cap) size *= 2;
    return size;
}

}  // namespace

SourceLimiter::SourceLimiter(size_t max_sources, uint64_t seed)
    : seed_(seed),
      per_shard_cap_(std::max<size_t>(1, (max_sources + kShards - 1) / kShards)),
      shards_(std::make_unique<Shard[]>(kShards)) {}

bool SourceLimiter::key_of(const InetAddr& source, Key* key) {
    unsigned char bytes[16] = {};
    std::string_view address = source.address_bytes();
    if (source.family() == AF_INET && address.size() == 4) {
        bytes[10] = bytes[11] = 0xff;   // ::ffff:a.b.c.d, as a dual-stack socket reports IPv4 clients
        std::memcpy(bytes + 12, address.data(), 4);
    } else if (source.family() == AF_INET6 && address.size() == 16) {
        std::memcpy(bytes, address.data(), 16);
    } else {
        return false;
    }
    std::memcpy(key->data(), bytes, sizeof(bytes));
    return true;
}

uint64_t SourceLimiter::hash(const Key& key) const {
    return mix(mix(seed_ ^ key[0]) ^ key[1]);
}

size_t SourceLimiter::probe(const Shard& shard, const Key& key, uint64_t h) const {
    const size_t mask = shard.slots.size() - 1;
    size_t i = h & mask;
    while (shard.slots[i].used && shard.slots[i].key != key) i = (i + 1) & mask;
    return i;
}

void SourceLimiter::rebuild(Shard& shard, size_t size, uint64_t now_ns) {
    std::vector<Entry> old(size);
    old.swap(shard.slots);
    shard.used = 0;
    for (const Entry& entry : old) {
        if (!entry.used || idle(entry, now_ns)) continue;
        shard.slots[probe(shard, entry.key, hash(entry.key))] = entry;
        ++shard.used;
    }
}

bool SourceLimiter::reserve(Shard& shard, uint64_t now_ns) {
    if (shard.used < per_shard_cap_ && fits(shard.used, shard.slots.size())) return true;
    const size_t max_slots = slots_for_cap(per_shard_cap_);
    const bool sweep_only = shard.slots.size() >= max_slots;
    if (sweep_only && now_ns < shard.next_sweep_ns) return false;
    size_t live = 0;
    for (const Entry& entry : shard.slots) live += entry.used && !idle(entry, now_ns);
    if (live < per_shard_cap_) {
        // Half full after the rebuild, so the next one is at least a quarter of
        // the table away: growing costs O(1) per insert, amortised.
        size_t size = kMinSlots;
        while (size < max_slots && (live + 1) * 2 > size) size *= 2;
        rebuild(shard, size, now_ns);
    }
    if (sweep_only && shard.used + shard.used / 8 >= per_shard_cap_) shard.next_sweep_ns = now_ns + kFullSweepBackoffNs;
    return shard.used < per_shard_cap_ && fits(shard.used, shard.slots.size());
}

void SourceLimiter::erase(Shard& shard, size_t index) {
    // Backward-shift deletion: pull later entries of the probe run into the
    // hole unless their home slot lies cyclically within (hole, j].
    const size_t mask = shard.slots.size() - 1;
    size_t hole = index;
    for (size_t j = (index + 1) & mask; shard.slots[j].used; j = (j + 1) & mask) {
        size_t home = hash(shard.slots[j].key) & mask;
        bool stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
        if (stays) continue;
        shard.slots[hole] = shard.slots[j];
        hole = j;
    }
    shard.slots[hole] = Entry{};
    --shard.used;
}

SourceVerdict SourceLimiter::admit(const InetAddr& source, const SourceLimits& limits, uint64_t now_ns) noexcept {
    Key key;
    if (!key_of(source, &key)) return SourceVerdict::kAdmittedUntracked;
    const uint64_t h = hash(key);
    Shard& shard = shard_for(h);
    std::lock_guard lock(shard.mutex);

    size_t index = shard.slots.empty() ? 0 : probe(shard, key, h);
    Entry* entry = !shard.slots.empty() && shard.slots[index].used ? &shard.slots[index] : nullptr;
    if (entry && limits.max_conn != 0 && entry->count >= limits.max_conn) return SourceVerdict::kRejectedConnLimit;

    uint64_t tat = entry ? entry->tat_ns : 0;
    if (limits.rate != 0) {
        // GCRA with emission interval T = 1 s / rate and burst tolerance
        // (rate − 1) × T: conforming while the arrival time is at most that far ahead.
        const uint64_t interval = kNanosPerSecond / limits.rate;
        const uint64_t tolerance = uint64_t(limits.rate - 1) * interval;
        const uint64_t start = std::max(tat, now_ns);
        if (start - now_ns > tolerance) return SourceVerdict::kRejectedRate;
        tat = start + interval;
    }
    if (!entry) {
        if (!reserve(shard, now_ns)) return SourceVerdict::kAdmittedUntracked;
        index = probe(shard, key, h);
        entry = &shard.slots[index];
        entry->key = key;
        entry->used = 1;
        ++shard.used;
    }
    ++entry->count;
    entry->tat_ns = tat;
    return SourceVerdict::kAdmitted;
}

void SourceLimiter::release(const InetAddr& source, uint64_t now_ns) noexcept {
    Key key;
    if (!key_of(source, &key)) return;
    const uint64_t h = hash(key);
    Shard& shard = shard_for(h);
    std::lock_guard lock(shard.mutex);
    if (shard.slots.empty()) return;
    size_t index = probe(shard, key, h);
    Entry& entry = shard.slots[index];
    if (!entry.used) return;
    if (entry.count > 0) --entry.count;
    if (idle(entry, now_ns)) erase(shard, index);
}

uint32_t SourceLimiter::connections(const InetAddr& source) const {
    Key key;
    if (!key_of(source, &key)) return 0;
    const uint64_t h = hash(key);
    const Shard& shard = shard_for(h);
    std::lock_guard lock(shard.mutex);
    if (shard.slots.empty()) return 0;
    const Entry& entry = shard.slots[probe(shard, key, h)];
    return entry.used ? entry.count : 0;
}

size_t SourceLimiter::tracked() const {
    size_t total = 0;
    for (size_t i = 0; i < kShards; ++i) {
        std::lock_guard lock(shards_[i].mutex);
        total += shards_[i].used;
    }
    return total;
}

size_t SourceLimiter::table_bytes() const {
    size_t total = 0;
    for (size_t i = 0; i < kShards; ++i) {
        std::lock_guard lock(shards_[i].mutex);
        total += shards_[i].slots.size() * sizeof(Entry);
    }
    return total;
}

}  // namespace ringlb
