// Notify scripts for VRRP state changes; see notify_script.h.
#include "vrrp/notify_script.h"

#include <sys/wait.h>

#include <optional>

#include <spdlog/spdlog.h>

#include "vrrp/notify_security.h"
#include "vrrp/unprivileged_spawn.h"

namespace ringlb {

NotifyScript::NotifyScript(std::string path, std::string instance, std::string user)
    : path_(std::move(path)), instance_(std::move(instance)), user_(std::move(user)) {}

NotifyScript::~NotifyScript() = default;

void NotifyScript::queue(VrrpState state) {
    if (path_.empty()) return;
    if (queued_.size() == kMaxQueued) {
        spdlog::warn("vrrp {}: notify script {} is still busy; dropping its queued {} run", instance_, path_,
                     to_string(queued_.front()));
        queued_.pop_front();
    }
    queued_.push_back(state);
    start_next();
}

void NotifyScript::poll() {
    if (pid_ > 0) {
        int status = 0;
        const pid_t done = ::waitpid(pid_, &status, WNOHANG);
        if (done == 0) return;  // still running
        if (done == pid_) {
            if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
                spdlog::warn("vrrp {}: notify script {} {} exited with status {}", instance_, path_,
                             to_string(running_state_), WEXITSTATUS(status));
            else if (WIFSIGNALED(status))
                spdlog::warn("vrrp {}: notify script {} {} was killed by signal {}", instance_, path_,
                             to_string(running_state_), WTERMSIG(status));
        }
        // done < 0 (ECHILD): someone else reaped it (SIGCHLD ignored or a process-wide
        // reaper); either way it is over.
        pid_ = -1;
    }
    start_next();
}

void NotifyScript::start_next() {
    while (pid_ <= 0 && !queued_.empty()) {
        const VrrpState state = queued_.front();
        queued_.pop_front();
        const pid_t pid = spawn(state);
        if (pid < 0) continue;
        pid_ = pid;
        running_state_ = state;
    }
}

pid_t NotifyScript::spawn(VrrpState state) {
    // Checked again at each run: a script or directory made writable by someone else
    // since start-up is not run.
    if (Result<void> trusted = check_notify_script(path_); !trusted) {
        spdlog::error("vrrp {}: not running notify script {} {}: {}", instance_, path_, to_string(state),
                      trusted.error());
        return -1;
    }
    std::optional<NotifyUser> user;
    if (!user_.empty()) {
        Result<NotifyUser> found = resolve_notify_user(user_);
        if (!found) {
            spdlog::error("vrrp {}: not running notify script {} {}: {}", instance_, path_, to_string(state),
                          found.error());
            return -1;
        }
        user = std::move(*found);
    }
    Result<pid_t> started = spawn_unprivileged(path_, {instance_, to_string(state)}, user, kEnvironment);
    if (!started) {
        spdlog::error("vrrp {}: cannot run notify script {}: {}", instance_, path_, started.error());
        return -1;
    }
    return *started;
}

}  // namespace ringlb
