// Runs one VRRP instance's notify script (`notify = PATH`, called as PATH INSTANCE STATE)
// without blocking the VRRP thread: one run at a time, in the order the states were
// entered, reaped by polling waitpid(WNOHANG) so no SIGCHLD handler is needed.
#pragma once

#include <sys/types.h>

#include <deque>
#include <string>

#include "vrrp/vrrp_types.h"

namespace ringlb {

class NotifyScript {
public:
    // An empty `path` makes every call a no-op.
    NotifyScript(std::string path, std::string instance);
    ~NotifyScript();  // leaves a running script alone; it is reparented when we exit
    NotifyScript(const NotifyScript&) = delete;
    NotifyScript& operator=(const NotifyScript&) = delete;

    // Queues a run for `state` and starts it unless a run is in progress. At most
    // kMaxQueued runs wait; beyond that the oldest waiting one is dropped (logged), so a
    // hung script cannot grow the queue without bound.
    void queue(VrrpState state);

    // Reaps the running script if it has exited (logging a failure) and starts the
    // next queued run. Call whenever busy() — every 50 ms is plenty.
    void poll();

    // A reload changed `notify`: runs not started yet use `path` (empty: none); one in
    // progress finishes and is reaped as before.
    void set_path(std::string path) {
        path_ = std::move(path);
        if (path_.empty()) queued_.clear();
    }

    // A run is in progress or waiting.
    bool busy() const { return pid_ > 0 || !queued_.empty(); }

    static constexpr size_t kMaxQueued = 16;

private:
    void start_next();

    std::string path_;
    std::string instance_;
    std::deque<VrrpState> queued_;
    pid_t pid_ = -1;
    VrrpState running_state_ = VrrpState::kInit;
};

}  // namespace ringlb
