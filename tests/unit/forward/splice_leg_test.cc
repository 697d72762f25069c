// SpliceLeg: one direction's copy/splice state machine, driven with the events a
// worker would feed it. Pure: no sockets; results are what recv, send and splice
// would have returned.
#include <gtest/gtest.h>

#include <cerrno>

#include "core/forward/splice_leg.h"

namespace ringlb {
namespace {

constexpr uint32_t kBuffer = 16 * 1024;
constexpr bool kMore = true;
constexpr bool kEnded = false;
using PollFor = SpliceLeg::PollFor;

bool only(LegActions actions, LegAction action) { return actions.bits == uint16_t(action); }

// A leg that has started copying (its recv armed).
SpliceLeg copying(SpliceMode mode = SpliceMode::kAuto) {
    SpliceLeg leg;
    leg.on_start(mode);
    return leg;
}

// Drives a leg into splice mode the way auto does: full buffers until the switch,
// the cancelled recv's last completion, then every queued chunk sent.
SpliceLeg splicing() {
    SpliceLeg leg = copying();
    for (int i = 0; i < SpliceLeg::kFullBuffersBeforeSplice; ++i) leg.on_recv(int(kBuffer), kMore, kBuffer);
    leg.on_recv(-ECANCELED, kEnded, kBuffer);
    for (int i = 0; i < SpliceLeg::kFullBuffersBeforeSplice - 1; ++i) leg.on_sent(int(kBuffer), true);
    EXPECT_TRUE(only(leg.on_sent(int(kBuffer), true), LegAction::kPump));
    EXPECT_TRUE(leg.splicing());
    return leg;
}

// ------------------------------------------------------------------- start

TEST(SpliceLeg, CopyModeStartsWithARecvLimitedToThePauseThreshold) {
    SpliceLeg leg;
    LegActions actions = leg.on_start(SpliceMode::kAuto);
    EXPECT_TRUE(only(actions, LegAction::kArmRecv));
    EXPECT_EQ(actions.recv_limit, SpliceLeg::kPauseBytes);
    EXPECT_FALSE(leg.splicing());
}

TEST(SpliceLeg, AlwaysModeStartsWithAPollForInput) {
    SpliceLeg leg;
    EXPECT_TRUE(only(leg.on_start(SpliceMode::kAlways), LegAction::kArmPollIn));
    EXPECT_TRUE(leg.splicing());
    // The poll is on its way: a pump now would only arm it twice.
    EXPECT_EQ(leg.begin_pump().op, PumpOp::kStop);
    EXPECT_TRUE(leg.begin_pump().then.empty());
    EXPECT_TRUE(only(leg.on_poll_ready(PollFor::kRead, 1), LegAction::kPump));
}

// --------------------------------------------------------------- copy mode

TEST(SpliceLeg, ReceivedBytesAreSentAtOnceWithOneSendInFlight) {
    SpliceLeg leg = copying();
    EXPECT_TRUE(only(leg.on_recv(100, kMore, kBuffer), LegAction::kSubmitSend));
    EXPECT_TRUE(leg.on_recv(200, kMore, kBuffer).empty());  // queued behind the first
    EXPECT_EQ(leg.queued_bytes(), 300u);
    EXPECT_TRUE(only(leg.on_sent(100, true), LegAction::kSubmitSend));
    EXPECT_TRUE(leg.on_sent(200, true).empty());  // queue empty, recv still armed
    EXPECT_EQ(leg.queued_bytes(), 0u);
}

TEST(SpliceLeg, AShortSendSendsTheRestOfTheSameChunk) {
    SpliceLeg leg = copying();
    leg.on_recv(1000, kMore, kBuffer);
    EXPECT_TRUE(only(leg.on_sent(400, false), LegAction::kSubmitSend));
    EXPECT_EQ(leg.queued_bytes(), 600u);
    EXPECT_TRUE(leg.on_sent(600, true).empty());
}

TEST(SpliceLeg, ReceivingPausesWhenThePauseBytesWait) {
    SpliceLeg leg = copying(SpliceMode::kNever);
    leg.on_recv(int(kBuffer), kMore, kBuffer);
    leg.on_recv(int(kBuffer), kMore, kBuffer);
    leg.on_recv(int(kBuffer), kMore, kBuffer);
    EXPECT_TRUE(only(leg.on_recv(int(kBuffer), kMore, kBuffer), LegAction::kCancelRecv));  // 64 KiB
    EXPECT_TRUE(leg.on_recv(100, kMore, kBuffer).empty());  // the cancel is already on its way
}

TEST(SpliceLeg, ReceivingPausesWhenEightChunksWait) {
    SpliceLeg leg = copying();
    for (uint32_t i = 1; i < SpliceLeg::kPauseChunks; ++i) leg.on_recv(10, kMore, kBuffer);
    EXPECT_TRUE(only(leg.on_recv(10, kMore, kBuffer), LegAction::kCancelRecv));
}

TEST(SpliceLeg, TheRecvResumesWhenItsCancelEndsBelowHalfTheBytes) {
    SpliceLeg leg = copying(SpliceMode::kNever);
    for (int i = 0; i < 4; ++i) leg.on_recv(int(kBuffer), kMore, kBuffer);  // 64 KiB: cancelled
    for (int i = 0; i < 3; ++i) EXPECT_TRUE(only(leg.on_sent(int(kBuffer), true), LegAction::kSubmitSend));
    LegActions actions = leg.on_recv(-ECANCELED, kEnded, kBuffer);  // 16 KiB wait
    EXPECT_TRUE(only(actions, LegAction::kArmRecv));
    EXPECT_EQ(actions.recv_limit, SpliceLeg::kPauseBytes - kBuffer);
}

TEST(SpliceLeg, ARecvThatEndsAtHalfResumesOnceTheQueueIsSent) {
    SpliceLeg leg = copying(SpliceMode::kNever);
    for (int i = 0; i < 4; ++i) leg.on_recv(int(kBuffer), kMore, kBuffer);
    for (int i = 0; i < 2; ++i) leg.on_sent(int(kBuffer), true);
    EXPECT_TRUE(leg.on_recv(-ECANCELED, kEnded, kBuffer).empty());  // 32 KiB wait: not below half
    EXPECT_TRUE(only(leg.on_sent(int(kBuffer), true), LegAction::kSubmitSend));
    LegActions actions = leg.on_sent(int(kBuffer), true);
    EXPECT_TRUE(only(actions, LegAction::kArmRecv));
    EXPECT_EQ(actions.recv_limit, SpliceLeg::kPauseBytes);
}

TEST(SpliceLeg, AResumedRecvMayTakeOnlyWhatKeepsTheQueueUnderThePauseBytes) {
    SpliceLeg leg = copying(SpliceMode::kNever);
    leg.on_recv(10000, kMore, kBuffer);
    // The multishot ended (its byte limit reached) while 15000 bytes wait.
    LegActions actions = leg.on_recv(5000, kEnded, kBuffer);
    EXPECT_TRUE(actions.has(LegAction::kArmRecv));
    EXPECT_EQ(actions.recv_limit, SpliceLeg::kPauseBytes - 15000);
}

TEST(SpliceLeg, TheRecvResumesWhenItsCancelCompletesBelowHalf) {
    SpliceLeg leg = copying();
    for (uint32_t i = 0; i < SpliceLeg::kPauseChunks; ++i) leg.on_recv(10, kMore, kBuffer);  // paused by chunks
    for (uint32_t i = 0; i < 5; ++i) leg.on_sent(10, true);  // 3 chunks wait, a send in flight
    LegActions actions = leg.on_recv(-ECANCELED, kEnded, kBuffer);
    EXPECT_TRUE(only(actions, LegAction::kArmRecv));
    EXPECT_EQ(actions.recv_limit, SpliceLeg::kPauseBytes - 30);
}

TEST(SpliceLeg, EofWithNothingQueuedFinishesAtOnce) {
    SpliceLeg leg = copying();
    EXPECT_TRUE(only(leg.on_recv(0, kEnded, kBuffer), LegAction::kFinish));
    EXPECT_TRUE(leg.done());
}

TEST(SpliceLeg, EofFinishesOnlyAfterTheQueuedBytesAreSent) {
    SpliceLeg leg = copying();
    leg.on_recv(100, kMore, kBuffer);
    leg.on_recv(50, kMore, kBuffer);
    EXPECT_TRUE(leg.on_recv(0, kEnded, kBuffer).empty());
    EXPECT_FALSE(leg.done());
    EXPECT_TRUE(only(leg.on_sent(100, true), LegAction::kSubmitSend));
    EXPECT_TRUE(only(leg.on_sent(50, true), LegAction::kFinish));
    EXPECT_TRUE(leg.done());
}

TEST(SpliceLeg, AfterEofTheRecvIsNotArmedAgain) {
    SpliceLeg leg = copying();
    leg.on_recv(100, kMore, kBuffer);
    leg.on_recv(0, kEnded, kBuffer);
    EXPECT_TRUE(only(leg.on_sent(100, true), LegAction::kFinish));
}

TEST(SpliceLeg, AnEmptyBufferRingParksTheRecvUntilBuffersComeBack) {
    SpliceLeg leg = copying();
    EXPECT_TRUE(leg.on_recv(-ENOBUFS, kMore, kBuffer).empty());  // still armed: nothing to do
    EXPECT_TRUE(only(leg.on_recv(-ENOBUFS, kEnded, kBuffer), LegAction::kWaitForBuffers));
    LegActions actions = leg.on_buffers_returned();
    EXPECT_TRUE(only(actions, LegAction::kArmRecv));
    EXPECT_EQ(actions.recv_limit, SpliceLeg::kPauseBytes);
}

TEST(SpliceLeg, ASendDoesNotRearmAStarvedRecv) {
    SpliceLeg leg = copying();
    leg.on_recv(100, kMore, kBuffer);
    leg.on_recv(-ENOBUFS, kEnded, kBuffer);
    EXPECT_TRUE(leg.on_sent(100, true).empty());
    EXPECT_TRUE(only(leg.on_buffers_returned(), LegAction::kArmRecv));
}

TEST(SpliceLeg, RecvAndSendErrorsResetTheSideThatFailed) {
    SpliceLeg leg = copying();
    EXPECT_TRUE(only(leg.on_recv(-ECONNRESET, kEnded, kBuffer), LegAction::kCloseSourceReset));
    SpliceLeg other = copying();
    other.on_recv(100, kMore, kBuffer);
    EXPECT_TRUE(only(other.on_sent(-EPIPE, false), LegAction::kCloseDestReset));
}

// ---------------------------------------------------------- copy → splice

TEST(SpliceLeg, FourFullBuffersInARowSwitchAutoToSplicing) {
    SpliceLeg leg = copying();
    for (int i = 1; i < SpliceLeg::kFullBuffersBeforeSplice; ++i)
        EXPECT_FALSE(leg.on_recv(int(kBuffer), kMore, kBuffer).has(LegAction::kSwitchToSplice));
    LegActions actions = leg.on_recv(int(kBuffer), kMore, kBuffer);
    EXPECT_TRUE(actions.has(LegAction::kSwitchToSplice));
    EXPECT_TRUE(actions.has(LegAction::kCancelRecv));
    EXPECT_FALSE(leg.splicing());  // not before the queue has drained
}

TEST(SpliceLeg, ASmallerRecvRestartsTheCountOfFullBuffers) {
    SpliceLeg leg = copying();
    for (int round = 0; round < 3; ++round) {
        for (int i = 1; i < SpliceLeg::kFullBuffersBeforeSplice; ++i)
            EXPECT_FALSE(leg.on_recv(int(kBuffer), kMore, kBuffer).has(LegAction::kSwitchToSplice));
        EXPECT_FALSE(leg.on_recv(100, kMore, kBuffer).has(LegAction::kSwitchToSplice));
        for (int i = 1; i < SpliceLeg::kFullBuffersBeforeSplice; ++i) leg.on_sent(int(kBuffer), true);
        leg.on_sent(100, true);
    }
}

TEST(SpliceLeg, NeverModeKeepsCopyingBulk) {
    SpliceLeg leg = copying(SpliceMode::kNever);
    for (int i = 0; i < 20; ++i) {
        EXPECT_FALSE(leg.on_recv(int(kBuffer), kMore, kBuffer).has(LegAction::kSwitchToSplice));
        leg.on_sent(int(kBuffer), true);
    }
    EXPECT_FALSE(leg.splicing());
}

TEST(SpliceLeg, TheSwitchStopsReceivingFlushesTheQueueThenSplices) {
    SpliceLeg leg = copying();
    for (int i = 0; i < SpliceLeg::kFullBuffersBeforeSplice; ++i) leg.on_recv(int(kBuffer), kMore, kBuffer);
    // Bytes that were already on their way when the cancel was issued still queue.
    EXPECT_TRUE(leg.on_recv(500, kMore, kBuffer).empty());
    EXPECT_TRUE(leg.on_recv(-ECANCELED, kEnded, kBuffer).empty());  // 5 chunks wait: no splicing yet
    for (int i = 0; i < SpliceLeg::kFullBuffersBeforeSplice; ++i)
        EXPECT_TRUE(only(leg.on_sent(int(kBuffer), true), LegAction::kSubmitSend));
    EXPECT_FALSE(leg.splicing());
    EXPECT_TRUE(only(leg.on_sent(500, true), LegAction::kPump));  // the last queued byte is out
    EXPECT_TRUE(leg.splicing());
    EXPECT_EQ(leg.begin_pump().op, PumpOp::kAcquirePipe);
}

TEST(SpliceLeg, TheSwitchWaitsForTheCancelledRecvToEnd) {
    SpliceLeg leg = copying();
    for (int i = 0; i < SpliceLeg::kFullBuffersBeforeSplice; ++i) leg.on_recv(int(kBuffer), kMore, kBuffer);
    for (int i = 0; i < SpliceLeg::kFullBuffersBeforeSplice; ++i)
        EXPECT_FALSE(leg.on_sent(int(kBuffer), true).has(LegAction::kPump));  // the recv is still armed
    EXPECT_TRUE(only(leg.on_recv(-ECANCELED, kEnded, kBuffer), LegAction::kPump));
}

// ------------------------------------------------------------- splice mode

TEST(SpliceLeg, APumpMovesBytesThroughAPipeUntilTheSourceIsDrained) {
    SpliceLeg leg = splicing();
    PumpStep step = leg.begin_pump();
    ASSERT_EQ(step.op, PumpOp::kAcquirePipe);
    step = leg.on_pipe(65536);
    ASSERT_EQ(step.op, PumpOp::kSpliceIn);
    EXPECT_EQ(step.length, 65536u);
    step = leg.on_spliced_in(3000);
    ASSERT_EQ(step.op, PumpOp::kSpliceOut);
    EXPECT_EQ(step.length, 3000u);
    step = leg.on_spliced_out(1000);  // short: 2000 stay in the pipe
    ASSERT_EQ(step.op, PumpOp::kSpliceIn);
    EXPECT_EQ(step.length, 65536u - 2000);
    step = leg.on_spliced_in(-EAGAIN);
    ASSERT_EQ(step.op, PumpOp::kSpliceOut);
    EXPECT_EQ(step.length, 2000u);
    step = leg.on_spliced_out(2000);
    ASSERT_EQ(step.op, PumpOp::kStop);
    EXPECT_TRUE(step.then.has(LegAction::kReleasePipe));
    EXPECT_TRUE(step.then.has(LegAction::kArmPollIn));
    EXPECT_EQ(leg.pipe_bytes(), 0u);
    // The next wakeup takes a pipe again: an idle direction holds none.
    EXPECT_TRUE(only(leg.on_poll_ready(PollFor::kRead, 1), LegAction::kPump));
    EXPECT_EQ(leg.begin_pump().op, PumpOp::kAcquirePipe);
}

TEST(SpliceLeg, AFullDestinationWaitsForWritableAndKeepsThePipe) {
    SpliceLeg leg = splicing();
    leg.begin_pump();
    leg.on_pipe(65536);
    leg.on_spliced_in(5000);
    PumpStep step = leg.on_spliced_out(-EAGAIN);
    ASSERT_EQ(step.op, PumpOp::kStop);
    EXPECT_TRUE(only(step.then, LegAction::kArmPollOut));
    EXPECT_EQ(leg.pipe_bytes(), 5000u);
    EXPECT_TRUE(only(leg.on_poll_ready(PollFor::kWrite, 1), LegAction::kPump));
    step = leg.begin_pump();
    ASSERT_EQ(step.op, PumpOp::kSpliceIn);  // the pipe is still held
    EXPECT_EQ(step.length, 65536u - 5000);
}

TEST(SpliceLeg, APipeSmallerThanAskedForIsFullNotADrainedSource) {
    // F_SETPIPE_SZ refused: the pipe kept 4 KiB. Its own size bounds each splice in,
    // so the source is never asked for more than fits and a full pipe is drained
    // before the next splice in instead of being taken for "no more input".
    SpliceLeg leg = splicing();
    leg.begin_pump();
    PumpStep step = leg.on_pipe(4096);
    ASSERT_EQ(step.op, PumpOp::kSpliceIn);
    EXPECT_EQ(step.length, 4096u);
    step = leg.on_spliced_in(4096);
    ASSERT_EQ(step.op, PumpOp::kSpliceOut);
    step = leg.on_spliced_out(4096);
    ASSERT_EQ(step.op, PumpOp::kSpliceIn);  // another round, not a poll
    EXPECT_EQ(step.length, 4096u);
}

TEST(SpliceLeg, EofFinishesOnceThePipeIsEmpty) {
    SpliceLeg leg = splicing();
    leg.begin_pump();
    leg.on_pipe(65536);
    leg.on_spliced_in(700);
    leg.on_spliced_out(700);
    PumpStep step = leg.on_spliced_in(0);  // EOF, pipe empty
    ASSERT_EQ(step.op, PumpOp::kStop);
    EXPECT_TRUE(only(step.then, LegAction::kFinish));
    EXPECT_TRUE(leg.done());
    // A poll that completes after the direction is done does nothing.
    EXPECT_TRUE(leg.on_poll_ready(PollFor::kRead, 1).empty());
}

TEST(SpliceLeg, EofWithBytesInThePipeSendsThemFirst) {
    SpliceLeg leg = splicing();
    leg.begin_pump();
    leg.on_pipe(65536);
    leg.on_spliced_in(900);
    PumpStep step = leg.on_spliced_out(-EAGAIN);  // destination full
    ASSERT_TRUE(only(step.then, LegAction::kArmPollOut));
    leg.on_poll_ready(PollFor::kWrite, 1);
    step = leg.begin_pump();
    step = leg.on_spliced_in(0);  // EOF while 900 bytes wait in the pipe
    ASSERT_EQ(step.op, PumpOp::kSpliceOut);
    EXPECT_EQ(step.length, 900u);
    EXPECT_FALSE(leg.done());
    step = leg.on_spliced_out(900);
    ASSERT_EQ(step.op, PumpOp::kStop);
    EXPECT_TRUE(only(step.then, LegAction::kFinish));
}

TEST(SpliceLeg, AfterTheRoundBudgetThePumpYieldsToAPoll) {
    SpliceLeg leg = splicing();
    PumpStep step = leg.begin_pump();
    step = leg.on_pipe(65536);
    int rounds = 0;
    while (step.op != PumpOp::kStop && rounds < 100) {
        ASSERT_EQ(step.op, PumpOp::kSpliceIn);
        step = leg.on_spliced_in(step.length);  // the pipe fills up
        ASSERT_EQ(step.op, PumpOp::kSpliceOut);
        step = leg.on_spliced_out(60000);  // a little is always left in it
        ++rounds;
    }
    EXPECT_EQ(rounds, SpliceLeg::kSpliceRounds);
    EXPECT_TRUE(only(step.then, LegAction::kArmPollOut));  // bytes wait in the pipe
}

TEST(SpliceLeg, AnIdleBudgetYieldsToAPollForInput) {
    SpliceLeg leg = splicing();
    PumpStep step = leg.begin_pump();
    step = leg.on_pipe(65536);
    for (int round = 0; round < SpliceLeg::kSpliceRounds; ++round) {
        ASSERT_EQ(step.op, PumpOp::kSpliceIn);
        step = leg.on_spliced_in(-EINTR);  // nothing moved, nothing learned
    }
    ASSERT_EQ(step.op, PumpOp::kStop);
    EXPECT_TRUE(only(step.then, LegAction::kArmPollIn));
}

TEST(SpliceLeg, SpliceErrorsResetTheSideThatFailed) {
    SpliceLeg in = splicing();
    in.begin_pump();
    in.on_pipe(65536);
    EXPECT_TRUE(only(in.on_spliced_in(-ECONNRESET).then, LegAction::kCloseSourceReset));
    SpliceLeg out = splicing();
    out.begin_pump();
    out.on_pipe(65536);
    out.on_spliced_in(10);
    EXPECT_TRUE(only(out.on_spliced_out(-EPIPE).then, LegAction::kCloseDestReset));
}

TEST(SpliceLeg, NoPipeFallsBackToCopyingAndNeedsFreshFullBuffersToRetry) {
    SpliceLeg leg = splicing();
    ASSERT_EQ(leg.begin_pump().op, PumpOp::kAcquirePipe);
    PumpStep step = leg.on_no_pipe();
    ASSERT_EQ(step.op, PumpOp::kStop);
    EXPECT_TRUE(only(step.then, LegAction::kArmRecv));
    EXPECT_EQ(step.then.recv_limit, SpliceLeg::kPauseBytes);
    EXPECT_FALSE(leg.splicing());
    // The full-buffer count starts again from zero.
    for (int i = 1; i < SpliceLeg::kFullBuffersBeforeSplice; ++i) {
        EXPECT_FALSE(leg.on_recv(int(kBuffer), kMore, kBuffer).has(LegAction::kSwitchToSplice));
        leg.on_sent(int(kBuffer), true);
    }
    EXPECT_TRUE(leg.on_recv(int(kBuffer), kMore, kBuffer).has(LegAction::kSwitchToSplice));
}

TEST(SpliceLeg, ACancelledPollDoesNotPump) {
    SpliceLeg leg;
    leg.on_start(SpliceMode::kAlways);
    EXPECT_TRUE(leg.on_poll_ready(PollFor::kRead, -ECANCELED).empty());
}

}  // namespace
}  // namespace ringlb
