// Moving bytes, one direction at a time (DESIGN §3): the shell around SpliceLeg.
// Each completion is told to the direction's leg, and the actions it returns are
// carried out here: SQEs for recv, send and poll, inline splice(2) calls, the
// chunk queue and the pipe. The decisions (pause, resume, copy ↔ splice) are the
// leg's; see core/forward/splice_leg.h.
// Copy mode: multishot recv into the provided buffer ring, then a send of exactly
// those bytes. When the ring runs low, waiting bytes are copied out of it, so
// stalled connections cannot starve the others of buffers.
// Splice mode: POLL_ADD readiness, then nonblocking splice(2) socket → pipe →
// socket issued inline. Never IORING_OP_SPLICE: io_uring punts every splice to
// an io-wq thread, which doubled CPU per byte when measured.
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <optional>

#include "core/base/log.h"
#include "core/forward/worker.h"

namespace ringlb {

namespace {

LogRateLimit no_pipe_log;

// Which peer a failed socket belongs to: the source of client→backend is the client.
CloseReason reset_reason(Dir dir, LegAction failed) {
    bool client = (dir == Dir::kClientToBackend) == (failed == LegAction::kCloseSourceReset);
    return client ? CloseReason::kClientReset : CloseReason::kBackendReset;
}

}  // namespace

void Worker::count_bytes(Connection& conn, Dir dir, uint64_t n) noexcept {
    conn.direction(dir).bytes += n;
    auto& stats = conn.listener->stats->worker(index_);
    bump(dir == Dir::kClientToBackend ? stats.bytes_in : stats.bytes_out, n);
}

void Worker::start_forwarding(uint32_t slot) noexcept {
    Connection& conn = conns_[slot];
    timeouts_.touch(slot, now_ms_);
    const SpliceMode mode = conn.listener->config.splice;
    run_leg_actions(slot, Dir::kClientToBackend, conn.direction(Dir::kClientToBackend).leg.on_start(mode));
    run_leg_actions(slot, Dir::kBackendToClient, conn.direction(Dir::kBackendToClient).leg.on_start(mode));
}

// The rare actions, out of line so that the inlined common path stays small.
[[gnu::noinline]] bool Worker::run_close_or_log(uint32_t slot, Dir dir, LegActions actions) noexcept {
    for (LegAction failed : {LegAction::kCloseSourceReset, LegAction::kCloseDestReset}) {
        if (actions.has(failed)) {
            close_connection(slot, reset_reason(dir, failed), CloseWith::kRst);
            return true;
        }
    }
    spdlog::debug("worker {}: connection {} direction {} switches to splice after {} bytes", index_, slot, int(dir),
                  conns_[slot].direction(dir).bytes);
    return false;
}

[[gnu::noinline]] void Worker::run_splice_actions(uint32_t slot, Dir dir, LegActions actions) noexcept {
    if (actions.has(LegAction::kWaitForBuffers)) starved_.push_back({slot, conns_[slot].generation, dir});
    if (actions.has(LegAction::kReleasePipe)) pipes_.release(std::move(conns_[slot].direction(dir).pipe), true);
    if (actions.has(LegAction::kArmPollIn)) arm_poll(slot, dir, PollFor::kRead);
    if (actions.has(LegAction::kArmPollOut)) arm_poll(slot, dir, PollFor::kWrite);
    if (actions.has(LegAction::kPump)) splice_pump(slot, dir);
}

// Inline, with the rare actions tested as groups and run out of line, on purpose:
// this runs for nearly every completion, mostly with one action or none, and once
// the leg's event is inlined too the compiler sees which bits each return sets.
[[gnu::always_inline]] inline void Worker::run_leg_actions(uint32_t slot, Dir dir, LegActions actions) noexcept {
    constexpr uint16_t kCloseOrLog = uint16_t(LegAction::kCloseSourceReset) | uint16_t(LegAction::kCloseDestReset) |
                                     uint16_t(LegAction::kSwitchToSplice);
    constexpr uint16_t kSpliceOrStarved = uint16_t(LegAction::kWaitForBuffers) | uint16_t(LegAction::kReleasePipe) |
                                          uint16_t(LegAction::kArmPollIn) | uint16_t(LegAction::kArmPollOut) |
                                          uint16_t(LegAction::kPump);
    if (actions.empty()) return;
    if ((actions.bits & kCloseOrLog) && run_close_or_log(slot, dir, actions)) return;
    if (actions.has(LegAction::kSubmitSend)) submit_send(slot, dir);
    if (actions.has(LegAction::kCancelRecv)) cancel_recv(slot, dir);
    if (actions.has(LegAction::kArmRecv)) arm_recv(slot, dir, actions.recv_limit);
    if (actions.bits & kSpliceOrStarved) run_splice_actions(slot, dir, actions);
    if (actions.has(LegAction::kFinish)) finish_direction(slot, dir);
}

// ---------------------------------------------------------------- copy mode

void Worker::drain_starved() noexcept {
    // Buffers came back: give the directions that ran dry their recv back.
    size_t kept = 0;
    for (size_t i = 0; i < starved_.size(); ++i) {
        Starved s = starved_[i];
        if (buffers_.available() < 8) {
            starved_[kept++] = s;
            continue;
        }
        Connection& conn = conns_[s.slot];
        if (conn.generation != s.generation || conn.state != ConnState::kForwarding) continue;
        run_leg_actions(s.slot, s.dir, conn.direction(s.dir).leg.on_buffers_returned());
    }
    starved_.resize(kept);
}

void Worker::arm_recv(uint32_t slot, Dir dir, uint32_t limit) noexcept {
    const int fd = conns_[slot].source_fd(dir);
    io_uring_sqe* sqe = sqe_for(slot, Op::kRecv, dir);
    if (recv_limit_) {
        io_uring_prep_recv_multishot(sqe, fd, nullptr, 0, 0);
        set_recv_multishot_limit(sqe, limit);
    } else {
        io_uring_prep_recv(sqe, fd, nullptr, 0, 0);  // one buffer per completion
    }
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = buffers_.group_id();
}

void Worker::cancel_recv(uint32_t slot, Dir dir) noexcept {
    OpTag recv_tag{Op::kRecv, uint8_t(dir), conns_[slot].generation & OpTag::kGenerationMask, slot};
    io_uring_sqe* sqe = sqe_for(slot, Op::kCancel);
    io_uring_prep_cancel64(sqe, recv_tag.pack(), 0);
}

void Worker::handle_recv(uint32_t slot, Dir dir, int res, uint32_t flags) noexcept {
    Connection& conn = conns_[slot];
    Direction& d = conn.direction(dir);
    const bool more = flags & IORING_CQE_F_MORE;
    if (!more) --conn.in_flight;
    const bool has_buffer = flags & IORING_CQE_F_BUFFER;
    const uint16_t buffer_id = uint16_t(flags >> IORING_CQE_BUFFER_SHIFT);
    if (has_buffer) buffers_.on_taken();
    if (conn.state != ConnState::kForwarding) {
        if (has_buffer) buffers_.recycle(buffer_id);
        return maybe_free(slot);
    }
    if (res > 0) {
        std::optional<uint16_t> spilled;
        if (buffers_.low()) spilled = spills_.put(buffers_.buffer(buffer_id), uint32_t(res));
        if (spilled) {
            buffers_.recycle(buffer_id);
            d.queue.push_back({SendChunk::kSpilled, *spilled, uint32_t(res), 0});
        } else {
            d.queue.push_back({buffer_id, 0, uint32_t(res), 0});
        }
        timeouts_.touch(slot, now_ms_);
    } else if (has_buffer) {
        buffers_.recycle(buffer_id);
    }
    run_leg_actions(slot, dir, d.leg.on_recv(res, more, buffers_.buffer_size()));
}

void Worker::submit_send(uint32_t slot, Dir dir) noexcept {
    Connection& conn = conns_[slot];
    Direction& d = conn.direction(dir);
    const SendChunk& chunk = d.queue[d.queue_head];
    io_uring_sqe* sqe = sqe_for(slot, Op::kSend, dir);
    // MSG_WAITALL: io_uring retries short sends itself on stream sockets.
    io_uring_prep_send(sqe, conn.dest_fd(dir), chunk_bytes(chunk) + chunk.offset,
                       chunk.length - chunk.offset, MSG_NOSIGNAL | MSG_WAITALL);
}

const char* Worker::chunk_bytes(const SendChunk& chunk) const noexcept {
    return chunk.in_ring() ? buffers_.buffer(chunk.buffer_id) : spills_.data(chunk.spill_id);
}

void Worker::release_chunk(const SendChunk& chunk) noexcept {
    if (chunk.in_ring()) buffers_.recycle(chunk.buffer_id);
    else spills_.release(chunk.spill_id);
}

void Worker::handle_send(uint32_t slot, Dir dir, int res) noexcept {
    Connection& conn = conns_[slot];
    Direction& d = conn.direction(dir);
    --conn.in_flight;
    if (conn.state != ConnState::kForwarding) return maybe_free(slot);
    bool chunk_done = false;
    if (res >= 0) {
        SendChunk& chunk = d.queue[d.queue_head];
        chunk.offset += res;
        count_bytes(conn, dir, res);
        timeouts_.touch(slot, now_ms_);
        chunk_done = chunk.offset >= chunk.length;
        if (chunk_done) {
            release_chunk(chunk);
            if (++d.queue_head == d.queue.size()) d.clear_queue();
        }
    }
    run_leg_actions(slot, dir, d.leg.on_sent(res, chunk_done));
}

void Worker::finish_direction(uint32_t slot, Dir dir) noexcept {
    Connection& conn = conns_[slot];
    Direction& d = conn.direction(dir);
    pipes_.release(std::move(d.pipe), d.leg.pipe_bytes() == 0);
    // Both directions done: close() sends the FIN (nothing is left unread on that
    // socket, its EOF was read), so the shutdown would only be one more syscall.
    const Dir other = dir == Dir::kClientToBackend ? Dir::kBackendToClient : Dir::kClientToBackend;
    if (conn.direction(other).leg.done()) return close_connection(slot, CloseReason::kDone, CloseWith::kFin);
    ::shutdown(conn.dest_fd(dir), SHUT_WR);
    // Half-closed: the other direction may go on, but not silently forever.
    timeouts_.arm(slot, conn.listener->config.half_close_timeout.count(), now_ms_);
}

// -------------------------------------------------------------- splice mode

void Worker::arm_poll(uint32_t slot, Dir dir, PollFor what) noexcept {
    const Connection& conn = conns_[slot];
    const bool write = what == PollFor::kWrite;
    io_uring_sqe* sqe = sqe_for(slot, write ? Op::kPollOut : Op::kPollIn, dir);
    io_uring_prep_poll_add(sqe, write ? conn.dest_fd(dir) : conn.source_fd(dir), write ? POLLOUT : POLLIN);
}

void Worker::handle_poll(uint32_t slot, Dir dir, PollFor what, int res) noexcept {
    Connection& conn = conns_[slot];
    --conn.in_flight;
    if (conn.state != ConnState::kForwarding) return maybe_free(slot);
    // on_poll_ready answers kPump or nothing: straight to the pump, the one
    // action a splice-mode wakeup leads to.
    if (conn.direction(dir).leg.on_poll_ready(what, res).has(LegAction::kPump)) splice_pump(slot, dir);
}

void Worker::splice_pump(uint32_t slot, Dir dir) noexcept {
    Connection& conn = conns_[slot];
    Direction& d = conn.direction(dir);
    const int src = conn.source_fd(dir);
    const int dst = conn.dest_fd(dir);
    // Bounded: the leg ends the pump after SpliceLeg::kSpliceRounds rounds.
    for (PumpStep step = d.leg.begin_pump();;) {
        switch (step.op) {
            case PumpOp::kAcquirePipe:
                d.pipe = pipes_.acquire();
                if (d.pipe) {
                    step = d.leg.on_pipe(d.pipe.capacity);
                } else {
                    uint64_t suppressed = 0;
                    if (no_pipe_log.allow(now_ms_, &suppressed))
                        spdlog::warn("listener {}: no pipe for splice ({}); copying instead ({} more since last line)",
                                     conn.listener->config.name, std::strerror(errno), suppressed);
                    step = d.leg.on_no_pipe();
                }
                break;
            case PumpOp::kSpliceIn: {
                ssize_t n = ::splice(src, nullptr, d.pipe.write_end.get(), nullptr, step.length,
                                     SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
                step = d.leg.on_spliced_in(n >= 0 ? long(n) : -long(errno));
                break;
            }
            case PumpOp::kSpliceOut: {
                ssize_t n = ::splice(d.pipe.read_end.get(), nullptr, dst, nullptr, step.length,
                                     SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
                if (n > 0) count_bytes(conn, dir, uint64_t(n));
                step = d.leg.on_spliced_out(n >= 0 ? long(n) : -long(errno));
                break;
            }
            case PumpOp::kStop: {
                constexpr uint16_t kActivity = uint16_t(LegAction::kArmPollIn) | uint16_t(LegAction::kArmPollOut) |
                                               uint16_t(LegAction::kFinish);
                // Bytes moved or the stream ended: the connection is not idle.
                if (step.then.bits & kActivity) timeouts_.touch(slot, now_ms_);
                return run_leg_actions(slot, dir, step.then);
            }
        }
    }
}

}  // namespace ringlb
