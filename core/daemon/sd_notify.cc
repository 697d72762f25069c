// sd_notify(3) protocol by hand: a SOCK_DGRAM to $NOTIFY_SOCKET carrying
// newline-separated KEY=VALUE lines. No credentials or fds are passed.
#include "core/daemon/sd_notify.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <optional>

#include "core/base/clock.h"

namespace ringlb {

namespace {

// Parses a whole decimal string into a positive integer; nullopt otherwise.
std::optional<uint64_t> parse_positive(const char* text) {
    if (text == nullptr || *text == '\0') return std::nullopt;
    std::string_view s(text);
    uint64_t value = 0;
    auto [end, error] = std::from_chars(s.data(), s.data() + s.size(), value);
    if (error != std::errc() || end != s.data() + s.size() || value == 0) return std::nullopt;
    return value;
}

}  // namespace

Result<NotifyAddress> parse_notify_socket(std::string_view value) {
    NotifyAddress result;
    result.address.sun_family = AF_UNIX;
    // sun_path need not be NUL-terminated when the length says where it ends.
    if (value.size() < 2 || value.size() > sizeof(result.address.sun_path) || (value[0] != '/' && value[0] != '@'))
        return fail("not a Unix socket address");
    std::memcpy(result.address.sun_path, value.data(), value.size());
    // Abstract namespace: the name starts with a NUL byte instead of '@'.
    if (value[0] == '@') result.address.sun_path[0] = '\0';
    result.length = socklen_t(offsetof(sockaddr_un, sun_path) + value.size());
    return result;
}

int64_t watchdog_ping_interval_ms(const char* watchdog_usec, const char* watchdog_pid, pid_t self) {
    std::optional<uint64_t> usec = parse_positive(watchdog_usec);
    if (!usec) return 0;
    if (watchdog_pid != nullptr) {
        std::optional<uint64_t> pid = parse_positive(watchdog_pid);
        if (!pid || *pid != uint64_t(self)) return 0;
    }
    int64_t ms = int64_t(*usec / 2000);
    return ms > 0 ? ms : 1;
}

SystemdNotifier SystemdNotifier::from_environment() {
    const char* socket_path = std::getenv("NOTIFY_SOCKET");
    std::string path = socket_path ? socket_path : "";
    int64_t interval = watchdog_ping_interval_ms(std::getenv("WATCHDOG_USEC"), std::getenv("WATCHDOG_PID"), ::getpid());
    ::unsetenv("NOTIFY_SOCKET");
    ::unsetenv("WATCHDOG_USEC");
    ::unsetenv("WATCHDOG_PID");
    if (path.empty()) return {};
    Result<SystemdNotifier> notifier = for_socket(path, interval);
    if (notifier) return std::move(notifier).value();
    spdlog::warn("NOTIFY_SOCKET={}: {}; not notifying systemd", path, notifier.error());
    return {};
}

Result<SystemdNotifier> SystemdNotifier::for_socket(std::string_view notify_socket, int64_t watchdog_interval_ms) {
    Result<NotifyAddress> address = parse_notify_socket(notify_socket);
    if (!address) return fail(address.error());
    SystemdNotifier notifier;
    notifier.fd_.reset(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!notifier.fd_) return fail(std::string("socket(AF_UNIX): ") + std::strerror(errno));
    notifier.address_ = *address;
    notifier.watchdog_interval_ms_ = watchdog_interval_ms;
    return notifier;
}

bool SystemdNotifier::send(std::string_view message) const {
    if (!enabled()) return false;
    ssize_t sent = ::sendto(fd_.get(), message.data(), message.size(), MSG_NOSIGNAL,
                            reinterpret_cast<const sockaddr*>(&address_.address), address_.length);
    if (sent == ssize_t(message.size())) return true;
    // Not fatal: systemd may be restarting (daemon-reexec); the next message retries.
    spdlog::warn("notifying systemd ({}): {}", message.substr(0, message.find('\n')),
                 sent < 0 ? std::strerror(errno) : "short write");
    return false;
}

void SystemdNotifier::ready(std::string_view status) const {
    if (!enabled()) return;
    std::string message = "READY=1";
    if (!status.empty()) message.append("\nSTATUS=").append(status);
    send(message);
}

void SystemdNotifier::reloading() const {
    // MONOTONIC_USEC lets systemd ≥ 253 (Type=notify-reload) tell this reload from
    // an older one; earlier versions ignore it.
    if (enabled()) send("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(monotonic_us()));
}

void SystemdNotifier::stopping() const {
    if (enabled()) send("STOPPING=1");
}

void SystemdNotifier::watchdog() const {
    if (enabled()) send("WATCHDOG=1");
}

SystemdWatchdog::SystemdWatchdog(const SystemdNotifier& notifier, std::function<std::vector<uint64_t>()> heartbeats)
    : notifier_(notifier), heartbeats_(std::move(heartbeats)) {}

SystemdWatchdog::~SystemdWatchdog() { stop(); }

void SystemdWatchdog::start() {
    if (notifier_.watchdog_interval_ms() <= 0 || thread_.joinable()) return;
    stopping_ = false;
    thread_ = std::thread([this] {
        pthread_setname_np(pthread_self(), "ringlb-wdog");
        run();
    });
}

void SystemdWatchdog::stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
}

void SystemdWatchdog::run() {
    const auto interval = std::chrono::milliseconds(notifier_.watchdog_interval_ms());
    ProgressGate gate(heartbeats_());
    // One ping at once: the workers just started, and systemd's clock runs from READY.
    notifier_.watchdog();
    std::unique_lock lock(mutex_);
    while (!wake_.wait_for(lock, interval, [this] { return stopping_; })) {
        std::vector<size_t> stuck = gate.stalled(heartbeats_());
        if (stuck.empty()) {
            notifier_.watchdog();
            continue;
        }
        std::string which;
        for (size_t index : stuck) which += (which.empty() ? "" : ", ") + std::to_string(index);
        spdlog::error("watchdog: worker(s) {} made no progress in {} ms; not feeding systemd's watchdog", which,
                      interval.count());
    }
}

}  // namespace ringlb
