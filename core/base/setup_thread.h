// Threads that own an io_uring must create it on themselves (SINGLE_ISSUER and
// DEFER_TASKRUN tie a ring to its creator, a registered ring fd is per thread),
// yet the starter must learn whether that setup worked before it goes on.
#pragma once

#include <exception>
#include <future>
#include <stdexcept>
#include <string>
#include <thread>

namespace ringlb {

// Starts a thread that runs setup() and then run(). Returns the thread once
// setup() has returned; if it threw, the thread is joined and the error is
// rethrown as std::runtime_error("<label>: <what>").
template <class Setup, class Run>
std::thread start_thread_after_setup(const std::string& label, Setup setup, Run run) {
    std::promise<std::string> outcome;
    std::future<std::string> setup_done = outcome.get_future();
    std::thread thread([&outcome, setup = std::move(setup), run = std::move(run)]() mutable {
        try {
            setup();
        } catch (const std::exception& error) {
            outcome.set_value(error.what());
            return;
        }
        outcome.set_value("");
        run();
    });
    std::string error = setup_done.get();
    if (!error.empty()) {
        thread.join();
        throw std::runtime_error(label + ": " + error);
    }
    return thread;
}

}  // namespace ringlb
