// systemd's service notification protocol (sd_notify(3)) without libsystemd: one
// datagram per state change to $NOTIFY_SOCKET, and a watchdog thread that pings only
// while every worker makes progress (ProgressGate). Does nothing when ringlbd is not
// run by systemd.
#pragma once

#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/base/result.h"
#include "core/base/unique_fd.h"
#include "core/daemon/progress_gate.h"  // the watchdog's verdict; also used by VRRP

namespace ringlb {

// Where $NOTIFY_SOCKET points: an absolute path or, with a leading '@', a name in
// the abstract namespace. Pure.
struct NotifyAddress {
    sockaddr_un address{};
    socklen_t length = 0;
};
// Fails ("not a Unix socket address") for an empty, relative, too long or non-Unix
// value (e.g. systemd 253's "vsock:"), which the notifier then ignores.
Result<NotifyAddress> parse_notify_socket(std::string_view value);

// How often to ping the watchdog, from $WATCHDOG_USEC and $WATCHDOG_PID (either may
// be null): half the timeout, as sd_watchdog_enabled(3) advises, rounded down to
// whole ms and at least 1. 0 when there is no watchdog, or it is meant for another
// process (WATCHDOG_PID names a pid other than `self`). Pure.
int64_t watchdog_ping_interval_ms(const char* watchdog_usec, const char* watchdog_pid, pid_t self);

// Sends notifications to systemd. The messages, sd_notify(3):
//   ready()      READY=1 (+ STATUS=): after the listeners are bound and workers run
//   reloading()  RELOADING=1 + MONOTONIC_USEC=: when a reload starts; ready() ends it
//   stopping()   STOPPING=1: when a graceful stop starts
//   watchdog()   WATCHDOG=1: see SystemdWatchdog
// Every call is thread-safe, never blocks, never throws, and is a no-op when
// enabled() is false. Move-only (it owns the datagram socket).
class SystemdNotifier {
public:
    SystemdNotifier() = default;  // disabled
    // Reads NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID and unsets them, so that
    // the processes ringlbd starts (VRRP notify scripts) do not inherit them. Call
    // from main() before any other thread exists (unsetenv is not thread-safe).
    static SystemdNotifier from_environment();
    // A notifier for an explicit socket and watchdog interval, or why there is none.
    static Result<SystemdNotifier> for_socket(std::string_view notify_socket, int64_t watchdog_interval_ms);

    bool enabled() const { return fd_.valid(); }
    // 0: no watchdog requested.
    int64_t watchdog_interval_ms() const { return enabled() ? watchdog_interval_ms_ : 0; }

    void ready(std::string_view status = {}) const;
    void reloading() const;
    void stopping() const;
    void watchdog() const;
    // Any message, "KEY=VALUE" lines; returns false when it could not be sent.
    bool send(std::string_view message) const;

private:
    UniqueFd fd_;
    NotifyAddress address_{};
    int64_t watchdog_interval_ms_ = 0;
};

// Pings systemd's watchdog every watchdog_interval_ms() from its own thread, but
// only while ProgressGate says every worker made progress; logs which worker
// stalled (rate-limited to one line per look). Workers bump their heartbeat at
// least every 100 ms (tick), so an idle daemon still progresses.
class SystemdWatchdog {
public:
    // heartbeats: one value per worker, e.g. Worker::heartbeat(); called from the
    // watchdog thread, so it must be thread-safe (the heartbeats are atomics).
    SystemdWatchdog(const SystemdNotifier& notifier, std::function<std::vector<uint64_t>()> heartbeats);
    ~SystemdWatchdog();
    SystemdWatchdog(const SystemdWatchdog&) = delete;
    SystemdWatchdog& operator=(const SystemdWatchdog&) = delete;

    // Starts the thread; does nothing when the notifier has no watchdog.
    void start();
    // Stops and joins the thread; idempotent.
    void stop();

private:
    void run();

    const SystemdNotifier& notifier_;
    std::function<std::vector<uint64_t>()> heartbeats_;
    std::mutex mutex_;
    std::condition_variable wake_;
    bool stopping_ = false;
    std::thread thread_;
};

}  // namespace ringlb
