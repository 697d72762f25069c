// Spawning without privileges; see unprivileged_spawn.h.
#include "vrrp/unprivileged_spawn.h"

#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/base/unique_fd.h"

namespace ringlb {

namespace {

// What the child reports when a step before exec fails.
struct ChildFailure {
    int step = 0;
    int error = 0;
};

constexpr const char* kSteps[] = {"",
                                  "reset signals",
                                  "setsid",
                                  "stdin from /dev/null",
                                  "close descriptors",
                                  "clear ambient capabilities",
                                  "clear the capability bounding set (CAP_SETPCAP missing?)",
                                  "set no_new_privs",
                                  "setgroups",
                                  "setgid",
                                  "setuid",
                                  "clear capabilities",
                                  "exec"};

[[noreturn]] void child_fails(int pipe_fd, int step) {
    ChildFailure failure{step, errno};
    ssize_t ignored = ::write(pipe_fd, &failure, sizeof(failure));
    (void)ignored;
    ::_exit(126);
}

// The child, from fork to exec: async-signal-safe calls only.
[[noreturn]] void become_unprivileged_and_exec(const char* path, char* const argv[], char* const envp[],
                                               const std::optional<NotifyUser>& user, int devnull, int report) {
    sigset_t none;
    sigemptyset(&none);
    struct sigaction defaults {};
    defaults.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; ++sig) ::sigaction(sig, &defaults, nullptr);  // EINVAL for KILL/STOP: fine
    if (::sigprocmask(SIG_SETMASK, &none, nullptr) != 0) child_fails(report, 1);
    if (::setsid() < 0) child_fails(report, 2);
    if (::dup2(devnull, 0) < 0) child_fails(report, 3);
    // Every descriptor above stderr closes at exec, the report pipe's included.
    if (::syscall(SYS_close_range, 3u, ~0u, 4u /* CLOSE_RANGE_CLOEXEC */) != 0) child_fails(report, 4);
    if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL) child_fails(report, 5);
    for (int cap = 0; cap < 64; ++cap) {
        const int present = ::prctl(PR_CAPBSET_READ, cap, 0, 0, 0);
        if (present < 0) break;  // past the kernel's last capability
        if (present == 1 && ::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0) child_fails(report, 6);
    }
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) child_fails(report, 7);
    if (user) {
        if (::setgroups(user->groups.size(), user->groups.data()) != 0) child_fails(report, 8);
        if (::setresgid(user->gid, user->gid, user->gid) != 0) child_fails(report, 9);
        if (::setresuid(user->uid, user->uid, user->uid) != 0) child_fails(report, 10);
    }
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
    if (::syscall(SYS_capset, &header, data) != 0) child_fails(report, 11);
    ::execve(path, argv, envp);
    child_fails(report, 12);
}

}  // namespace

Result<pid_t> spawn_unprivileged(const std::string& path, const std::vector<std::string>& args,
                                 const std::optional<NotifyUser>& user, std::span<const char* const> environment) {
    // Everything the child needs is built before fork: it may not allocate.
    std::vector<std::string> argv_text{path};
    argv_text.insert(argv_text.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (std::string& arg : argv_text) argv.push_back(arg.data());
    argv.push_back(nullptr);
    std::vector<std::string> env_text(environment.begin(), environment.end());
    std::vector<char*> envp;
    for (std::string& entry : env_text) envp.push_back(entry.data());
    envp.push_back(nullptr);

    UniqueFd devnull(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    if (!devnull) return fail(std::string("/dev/null: ") + std::strerror(errno));
    int ends[2];
    if (::pipe2(ends, O_CLOEXEC) != 0) return fail(std::string("pipe: ") + std::strerror(errno));
    UniqueFd read_end(ends[0]);
    UniqueFd write_end(ends[1]);
    const pid_t pid = ::fork();
    if (pid < 0) return fail(std::string("fork: ") + std::strerror(errno));
    if (pid == 0) become_unprivileged_and_exec(path.c_str(), argv.data(), envp.data(), user, devnull.get(),
                                               write_end.get());
    write_end.reset();
    // EOF: the exec happened (the pipe closed with it). A report: it did not.
    ChildFailure failure;
    ssize_t n;
    do n = ::read(read_end.get(), &failure, sizeof(failure));
    while (n < 0 && errno == EINTR);
    if (n != ssize_t(sizeof(failure))) return pid;
    int status = 0;
    ::waitpid(pid, &status, 0);
    const int step = failure.step > 0 && failure.step < int(std::size(kSteps)) ? failure.step : 0;
    return fail(std::string(kSteps[step]) + ": " + std::strerror(failure.error));
}

}  // namespace ringlb
