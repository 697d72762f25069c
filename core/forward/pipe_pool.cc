#include "core/forward/pipe_pool.h"

#include <fcntl.h>
#include <unistd.h>

namespace ringlb {

Pipe PipePool::acquire() {
    if (!idle_.empty()) {
        Pipe pipe = std::move(idle_.back());
        idle_.pop_back();
        ++in_use_;
        return pipe;
    }
    int fds[2];
    if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) return {};
    Pipe pipe{UniqueFd(fds[0]), UniqueFd(fds[1])};
    // Best effort: past pipe-user-pages-soft the kernel keeps one page.
    fcntl(fds[1], F_SETPIPE_SZ, static_cast<int>(pipe_size_));
    ++in_use_;
    return pipe;
}

void PipePool::release(Pipe pipe, bool empty) {
    if (!pipe) return;
    --in_use_;
    if (empty && idle_.size() < max_idle_) idle_.push_back(std::move(pipe));
}

}  // namespace ringlb
