// The VRRP runner's cross-thread inputs and status; see runner_mailbox.h.
#include "vrrp/runner_mailbox.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <utility>

namespace ringlb {

void RunnerMailbox::open_wake_fd() {
    wake_fd_ = UniqueFd(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
    if (!wake_fd_) throw std::runtime_error(std::string("vrrp: eventfd: ") + std::strerror(errno));
}

void RunnerMailbox::drain_wake() const {
    uint64_t count = 0;
    [[maybe_unused]] ssize_t n = ::read(wake_fd_.get(), &count, sizeof count);
}

void RunnerMailbox::wake() const {
    if (!wake_fd_) return;  // not started: the thread reads the inputs when it starts
    const uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(wake_fd_.get(), &one, sizeof one);
}

void RunnerMailbox::set_tracking(const std::string& listener, bool has_healthy_backend) {
    {
        std::lock_guard lock(mutex_);
        auto& tracking = inputs_.tracking;
        auto it = std::find_if(tracking.begin(), tracking.end(), [&](const auto& entry) { return entry.first == listener; });
        if (it == tracking.end()) tracking.emplace_back(listener, has_healthy_backend);
        else if (it->second == has_healthy_backend) return;
        else it->second = has_healthy_backend;
    }
    wake();
}

void RunnerMailbox::set_forwarder_stuck(bool stuck) {
    {
        std::lock_guard lock(mutex_);
        if (inputs_.forwarder_stuck == stuck) return;
        inputs_.forwarder_stuck = stuck;
    }
    wake();
}

void RunnerMailbox::request_stop() {
    {
        std::lock_guard lock(mutex_);
        inputs_.stop = true;
    }
    wake();
}

RunnerInputs RunnerMailbox::inputs() const {
    std::lock_guard lock(mutex_);
    return inputs_;
}

void RunnerMailbox::publish(std::vector<VrrpInstanceStatus> status) {
    std::lock_guard lock(mutex_);
    status_ = std::move(status);
}

void RunnerMailbox::publish_thread_failed(const std::string& why) {
    {
        std::lock_guard lock(mutex_);
        mark_thread_failed(status_, why);
        thread_failed_ = why.empty() ? "failed" : why;
    }
    answered_.notify_all();
}

Result<void> RunnerMailbox::reconfigure(std::vector<VrrpInstanceConfig> next, std::chrono::milliseconds timeout) {
    {
        std::unique_lock lock(mutex_);
        if (!thread_failed_.empty()) return fail("vrrp: the VRRP thread has stopped (" + thread_failed_ + ")");
        if (inputs_.stop) return fail("vrrp: stopping");
        reconfigure_ = std::move(next);
        reconfigured_.reset();
    }
    wake();
    std::unique_lock lock(mutex_);
    const bool answered = answered_.wait_for(lock, timeout, [&] { return reconfigured_ || !thread_failed_.empty(); });
    if (reconfigured_) {
        Result<void> outcome = std::move(*reconfigured_);
        reconfigured_.reset();
        return outcome;
    }
    // Not taken yet: withdrawn, so that it is not applied behind the caller's back.
    const bool withdrawn = reconfigure_.has_value();
    reconfigure_.reset();
    if (!thread_failed_.empty()) return fail("vrrp: the VRRP thread has stopped (" + thread_failed_ + ")");
    (void)answered;
    return fail(withdrawn ? "vrrp: the VRRP thread did not take the new instances within " +
                                std::to_string(timeout.count()) + " ms; nothing changed"
                          : "vrrp: the VRRP thread did not finish applying the new instances within " +
                                std::to_string(timeout.count()) + " ms; see the log for what it did");
}

std::optional<std::vector<VrrpInstanceConfig>> RunnerMailbox::take_reconfigure() {
    std::lock_guard lock(mutex_);
    return std::exchange(reconfigure_, std::nullopt);
}

void RunnerMailbox::answer_reconfigure(Result<void> outcome) {
    {
        std::lock_guard lock(mutex_);
        reconfigured_ = std::move(outcome);
    }
    answered_.notify_all();
}

std::vector<VrrpInstanceStatus> RunnerMailbox::status() const {
    std::lock_guard lock(mutex_);
    return status_;
}

}  // namespace ringlb
