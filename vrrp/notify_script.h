// Runs one VRRP instance's notify script (`notify = PATH`, called as PATH INSTANCE STATE)
// without blocking the VRRP thread: one run at a time, in the order the states were
// entered, reaped by polling waitpid(WNOHANG) so no SIGCHLD handler is needed.
//
// The script runs with none of the daemon's privileges (issue 19): before exec the
// child clears its ambient, bounding, inheritable, permitted and effective capability
// sets, sets no_new_privs, optionally becomes `notify_user`, and gets a fixed minimal
// environment; before each run the script's ownership and modes are checked again
// (notify_security.h), so a script made writable after start-up is not run.
#pragma once

#include <sys/types.h>

#include <deque>
#include <string>

#include "vrrp/vrrp_types.h"

namespace ringlb {

class NotifyScript {
public:
    // An empty `path` makes every call a no-op. `user`: run as this user; empty = root
    // (still without capabilities).
    NotifyScript(std::string path, std::string instance, std::string user = {});
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

    // A reload changed `notify` or `notify_user`: runs not started yet use `path`
    // (empty: none) as `user`; one in progress finishes and is reaped as before.
    void set_path(std::string path, std::string user) {
        path_ = std::move(path);
        user_ = std::move(user);
        if (path_.empty()) queued_.clear();
    }

    // A run is in progress or waiting.
    bool busy() const { return pid_ > 0 || !queued_.empty(); }

    static constexpr size_t kMaxQueued = 16;

    // The whole environment a script gets (besides its arguments).
    static constexpr const char* kEnvironment[] = {
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/", "LANG=C", "SHELL=/bin/sh"};

private:
    void start_next();
    // Forks and execs the script for `state` without privileges; the child's pid, or
    // -1 (logged) if it could not be started.
    pid_t spawn(VrrpState state);

    std::string path_;
    std::string instance_;
    std::string user_;
    std::deque<VrrpState> queued_;
    pid_t pid_ = -1;
    VrrpState running_state_ = VrrpState::kInit;
};

}  // namespace ringlb
