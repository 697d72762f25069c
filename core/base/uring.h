// RAII io_uring with feature probing. Setup flags that make a single-threaded
// event loop cheaper are tried first and dropped one by one when the kernel
// refuses them; operations the data path cannot work without are checked once
// at start and reported by name.
#pragma once

#include <liburing.h>

#include <cstdint>
#include <string>

#include "core/base/result.h"

namespace ringlb {

class Ring {
public:
    Ring() = default;
    Ring(const Ring&) = delete;
    Ring& operator=(const Ring&) = delete;
    ~Ring();

    // Throws std::runtime_error naming the missing feature and the kernel needed.
    void init(unsigned sq_entries, unsigned cq_entries);

    // The entry for the next request. When the submission queue is full it submits
    // what is queued to make room; after kMaxFailedSubmits submits in a row that take
    // nothing (the kernel refuses them: EBUSY, EAGAIN, a ring entered from another task)
    // it gives up and returns null instead of looping forever, and submit_error() holds
    // the last submit's result (a negative errno, or 0 for "took nothing"). The caller
    // decides what a ring that cannot submit means for it.
    io_uring_sqe* get_sqe() noexcept;
    int submit_error() const noexcept { return submit_error_; }
    // "io_uring refused 8 submits in a row with the submission queue full: File exists"
    std::string describe_submit_error() const;
    io_uring* raw() { return &ring_; }
    std::string describe_flags() const;

    static constexpr int kMaxFailedSubmits = 8;

private:
    io_uring ring_{};
    bool initialized_ = false;
    unsigned flags_ = 0;
    int submit_error_ = 0;
};

// Checks once per process that the running kernel has what the data path needs
// (multishot accept and recv, provided buffer rings, cancel by fd); the failure
// names what is missing and the kernel needed.
Result<void> probe_kernel_features();

// Whether a multishot recv takes a total byte limit (sqe->optlen,
// IORING_RECV_MSHOT_LIM, Linux 6.17): the kernel then ends the multishot by
// itself once that many bytes have landed, where a cancel races with more
// completions. Probed once per process with a throwaway ring.
bool recv_multishot_limit_supported();

// Milliseconds as the timespec io_uring timeouts take.
inline __kernel_timespec to_timespec(int64_t ms) {
    __kernel_timespec ts{};
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (ms % 1000) * 1000000;
    return ts;
}

// The limit goes in sqe->optlen, which Debian 12's liburing 2.3 headers know only
// by the older name of the same union member, file_index.
inline void set_recv_multishot_limit(io_uring_sqe* sqe, uint32_t bytes) { sqe->file_index = bytes; }

}  // namespace ringlb
