// Ring::get_sqe with a full submission queue: it submits to make room, and when the
// kernel takes nothing it gives up after a bounded number of submits instead of
// looping forever. The fault is real, not a stub: a SINGLE_ISSUER ring entered from
// a task other than the one that created it is refused by the kernel (EEXIST).
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "core/base/uring.h"

namespace ringlb {
namespace {

constexpr unsigned kEntries = 4;

// Queues NOPs until the submission queue is full (nothing submitted yet).
void fill_submission_queue(Ring& ring) {
    for (unsigned i = 0; i < kEntries; ++i) {
        io_uring_sqe* sqe = io_uring_get_sqe(ring.raw());
        ASSERT_NE(sqe, nullptr);
        io_uring_prep_nop(sqe);
    }
    ASSERT_EQ(io_uring_get_sqe(ring.raw()), nullptr) << "the queue should be full";
}

TEST(Ring, AFullQueueIsSubmittedToMakeRoom) {
    Ring ring;
    ring.init(kEntries, 4 * kEntries);
    fill_submission_queue(ring);
    io_uring_sqe* sqe = ring.get_sqe();
    ASSERT_NE(sqe, nullptr);
    EXPECT_EQ(ring.submit_error(), 0);
    io_uring_prep_nop(sqe);
    EXPECT_EQ(io_uring_submit_and_wait(ring.raw(), kEntries + 1), 1);
}

// Runs `child` in a forked process and returns its exit status, or -1 if it was still
// running after `limit` (then it is killed): a get_sqe that loops forever fails the
// test instead of hanging it.
int run_bounded(void (*child)(), std::chrono::milliseconds limit) {
    const pid_t pid = ::fork();
    if (pid == 0) {
        child();
        ::_exit(0);
    }
    if (pid < 0) return -2;
    const auto deadline = std::chrono::steady_clock::now() + limit;
    int status = 0;
    while (std::chrono::steady_clock::now() < deadline) {
        if (::waitpid(pid, &status, WNOHANG) == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
    return -1;
}

// Exit status 0: get_sqe gave up with the kernel's refusal; 1: it returned an entry;
// 2: the error it kept was not a refusal; 77: no SINGLE_ISSUER here.
void submit_from_another_task() {
    Ring ring;
    ring.init(kEntries, 4 * kEntries);
    if (ring.describe_flags().find("single-issuer") == std::string::npos) ::_exit(77);
    for (unsigned i = 0; i < kEntries; ++i) io_uring_prep_nop(io_uring_get_sqe(ring.raw()));
    int outcome = 0;
    std::thread other([&] {
        io_uring_sqe* sqe = ring.get_sqe();
        outcome = sqe != nullptr ? 1 : ring.submit_error() < 0 ? 0 : 2;
    });
    other.join();
    ::_exit(outcome);
}

TEST(Ring, WhenTheKernelRefusesEverySubmitGetSqeGivesUpWithTheErrorInsteadOfLooping) {
    const int status = run_bounded(submit_from_another_task, std::chrono::seconds(20));
    if (status == 77) GTEST_SKIP() << "the kernel refused IORING_SETUP_SINGLE_ISSUER";
    ASSERT_NE(status, -1) << "get_sqe was still looping after 20 s";
    EXPECT_EQ(status, 0) << "1: it returned an entry nobody can submit; 2: no error kept";
}

TEST(Ring, TheGivenUpErrorNamesTheCountAndTheReason) {
    Ring ring;
    EXPECT_EQ(ring.describe_submit_error(),
              "io_uring refused 8 submits in a row with the submission queue full: nothing was taken");
}

}  // namespace
}  // namespace ringlb
