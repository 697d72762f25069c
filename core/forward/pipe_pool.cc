#include "core/forward/pipe_pool.h"

#include <fcntl.h>
#include <unistd.h>

namespace ringlb {

Pipe PipePool::acquire() noexcept {
    if (!idle_.empty()) {
        Pipe pipe = std::move(idle_.back());
        idle_.pop_back();
        return pipe;
    }
    int fds[2];
    if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) return {};
    Pipe pipe{UniqueFd(fds[0]), UniqueFd(fds[1])};
    // Best effort: on failure the pipe keeps the size it was created with.
    int size = fcntl(fds[1], F_SETPIPE_SZ, static_cast<int>(pipe_size_));
    if (size < 0) size = fcntl(fds[1], F_GETPIPE_SZ);
    pipe.capacity = size > 0 ? uint32_t(size) : uint32_t(sysconf(_SC_PAGESIZE));
    return pipe;
}

void PipePool::release(Pipe pipe, bool empty) noexcept {
    if (!pipe) return;
    if (empty && idle_.size() < max_idle_) idle_.push_back(std::move(pipe));
}

}  // namespace ringlb
