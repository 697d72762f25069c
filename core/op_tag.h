// What a CQE belongs to, packed into io_uring's 64-bit user_data:
// {op, generation, slot}. The generation lets a worker recognise and drop a
// late CQE for a connection slot that has since been freed and reused.
#pragma once

#include <cstdint>

namespace ringlb {

enum class Op : uint8_t {
    kNone = 0,
    kAccept,          // slot = worker listener index
    kAcceptResume,    // timeout that re-arms a paused accept; slot = listener index
    kConnect,
    kConnectTimeout,  // the linked timeout of kConnect
    kRecv,            // multishot recv; direction in `dir`
    kSend,
    kPollIn,          // splice mode: source readable
    kPollOut,         // splice mode: destination writable
    kCancel,          // an ASYNC_CANCEL we issued for a connection
    kTick,            // the worker's periodic timer
    kWake,            // eventfd read: another thread wants the worker's attention
    kIgnored,         // CQEs nobody waits for (cancels of worker-level ops)
};

struct OpTag {
    Op op = Op::kNone;
    uint8_t dir = 0;          // 0: client→backend, 1: backend→client
    uint32_t generation = 0;  // 22 bits used
    uint32_t slot = 0;

    static constexpr uint32_t kGenerationMask = (1u << 22) - 1;

    uint64_t pack() const {
        return (uint64_t(op) << 56) | (uint64_t(dir & 3) << 54) |
               (uint64_t(generation & kGenerationMask) << 32) | slot;
    }
    static OpTag unpack(uint64_t data) {
        return OpTag{Op(data >> 56), uint8_t((data >> 54) & 3),
                     uint32_t((data >> 32) & kGenerationMask), uint32_t(data)};
    }
};

}  // namespace ringlb
