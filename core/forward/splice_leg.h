// One direction of a proxied connection (source socket → destination socket) as a
// pure state machine: when to receive, send, pause and resume, when to switch from
// copying to splicing, when the direction is done. No sockets, no ring, no clock:
// the worker tells it what happened and executes the actions it returns (DESIGN §3).
//
// Copy mode: a multishot recv into provided buffers, each chunk then sent on; at
// most one send in flight keeps the bytes in order. Receiving stops while
// kPauseBytes (or kPauseChunks chunks) wait and resumes below half of either.
// Splice mode: readiness polls, then splice(2) socket → pipe → socket in rounds.
// splice = auto: kFullBuffersBeforeSplice consecutive full-buffer recvs switch a
// direction to splicing; byte order holds because the recv is cancelled and the
// queue drains before the first splice. No pipe to be had: back to copying.
#pragma once

#include <algorithm>
#include <cerrno>
#include <cstdint>

#include "core/config/config.h"

namespace ringlb {

// What the worker should do. Several may come at once; the worker carries them
// out in the order they are listed here.
enum class LegAction : uint16_t {
    kCloseSourceReset = 1 << 0,  // the source failed: close the connection with a RST
    kCloseDestReset = 1 << 1,    // the destination failed: likewise
    kSwitchToSplice = 1 << 2,    // auto decided to splice (for the log; kCancelRecv comes with it)
    kSubmitSend = 1 << 3,        // send (the rest of) the chunk at the head of the queue
    kCancelRecv = 1 << 4,        // cancel the armed recv; its last completion comes as usual
    kArmRecv = 1 << 5,           // recv into provided buffers, at most recv_limit bytes
    kWaitForBuffers = 1 << 6,    // the buffer ring ran dry: call on_buffers_returned later
    kReleasePipe = 1 << 7,       // give the pipe back to the pool: it is empty
    kArmPollIn = 1 << 8,         // poll the source for readable
    kArmPollOut = 1 << 9,        // poll the destination for writable
    kPump = 1 << 10,             // run the splice pump (begin_pump)
    kFinish = 1 << 11,           // EOF forwarded: shut the destination's write side
};

struct LegActions {
    uint16_t bits = 0;
    uint32_t recv_limit = 0;  // with kArmRecv: bytes, never 0

    bool has(LegAction action) const noexcept { return bits & uint16_t(action); }
    bool empty() const noexcept { return bits == 0; }
    LegActions& add(LegAction action) noexcept {
        bits |= uint16_t(action);
        return *this;
    }
    // At most one of the two carries kArmRecv (and so a recv_limit other than 0).
    LegActions& add(LegActions other) noexcept {
        bits |= other.bits;
        recv_limit |= other.recv_limit;
        return *this;
    }
};

// One step of the splice pump: a splice(2) to make, a pipe to get, or the end of
// this wakeup with the actions to take then. Bounded: at most kSpliceRounds
// rounds of (splice in, splice out) per begin_pump.
enum class PumpOp : uint8_t {
    kAcquirePipe,  // take a pipe from the pool, then on_pipe or on_no_pipe
    kSpliceIn,     // source → pipe, up to `length` bytes, then on_spliced_in
    kSpliceOut,    // pipe → destination, up to `length` bytes, then on_spliced_out
    kStop,         // carry out `then`; the pump is over until the next wakeup
};

struct PumpStep {
    PumpOp op = PumpOp::kStop;
    uint32_t length = 0;
    LegActions then;
};

class SpliceLeg {
public:
    static constexpr uint32_t kPauseBytes = 64 * 1024;  // stop receiving when this much waits
    static constexpr uint32_t kPauseChunks = 8;         // ... or this many chunks
    static constexpr uint8_t kFullBuffersBeforeSplice = 4;
    static constexpr int kSpliceRounds = 16;            // per wakeup, then yield to other connections

    // Events come only while the connection forwards; once it closes, the
    // worker releases queue and pipe itself and tells the leg nothing more.
    //
    // The connection is established. kAlways starts splicing (poll for input),
    // the others start copying.
    LegActions on_start(SpliceMode mode) noexcept;

    // Copy mode. `result`: a recv completion's res (> 0 bytes, now at the tail of
    // the worker's queue; 0 EOF; -errno). `more`: IORING_CQE_F_MORE, the recv stays
    // armed. buffer_size: the provided buffers' size (a full one means bulk).
    LegActions on_recv(int result, bool more, uint32_t buffer_size) noexcept;
    // A send completed: `result` bytes of the head chunk went out (or -errno);
    // chunk_done: the worker removed that chunk from its queue.
    LegActions on_sent(int result, bool chunk_done) noexcept;
    // The buffer ring has buffers again (after kWaitForBuffers).
    LegActions on_buffers_returned() noexcept;

    // Splice mode: a poll armed by kArmPollIn / kArmPollOut completed.
    enum class PollFor : uint8_t { kRead, kWrite };
    LegActions on_poll_ready(PollFor what, int result) noexcept;

    // The splice pump, driven step by step. `result` of a splice: bytes moved,
    // 0 for EOF (splice in), or -errno. capacity: the pipe's real size in bytes.
    PumpStep begin_pump() noexcept;
    PumpStep on_pipe(uint32_t capacity) noexcept;
    PumpStep on_no_pipe() noexcept;
    PumpStep on_spliced_in(long result) noexcept;
    PumpStep on_spliced_out(long result) noexcept;

    bool done() const noexcept { return done_; }                 // EOF forwarded
    bool splicing() const noexcept { return splice_mode_; }
    uint32_t queued_bytes() const noexcept { return queued_bytes_; }
    uint32_t pipe_bytes() const noexcept { return pipe_bytes_; }  // in the pipe, not yet sent on

private:
    LegActions cancel_recv() noexcept;
    LegActions arm_recv() noexcept;
    LegActions resume() noexcept;   // after a pause, a drain or a starvation: what comes next
    LegActions finish() noexcept;
    LegActions arm_poll(PollFor what) noexcept;
    // Where the pump stands within a round: fill the pipe from the source, drain
    // it into the destination, then decide whether to go round again.
    enum class PumpPhase : uint8_t { kFill, kDrain, kRoundEnd };
    PumpStep advance() noexcept;  // from pump_phase_ to the next step
    static PumpStep stop(LegActions then) noexcept { return {PumpOp::kStop, 0, then}; }

    uint32_t queued_bytes_ = 0;    // copy mode: received, not yet sent
    uint32_t queued_chunks_ = 0;
    uint32_t pipe_bytes_ = 0;
    uint32_t pipe_capacity_ = 0;   // 0: no pipe held
    uint8_t full_streak_ = 0;      // consecutive recvs that filled a whole buffer
    uint8_t pump_round_ = 0;
    PumpPhase pump_phase_ = PumpPhase::kFill;
    bool auto_splice_ = false;
    bool splice_mode_ = false;
    bool switch_pending_ = false;  // wants splice mode once the copy queue is empty
    bool recv_armed_ = false;
    bool recv_cancel_pending_ = false;
    bool recv_starved_ = false;    // stopped by ENOBUFS; waits for buffers
    bool send_in_flight_ = false;
    bool poll_in_armed_ = false;
    bool poll_out_armed_ = false;
    bool eof_ = false;             // the source reached EOF
    bool done_ = false;
    bool source_drained_ = false;  // this pump: the source said EAGAIN
    bool dest_full_ = false;       // this round: the destination said EAGAIN
};

// Defined here, inline: the worker calls these for nearly every completion.

[[gnu::always_inline]] inline LegActions SpliceLeg::on_start(SpliceMode mode) noexcept {
    auto_splice_ = mode == SpliceMode::kAuto;
    if (mode != SpliceMode::kAlways) return arm_recv();
    splice_mode_ = true;
    return arm_poll(PollFor::kRead);
}

[[gnu::always_inline]] inline LegActions SpliceLeg::arm_recv() noexcept {
    recv_armed_ = true;
    // A cancel lands only after the kernel may have filled dozens more buffers;
    // a limit ends the multishot on time. Never 0, which would mean no limit.
    return {uint16_t(LegAction::kArmRecv), kPauseBytes - std::min(queued_bytes_, kPauseBytes / 2)};
}

[[gnu::always_inline]] inline LegActions SpliceLeg::cancel_recv() noexcept {
    if (!recv_armed_ || recv_cancel_pending_) return {};
    recv_cancel_pending_ = true;
    return LegActions{}.add(LegAction::kCancelRecv);
}

[[gnu::always_inline]] inline LegActions SpliceLeg::resume() noexcept {
    if (eof_ || recv_armed_ || recv_starved_) return {};
    if (switch_pending_) {
        // Byte order: splicing starts only once every queued byte has been sent.
        if (queued_chunks_ != 0 || send_in_flight_) return {};
        switch_pending_ = false;
        splice_mode_ = true;
        return LegActions{}.add(LegAction::kPump);
    }
    if (splice_mode_) return {};
    if (queued_bytes_ < kPauseBytes / 2 && queued_chunks_ < kPauseChunks / 2) return arm_recv();
    return {};
}

[[gnu::always_inline]] inline LegActions SpliceLeg::finish() noexcept {
    done_ = true;
    pipe_capacity_ = 0;  // the worker gives the pipe back with the direction
    return LegActions{}.add(LegAction::kFinish);
}

[[gnu::always_inline]] inline LegActions SpliceLeg::on_recv(int result, bool more, uint32_t buffer_size) noexcept {
    if (!more) {
        recv_armed_ = false;
        recv_cancel_pending_ = false;
    }
    if (result > 0) {
        LegActions actions;
        queued_bytes_ += uint32_t(result);
        ++queued_chunks_;
        full_streak_ = uint32_t(result) == buffer_size ? uint8_t(full_streak_ + 1) : 0;
        if (!send_in_flight_) {
            send_in_flight_ = true;
            actions.add(LegAction::kSubmitSend);
        }
        if (auto_splice_ && full_streak_ >= kFullBuffersBeforeSplice && !switch_pending_) {
            switch_pending_ = true;
            actions.add(LegAction::kSwitchToSplice).add(cancel_recv());
        } else if (queued_bytes_ >= kPauseBytes || queued_chunks_ >= kPauseChunks) {
            actions.add(cancel_recv());
        }
        if (!more) actions.add(resume());
        return actions;
    }
    if (result == 0) {
        eof_ = true;
        if (queued_chunks_ == 0 && !send_in_flight_) return finish();
        return {};
    }
    if (result == -ENOBUFS) {
        if (more || recv_starved_) return {};
        recv_starved_ = true;
        return LegActions{}.add(LegAction::kWaitForBuffers);
    }
    if (result == -ECANCELED) return more ? LegActions{} : resume();
    return LegActions{}.add(LegAction::kCloseSourceReset);
}

[[gnu::always_inline]] inline LegActions SpliceLeg::on_sent(int result, bool chunk_done) noexcept {
    send_in_flight_ = false;
    if (result < 0) return LegActions{}.add(LegAction::kCloseDestReset);
    queued_bytes_ -= uint32_t(result);
    if (chunk_done) --queued_chunks_;
    if (queued_chunks_ != 0) {
        send_in_flight_ = true;
        return LegActions{}.add(LegAction::kSubmitSend);
    }
    if (eof_) return finish();
    return resume();
}

[[gnu::always_inline]] inline LegActions SpliceLeg::on_buffers_returned() noexcept {
    recv_starved_ = false;
    return resume();
}

[[gnu::always_inline]] inline LegActions SpliceLeg::arm_poll(PollFor what) noexcept {
    bool& armed = what == PollFor::kWrite ? poll_out_armed_ : poll_in_armed_;
    if (armed) return {};
    armed = true;
    return LegActions{}.add(what == PollFor::kWrite ? LegAction::kArmPollOut : LegAction::kArmPollIn);
}

[[gnu::always_inline]] inline LegActions SpliceLeg::on_poll_ready(PollFor what, int result) noexcept {
    (what == PollFor::kWrite ? poll_out_armed_ : poll_in_armed_) = false;
    if (result < 0 || done_) return {};  // cancelled
    return LegActions{}.add(LegAction::kPump);
}


inline PumpStep SpliceLeg::begin_pump() noexcept {
    if (poll_in_armed_ || poll_out_armed_) return stop({});  // a wakeup is already on its way
    pump_round_ = 0;
    pump_phase_ = PumpPhase::kFill;
    source_drained_ = false;
    return advance();
}

[[gnu::always_inline]] inline PumpStep SpliceLeg::advance() noexcept {
    for (;;) {  // at most kSpliceRounds rounds: the round end stops the pump then
        switch (pump_phase_) {
            case PumpPhase::kFill:
                // The pipe's own capacity, not the size asked for: a pipe the kernel
                // kept small is full, not a drained source, when it refuses more.
                if (!eof_ && !source_drained_ && (pipe_capacity_ == 0 || pipe_bytes_ < pipe_capacity_)) {
                    if (pipe_capacity_ == 0) return {PumpOp::kAcquirePipe, 0, {}};
                    pump_phase_ = PumpPhase::kDrain;
                    return {PumpOp::kSpliceIn, pipe_capacity_ - pipe_bytes_, {}};
                }
                [[fallthrough]];
            case PumpPhase::kDrain:
                dest_full_ = false;
                pump_phase_ = PumpPhase::kRoundEnd;
                if (pipe_bytes_ > 0) return {PumpOp::kSpliceOut, pipe_bytes_, {}};
                [[fallthrough]];
            case PumpPhase::kRoundEnd:
                if (eof_ && pipe_bytes_ == 0) return stop(finish());
                if (dest_full_) return stop(arm_poll(PollFor::kWrite));
                if (source_drained_ && pipe_bytes_ == 0) {
                    // Nothing in flight: the pipe goes back, an idle direction holds none.
                    pipe_capacity_ = 0;
                    return stop(LegActions{}.add(LegAction::kReleasePipe).add(arm_poll(PollFor::kRead)));
                }
                // Budget spent with work left: yield; a poll on a ready fd completes at once.
                if (++pump_round_ == kSpliceRounds)
                    return stop(arm_poll(pipe_bytes_ > 0 ? PollFor::kWrite : PollFor::kRead));
                pump_phase_ = PumpPhase::kFill;
                break;
        }
    }
}

inline PumpStep SpliceLeg::on_pipe(uint32_t capacity) noexcept {
    pipe_capacity_ = capacity;
    return advance();
}

inline PumpStep SpliceLeg::on_no_pipe() noexcept {
    // Out of fds (or pipe memory): nothing of this direction is in flight, so it
    // goes on copying, in order; auto tries again after the next full buffers.
    splice_mode_ = false;
    full_streak_ = 0;
    return stop(arm_recv());
}

inline PumpStep SpliceLeg::on_spliced_in(long result) noexcept {
    if (result > 0) {
        pipe_bytes_ += uint32_t(result);
    } else if (result == 0) {
        eof_ = true;
    } else if (result == -EAGAIN) {
        source_drained_ = true;
    } else if (result != -EINTR) {
        return stop(LegActions{}.add(LegAction::kCloseSourceReset));
    }
    return advance();
}

inline PumpStep SpliceLeg::on_spliced_out(long result) noexcept {
    if (result > 0) {
        pipe_bytes_ -= uint32_t(result);
    } else if (result == -EAGAIN) {
        dest_full_ = true;
    } else if (result < 0 && result != -EINTR) {
        return stop(LegActions{}.add(LegAction::kCloseDestReset));
    }
    return advance();
}

}  // namespace ringlb
