// One proxied TCP connection as two directions, and the slot table that holds
// them. A slot is reused only after every SQE issued for it has completed;
// its generation changes on every reuse so late CQEs can be told apart.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "core/base/unique_fd.h"
#include "core/forward/pipe_pool.h"
#include "core/forward/splice_leg.h"
#include "core/runtime/runtime.h"

namespace ringlb {

// Bytes received and not yet sent on: in a provided buffer, or copied out of
// the ring into the worker's SpillStore when the ring ran low.
// Trivially copyable: the per-connection path pays nothing for spilling.
struct SendChunk {
    static constexpr uint16_t kSpilled = UINT16_MAX;  // buffer_id of a chunk in the SpillStore
    uint16_t buffer_id;
    uint16_t spill_id;  // when spilled: its id in the worker's SpillStore
    uint32_t length;
    uint32_t offset;   // how much of it has been sent already

    bool in_ring() const { return buffer_id != kSpilled; }
};

// Which way the bytes go. Tags carry it in OpTag::sub; Connection::dirs is indexed by it.
enum class Dir : uint8_t { kClientToBackend = 0, kBackendToClient = 1 };

// One direction of a connection: source socket → destination socket. The leg
// decides (core/forward/splice_leg.h); the worker holds what it decides about:
// the chunks waiting to be sent and, in splice mode, the borrowed pipe.
struct Direction {
    SpliceLeg leg;
    std::vector<SendChunk> queue;  // in order; queue_head is the next to send
    uint32_t queue_head = 0;
    Pipe pipe;                     // splice mode, only while bytes are in flight
    uint64_t bytes = 0;            // forwarded so far

    void clear_queue() {
        queue.clear();
        queue_head = 0;
    }
};

// kQueued: every eligible backend is at max_connections; waits up to queue_timeout.
// kProxyHeader: accept_proxy, waiting for the client's PROXY header (no backend yet).
enum class ConnState : uint8_t { kFree, kQueued, kConnecting, kForwarding, kClosing, kProxyHeader };

// Why a connection ended, for the debug log and the access log.
enum class CloseReason : uint8_t {
    kNone, kDone, kClientReset, kBackendReset, kIdleTimeout, kHalfCloseTimeout,
    kNoBackend, kConnectFailed, kQueueTimeout, kShutdown, kError, kDrainTimeout, kProxyHeader, kRefused,
    kVipReleased,  // reset at stop: its local address is a VIP this host no longer holds
};
const char* close_reason_name(CloseReason reason) noexcept;

// How its sockets go: an orderly close, or a RST (SO_LINGER 0) that passes on
// to one peer the reset or failure seen on the other side.
enum class CloseWith : uint8_t { kFin, kRst };

struct Connection {
    uint32_t generation = 0;
    ConnState state = ConnState::kFree;
    CloseReason reason = CloseReason::kNone;
    bool waits_for_fd = false;  // queued because socket() for its backend hit EMFILE
    uint16_t in_flight = 0;       // SQEs issued whose final CQE has not arrived
    uint8_t attempts = 0;         // connect attempts so far
    bool source_tracked = false;  // counted by its listener's SourceLimiter: released once at close
    UniqueFd client_fd;
    UniqueFd backend_fd;          // from socket() on; reset when a connect attempt fails
    uint32_t listener_slot = 0;   // index into the worker's listeners
    uint32_t backend_index = 0;   // into listener->backends
    uint64_t tried_mask = 0;      // backends already tried (first 64)
    uint64_t source_hash = 0;     // source-hash scheduler: hash of the client address
    int64_t accepted_ms = 0;
    int64_t connect_started_us = 0;  // monotonic µs when the current connect attempt began
    int64_t connect_us = -1;      // how long the successful connect took, µs; -1 until connected
    InetAddr client;              // set at accept when the access log or source-hash needs it
    std::shared_ptr<const ListenerRuntime> listener;
    std::shared_ptr<BackendState> backend;
    Direction dirs[2];            // indexed by Dir

    Direction& direction(Dir dir) { return dirs[uint8_t(dir)]; }
    const Direction& direction(Dir dir) const { return dirs[uint8_t(dir)]; }
    int source_fd(Dir dir) const { return (dir == Dir::kClientToBackend ? client_fd : backend_fd).get(); }
    int dest_fd(Dir dir) const { return (dir == Dir::kClientToBackend ? backend_fd : client_fd).get(); }
};

// Slots in fixed-size chunks so a Connection never moves while referenced.
class ConnTable {
public:
    uint32_t allocate() noexcept;              // returns a slot in kFree state, generation bumped
    void release(uint32_t slot) noexcept;      // back to the free list; resets the Connection
    // Unchecked, like std::vector's operator[]: slots come from allocate() or from
    // the worker's own SQE tags, never from outside.
    Connection& operator[](uint32_t slot) noexcept { return chunks_[slot / kChunk][slot % kChunk]; }
    uint32_t live() const noexcept { return live_; }
    uint32_t capacity() const noexcept { return uint32_t(chunks_.size() * kChunk); }

private:
    static constexpr uint32_t kChunk = 1024;
    std::vector<std::unique_ptr<Connection[]>> chunks_;
    std::vector<uint32_t> free_;
    uint32_t live_ = 0;
};

}  // namespace ringlb
