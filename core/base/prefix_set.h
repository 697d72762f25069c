// A set of address prefixes, asked "is this address in any of them?" once per
// accepted connection (allow, deny, accept_proxy_from). Built once per config
// snapshot; lookups are a binary search over sorted disjoint ranges, so 10,000
// prefixes cost about 14 comparisons, not 10,000. Pure: no I/O, no allocation
// after construction, lookups noexcept.
//
// Families follow nginx's access module: an IPv4-mapped IPv6 client
// (::ffff:a.b.c.d on a dual-stack socket) is matched against the IPv4 prefixes,
// and an IPv6 prefix inside ::ffff:0:0/96 is an IPv4 prefix. Other IPv6
// prefixes match IPv6 clients only, so "::/0" does not cover IPv4 clients.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "core/base/inet_addr.h"
#include "core/base/inet_prefix.h"

namespace ringlb {

class PrefixSet {
public:
    PrefixSet() = default;
    explicit PrefixSet(std::span<const InetPrefix> prefixes);

    bool empty() const noexcept { return v4_.empty() && v6_.empty(); }
    // The port is ignored; an address of neither family is in no set.
    bool contains(const InetAddr& address) const noexcept;
    // Disjoint ranges left after overlapping and adjacent prefixes merged.
    size_t range_count() const noexcept { return v4_.size() + v6_.size(); }

private:
    using U128 = unsigned __int128;
    struct Range4 {
        uint32_t first, last;
    };
    struct Range6 {
        U128 first, last;
    };

    bool contains_v4(uint32_t key) const noexcept;
    bool contains_v6(U128 key) const noexcept;

    std::vector<Range4> v4_;   // sorted, disjoint, not adjacent
    std::vector<Range6> v6_;
};

}  // namespace ringlb
