// PrefixSet: prefixes as sorted disjoint ranges; see prefix_set.h.
#include "core/base/prefix_set.h"

#include <algorithm>
#include <cstring>

namespace ringlb {

namespace {

constexpr uint8_t kMappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};  // ::ffff:0:0/96

uint32_t load_v4(const uint8_t* bytes) {
    return (uint32_t(bytes[0]) << 24) | (uint32_t(bytes[1]) << 16) | (uint32_t(bytes[2]) << 8) | uint32_t(bytes[3]);
}

unsigned __int128 load_v6(const uint8_t* bytes) {
    unsigned __int128 value = 0;
    for (int i = 0; i < 16; ++i) value = (value << 8) | bytes[i];
    return value;
}

bool is_mapped(const uint8_t* bytes) { return std::memcmp(bytes, kMappedPrefix, sizeof(kMappedPrefix)) == 0; }

// Sorts by start and merges ranges that overlap or touch.
template <class Range>
void normalise(std::vector<Range>& ranges) {
    std::sort(ranges.begin(), ranges.end(), [](const Range& a, const Range& b) { return a.first < b.first; });
    size_t kept = 0;
    for (const Range& range : ranges) {
        if (kept > 0 && (ranges[kept - 1].last >= range.first || ranges[kept - 1].last + 1 == range.first)) {
            ranges[kept - 1].last = std::max(ranges[kept - 1].last, range.last);
        } else {
            ranges[kept++] = range;
        }
    }
    ranges.resize(kept);
    ranges.shrink_to_fit();
}

// The last range starting at or before key, if it reaches key.
template <class Range, class Key>
bool in_ranges(const std::vector<Range>& ranges, Key key) noexcept {
    auto after = std::upper_bound(ranges.begin(), ranges.end(), key,
                                  [](Key k, const Range& range) { return k < range.first; });
    return after != ranges.begin() && std::prev(after)->last >= key;
}

}  // namespace

PrefixSet::PrefixSet(std::span<const InetPrefix> prefixes) {
    for (const InetPrefix& prefix : prefixes) {
        if (prefix.family == AF_INET || (prefix.family == AF_INET6 && prefix.length >= 96 && is_mapped(prefix.bytes.data()))) {
            const bool mapped = prefix.family == AF_INET6;
            const uint32_t first = load_v4(prefix.bytes.data() + (mapped ? 12 : 0));
            const int host_bits = (mapped ? 128 : 32) - prefix.length;
            const uint32_t span = host_bits >= 32 ? UINT32_MAX : (uint32_t(1) << host_bits) - 1;
            v4_.push_back({first, first + span});
        } else if (prefix.family == AF_INET6) {
            const U128 first = load_v6(prefix.bytes.data());
            const int host_bits = 128 - prefix.length;
            const U128 span = host_bits >= 128 ? ~U128(0) : (U128(1) << host_bits) - 1;
            v6_.push_back({first, first + span});
        }
    }
    normalise(v4_);
    normalise(v6_);
}

bool PrefixSet::contains_v4(uint32_t key) const noexcept { return in_ranges(v4_, key); }
bool PrefixSet::contains_v6(U128 key) const noexcept { return in_ranges(v6_, key); }

bool PrefixSet::contains(const InetAddr& address) const noexcept {
    const std::string_view bytes = address.address_bytes();
    const auto* raw = reinterpret_cast<const uint8_t*>(bytes.data());
    if (bytes.size() == 4) return contains_v4(load_v4(raw));
    if (bytes.size() != 16) return false;
    if (is_mapped(raw)) return contains_v4(load_v4(raw + 12));
    return contains_v6(load_v6(raw));
}

}  // namespace ringlb
