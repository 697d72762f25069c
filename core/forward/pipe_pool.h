// Per-worker pool of pipes for splice mode. A pipe is borrowed only while a
// direction has bytes in flight and given back empty; a pipe that still holds
// data is destroyed, never pooled (its bytes belong to a dead connection).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/base/unique_fd.h"

namespace ringlb {

struct Pipe {
    UniqueFd read_end, write_end;
    // What the kernel really gave: F_SETPIPE_SZ fails past pipe-max-size, and
    // past pipe-user-pages-soft new pipes get one page, whatever was asked.
    uint32_t capacity = 0;
    explicit operator bool() const { return read_end.valid(); }
};

class PipePool {
public:
    // pipe_size: requested capacity in bytes (F_SETPIPE_SZ); max_idle: how many
    // empty pipes to keep for reuse.
    PipePool(size_t pipe_size, size_t max_idle) : pipe_size_(pipe_size), max_idle_(max_idle) {}

    // An empty pipe, or an invalid one when none can be created (out of fds; errno says why).
    Pipe acquire() noexcept;
    // empty: nothing left unread in it; only then may it be pooled.
    void release(Pipe pipe, bool empty) noexcept;

private:
    size_t pipe_size_;
    size_t max_idle_;
    std::vector<Pipe> idle_;
};

}  // namespace ringlb
