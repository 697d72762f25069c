// Notify scripts for VRRP state changes; see notify_script.h.
#include "vrrp/notify_script.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <cerrno>
#include <cstring>

#include <spdlog/spdlog.h>

extern char** environ;

namespace ringlb {

NotifyScript::NotifyScript(std::string path, std::string instance)
    : path_(std::move(path)), instance_(std::move(instance)) {}

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
        std::string instance = instance_;
        std::string state_name = to_string(state);
        char* argv[] = {path_.data(), instance.data(), state_name.data(), nullptr};

        posix_spawn_file_actions_t files;
        posix_spawnattr_t attributes;
        posix_spawn_file_actions_init(&files);
        posix_spawnattr_init(&attributes);
        // stdin from /dev/null, stdout/stderr shared with the daemon (the journal), and
        // none of the daemon's other descriptors.
        posix_spawn_file_actions_addopen(&files, 0, "/dev/null", O_RDONLY, 0);
        posix_spawn_file_actions_addclosefrom_np(&files, 3);
        // The daemon blocks signals for its signalfd; the script must start clean.
        sigset_t none;
        sigemptyset(&none);
        posix_spawnattr_setsigmask(&attributes, &none);
        sigset_t defaults;
        sigemptyset(&defaults);
        for (int sig : {SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGPIPE, SIGCHLD, SIGUSR1, SIGUSR2}) sigaddset(&defaults, sig);
        posix_spawnattr_setsigdefault(&attributes, &defaults);
        posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSID);
        pid_t pid = -1;
        const int error = posix_spawn(&pid, path_.c_str(), &files, &attributes, argv, environ);
        posix_spawn_file_actions_destroy(&files);
        posix_spawnattr_destroy(&attributes);
        if (error != 0) {
            spdlog::error("vrrp {}: cannot run notify script {}: {}", instance_, path_, std::strerror(error));
            continue;
        }
        pid_ = pid;
        running_state_ = state;
    }
}

}  // namespace ringlb
