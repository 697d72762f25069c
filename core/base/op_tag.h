// What a CQE belongs to, packed into io_uring's 64-bit user_data:
// {op, sub, generation, slot}. The generation lets a ring's owner recognise and
// drop a late CQE for a slot that has since been freed and reused. Each ring
// (a worker's, the health checker's) has its own Op enum.
#pragma once

#include <cstdint>

namespace ringlb {

template <class OpKind>
struct CqeTag {
    OpKind op{};
    uint8_t sub = 0;          // 2 bits for the op's own use: a direction, a probe kind
    uint32_t generation = 0;  // 22 bits kept
    uint32_t slot = 0;

    static constexpr uint32_t kGenerationMask = (1u << 22) - 1;

    uint64_t pack() const {
        return (uint64_t(op) << 56) | (uint64_t(sub & 3) << 54) |
               (uint64_t(generation & kGenerationMask) << 32) | slot;
    }
    static CqeTag unpack(uint64_t data) {
        return CqeTag{OpKind(data >> 56), uint8_t((data >> 54) & 3),
                      uint32_t((data >> 32) & kGenerationMask), uint32_t(data)};
    }
};

}  // namespace ringlb
