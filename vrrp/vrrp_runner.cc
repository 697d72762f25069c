// The daemon's handle on the VRRP thread; see vrrp_runner.h.
#include "vrrp/vrrp_runner.h"

#include <stdexcept>

#include "vrrp/runner_loop.h"
#include "vrrp/runner_mailbox.h"

namespace ringlb {
namespace {

std::vector<VrrpInstanceStatus> initial_statuses(const std::vector<VrrpInstanceConfig>& configs) {
    std::vector<VrrpInstanceStatus> status;
    for (const auto& config : configs) status.push_back(initial_status(config));
    return status;
}

}  // namespace

VrrpRunner::VrrpRunner(std::vector<VrrpInstanceConfig> instances, std::string state_file)
    : configs_(std::move(instances)), state_file_(std::move(state_file)), mailbox_(std::make_unique<RunnerMailbox>(initial_statuses(configs_))) {}

VrrpRunner::~VrrpRunner() { stop_graceful(); }

void VrrpRunner::start() {
    if (started_) throw std::logic_error("VrrpRunner::start called twice");
    started_ = true;
    mailbox_->open_wake_fd();
    loop_ = std::make_unique<RunnerLoop>(configs_, *mailbox_, steady_clock_now, state_file_);
    try {
        loop_->setup();  // here, so that every setup error is an exception for the caller
    } catch (...) {
        loop_.reset();
        stopped_ = true;
        throw;
    }
    thread_ = std::thread([loop = loop_.get()] { loop->run(); });
}

std::vector<Ipv4> VrrpRunner::stop_graceful() {
    if (!started_ || stopped_) return {};
    stopped_ = true;
    mailbox_->request_stop();
    if (thread_.joinable()) thread_.join();
    std::vector<Ipv4> released = loop_->released_at_stop();  // the thread is gone: no race
    loop_.reset();
    return released;
}

Result<void> VrrpRunner::reconfigure(std::vector<VrrpInstanceConfig> instances) {
    if (!started_ || stopped_) return fail("vrrp: not running");
    return mailbox_->reconfigure(std::move(instances), std::chrono::milliseconds(5000));
}

void VrrpRunner::set_tracking(const std::string& listener, bool has_healthy_backend) {
    mailbox_->set_tracking(listener, has_healthy_backend);
}

void VrrpRunner::set_forwarder_stuck(bool stuck) { mailbox_->set_forwarder_stuck(stuck); }

std::vector<VrrpInstanceStatus> VrrpRunner::status() const { return mailbox_->status(); }

}  // namespace ringlb
