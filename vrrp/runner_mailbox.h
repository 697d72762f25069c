// What crosses between the daemon's threads and the VRRP thread: the daemon's inputs
// (tracking, a stuck forwarder, stop) in, the status snapshot out, under one mutex, and
// an eventfd that wakes the VRRP thread when an input changes.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/base/result.h"
#include "core/base/unique_fd.h"
#include "vrrp/runner_status.h"

namespace ringlb {

// The daemon's inputs as the VRRP thread reads them, all at once.
struct RunnerInputs {
    std::vector<std::pair<std::string, bool>> tracking;  // listener → has a healthy backend
    bool forwarder_stuck = false;
    bool stop = false;
};

class RunnerMailbox {
public:
    // The status shown until the VRRP thread publishes its own.
    explicit RunnerMailbox(std::vector<VrrpInstanceStatus> status) : status_(std::move(status)) {}

    // Creates the eventfd; throws std::runtime_error when it cannot. Inputs set before
    // this only take effect at the VRRP thread's start.
    void open_wake_fd();
    int wake_fd() const { return wake_fd_.get(); }
    // Empties the eventfd after it woke the VRRP thread.
    void drain_wake() const;

    // Any thread. Each wakes the VRRP thread when the value changed.
    void set_tracking(const std::string& listener, bool has_healthy_backend);
    void set_forwarder_stuck(bool stuck);
    void request_stop();

    // Daemon thread (reload): hands the VRRP thread the new instance list, as configured,
    // and waits up to `timeout` for its answer: applied, or why nothing changed. One
    // request at a time (the daemon serialises reloads).
    Result<void> reconfigure(std::vector<VrrpInstanceConfig> next, std::chrono::milliseconds timeout);

    // VRRP thread: the list waiting to be applied, once; then answer_reconfigure.
    std::optional<std::vector<VrrpInstanceConfig>> take_reconfigure();
    void answer_reconfigure(Result<void> outcome);

    // VRRP thread.
    RunnerInputs inputs() const;
    void publish(std::vector<VrrpInstanceStatus> status);
    // The thread died: see mark_thread_failed.
    void publish_thread_failed(const std::string& why);

    // Any thread: the latest snapshot, in configuration order.
    std::vector<VrrpInstanceStatus> status() const;

private:
    void wake() const;

    mutable std::mutex mutex_;
    RunnerInputs inputs_;
    std::optional<std::vector<VrrpInstanceConfig>> reconfigure_;  // waiting for the VRRP thread
    std::optional<Result<void>> reconfigured_;                     // its answer
    std::string thread_failed_;                                    // set once the thread died
    std::condition_variable answered_;
    std::vector<VrrpInstanceStatus> status_;
    UniqueFd wake_fd_;
};

}  // namespace ringlb
