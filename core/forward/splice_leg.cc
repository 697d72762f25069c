#include "core/forward/splice_leg.h"

#include <algorithm>
#include <cerrno>

namespace ringlb {

PumpStep SpliceLeg::begin_pump() noexcept {
    if (poll_in_armed_ || poll_out_armed_) return stop({});  // a wakeup is already on its way
    pump_round_ = 0;
    source_drained_ = false;
    return fill_step();
}

PumpStep SpliceLeg::fill_step() noexcept {
    // The pipe's own capacity, not the size asked for: a pipe the kernel kept
    // small is full, not a drained source, when it refuses more.
    if (!eof_ && !source_drained_ && (pipe_capacity_ == 0 || pipe_bytes_ < pipe_capacity_)) {
        if (pipe_capacity_ == 0) return {PumpOp::kAcquirePipe, 0, {}};
        return {PumpOp::kSpliceIn, pipe_capacity_ - pipe_bytes_, {}};
    }
    return drain_step();
}

PumpStep SpliceLeg::on_pipe(uint32_t capacity) noexcept {
    pipe_capacity_ = capacity;
    return fill_step();
}

PumpStep SpliceLeg::on_no_pipe() noexcept {
    // Out of fds (or pipe memory): nothing of this direction is in flight, so it
    // goes on copying, in order; auto tries again after the next full buffers.
    splice_mode_ = false;
    full_streak_ = 0;
    return stop(arm_recv());
}

PumpStep SpliceLeg::on_spliced_in(long result) noexcept {
    if (result > 0) {
        pipe_bytes_ += uint32_t(result);
    } else if (result == 0) {
        eof_ = true;
    } else if (result == -EAGAIN) {
        source_drained_ = true;
    } else if (result != -EINTR) {
        return stop(LegActions{}.add(LegAction::kCloseSourceReset));
    }
    return drain_step();
}

PumpStep SpliceLeg::drain_step() noexcept {
    dest_full_ = false;
    if (pipe_bytes_ > 0) return {PumpOp::kSpliceOut, pipe_bytes_, {}};
    return end_of_round();
}

PumpStep SpliceLeg::on_spliced_out(long result) noexcept {
    if (result > 0) {
        pipe_bytes_ -= uint32_t(result);
    } else if (result == -EAGAIN) {
        dest_full_ = true;
    } else if (result < 0 && result != -EINTR) {
        return stop(LegActions{}.add(LegAction::kCloseDestReset));
    }
    return end_of_round();
}

PumpStep SpliceLeg::end_of_round() noexcept {
    if (eof_ && pipe_bytes_ == 0) return stop(finish());
    if (dest_full_) return stop(arm_poll(PollFor::kWrite));
    if (source_drained_ && pipe_bytes_ == 0) {
        // Nothing in flight: the pipe goes back, an idle direction holds none.
        pipe_capacity_ = 0;
        return stop(LegActions{}.add(LegAction::kReleasePipe).add(arm_poll(PollFor::kRead)));
    }
    if (++pump_round_ < kSpliceRounds) return fill_step();
    // Budget spent with work left: yield; a poll on a ready fd completes at once.
    return stop(arm_poll(pipe_bytes_ > 0 ? PollFor::kWrite : PollFor::kRead));
}

}  // namespace ringlb
