// Primality for table sizes (Maglev needs a prime so every permutation covers the
// whole table); the config validator and the table builder ask the same question.
#pragma once

#include <cstdint>

namespace ringlb {

constexpr bool is_prime(uint64_t n) {
    if (n < 2) return false;
    if (n % 2 == 0) return n == 2;
    if (n % 3 == 0) return n == 3;
    for (uint64_t d = 5; d * d <= n; d += 6)
        if (n % d == 0 || n % (d + 2) == 0) return false;
    return true;
}

}  // namespace ringlb
