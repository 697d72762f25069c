// Per-worker pool of pipes for splice mode. A pipe is borrowed only while a
// direction has bytes in flight and given back empty; a pipe that still holds
// data is destroyed, never pooled (its bytes belong to a dead connection).
#pragma once

#include <cstddef>
#include <vector>

#include "core/base/unique_fd.h"

namespace ringlb {

struct Pipe {
    UniqueFd read_end, write_end;
    explicit operator bool() const { return read_end.valid(); }
};

class PipePool {
public:
    // pipe_size: requested capacity in bytes (F_SETPIPE_SZ); max_idle: how many
    // empty pipes to keep for reuse.
    PipePool(size_t pipe_size, size_t max_idle) : pipe_size_(pipe_size), max_idle_(max_idle) {}

    // An empty pipe, or an invalid one when none can be created (out of fds).
    Pipe acquire();
    void release(Pipe pipe, bool empty);

    size_t in_use() const { return in_use_; }
    size_t idle() const { return idle_.size(); }
    size_t capacity() const { return pipe_size_; }

private:
    size_t pipe_size_;
    size_t max_idle_;
    size_t in_use_ = 0;
    std::vector<Pipe> idle_;
};

}  // namespace ringlb
