// The operations a worker's ring carries, as tagged in each SQE's user_data.
#pragma once

#include <cstdint>

#include "core/base/op_tag.h"

namespace ringlb {

enum class Op : uint8_t {
    kNone = 0,
    kAccept,          // slot = worker listener index
    kAcceptResume,    // timeout that re-arms a paused accept; slot = listener index
    kConnect,
    kConnectTimeout,  // the linked timeout of kConnect
    kRecv,            // multishot recv
    kSend,
    kPollIn,          // splice mode: source readable
    kPollOut,         // splice mode: destination writable
    kCancel,          // an ASYNC_CANCEL we issued for a connection
    kTick,            // the worker's periodic timer
    kWake,            // eventfd read: another thread wants the worker's attention
    kIgnored,         // CQEs nobody waits for (cancels of worker-level ops)
    kProxyPoll,       // accept_proxy: the client's socket is readable (or shut)
};

// sub: the Dir (core/forward/connection.h) of kRecv, kSend, kPollIn and kPollOut.
using OpTag = CqeTag<Op>;

}  // namespace ringlb
