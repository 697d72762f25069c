// An IPv4 or IPv6 address prefix (CIDR) as a value type: "10.0.0.0/8",
// "2001:db8::/32", a bare address meaning one host. Parsing and formatting of one
// prefix and of a list of them; no I/O. Matching many at once is PrefixSet's job.
#pragma once

#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/result.h"

namespace ringlb {

struct InetPrefix {
    int family = AF_UNSPEC;             // AF_INET or AF_INET6
    std::array<uint8_t, 16> bytes{};    // network order; IPv4 uses the first 4
    uint8_t length = 0;                 // 0..32 (IPv4) or 0..128 (IPv6)

    // "A.B.C.D/LEN", "IPV6/LEN", or an address alone (/32, /128). Bits past LEN
    // must be zero: "10.0.0.1/8" is refused, naming 10.0.0.0/8, as a likely typo.
    static Result<InetPrefix> parse(std::string_view text);

    // "10.0.0.0/8", "2001:db8::/32"; a host prefix keeps its "/32" or "/128".
    std::string to_string() const;

    bool operator==(const InetPrefix&) const = default;
};

// Prefixes separated by commas, spaces or tabs ("10.0.0.0/8, 192.0.2.7"). Empty
// text is an empty list. The first bad one fails the whole list, by its text.
Result<std::vector<InetPrefix>> parse_prefix_list(std::string_view text);

// "10.0.0.0/8, 2001:db8::/32"
std::string format_prefix_list(std::span<const InetPrefix> prefixes);

}  // namespace ringlb
