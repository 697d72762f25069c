// Test driver for tests/netns/test_vrrp.py: runs VrrpRunner for the [vrrp.NAME] sections
// of a ringlb.conf without the forwarder, prints every status change on stdout, takes
// daemon inputs on stdin, and stops gracefully on SIGTERM/SIGINT.
//   vrrp_driver -c FILE [--log-level LEVEL] [--max-seconds N]
//                                               run until SIGTERM (or N seconds: a test
//                                               that dies cannot leave it running forever)
//   vrrp_driver -c FILE --release               what `ringlbd --release` does, after a line
//                                               "releasing t=SECONDS" (the process is up)
// stdin commands: "track LISTENER 0|1", "stuck 0|1", "status", "dropped".
// stdout lines:   "started", "status NAME STATE prio=P master=M transitions=N sent=N
//                 received=N t=SECONDS reason=TEXT" (t is CLOCK_MONOTONIC, reason the last
//                 transition's, to the end of the line), "stopped", "released N",
//                 "dropped NAME received=N {JSON}" (JSON: AdvertVerdict text -> packets
//                 dropped for it, only those seen; test_vrrp_garbage.py reads it).
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <sstream>
#include <string>
#include <vector>

#include "core/base/log.h"
#include "core/config/config_parse.h"
#include "vrrp/vrrp_check.h"
#include "vrrp/vrrp_runner.h"

namespace {

using ringlb::VrrpRunner;

double monotonic_seconds() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return double(ts.tv_sec) + double(ts.tv_nsec) / 1e9;
}

// "t=SECONDS", CLOCK_MONOTONIC: the test's time.monotonic(), shared by every namespace.
std::string time_field() {
    char t[32];
    std::snprintf(t, sizeof t, "t=%.6f", monotonic_seconds());
    return t;
}

std::string status_line(const VrrpRunner::InstanceStatus& s) {
    return "status " + s.name + " " + ringlb::to_string(s.state) + " prio=" + std::to_string(s.priority) +
           " master=" + (s.master.empty() ? "-" : s.master) + " transitions=" + std::to_string(s.transitions) +
           " sent=" + std::to_string(s.adverts_sent) + " received=" + std::to_string(s.adverts_received) + " " +
           time_field() + " reason=" + s.last_transition;
}

// Verdict names are fixed strings without quotes or backslashes: no escaping needed.
std::string dropped_line(const VrrpRunner::InstanceStatus& s) {
    std::string json = "{";
    for (size_t v = 0; v < s.dropped.size(); ++v) {
        if (s.dropped[v] == 0) continue;
        if (json.size() > 1) json += ",";
        json += "\"" + std::string(ringlb::to_string(ringlb::AdvertVerdict(v))) + "\":" + std::to_string(s.dropped[v]);
    }
    return "dropped " + s.name + " received=" + std::to_string(s.adverts_received) + " " + json + "}";
}

void print(const std::string& line) {
    std::fputs((line + "\n").c_str(), stdout);
    std::fflush(stdout);
}

// Applies one stdin command; returns false for a malformed one.
bool handle_command(VrrpRunner& runner, const std::string& line) {
    std::istringstream words(line);
    std::string verb;
    words >> verb;
    if (verb == "track") {
        std::string listener;
        int healthy = -1;
        words >> listener >> healthy;
        if (listener.empty() || (healthy != 0 && healthy != 1)) return false;
        runner.set_tracking(listener, healthy == 1);
    } else if (verb == "stuck") {
        int stuck = -1;
        words >> stuck;
        if (stuck != 0 && stuck != 1) return false;
        runner.set_forwarder_stuck(stuck == 1);
    } else if (verb == "status") {
        for (const auto& s : runner.status()) print(status_line(s));
    } else if (verb == "dropped") {
        for (const auto& s : runner.status()) print(dropped_line(s));
    } else if (!verb.empty()) {
        return false;
    }
    return true;
}

int run(const std::string& config_path, bool release, const std::string& log_level, double max_seconds) {
    ringlb::init_logging(log_level);
    auto parsed = ringlb::load_config_file(config_path);
    if (!parsed.ok()) {
        for (const auto& error : parsed.errors) std::fprintf(stderr, "%s\n", error.to_string().c_str());
        return 1;
    }
    const ringlb::Config& config = *parsed.config;
    if (release) {
        // Process start-up (slow under a sanitizer) is not part of what a release takes.
        print("releasing " + time_field());
        print("released " + std::to_string(ringlb::release_vips(config.vrrp)));
        return 0;
    }
    auto errors = ringlb::check_vrrp_interfaces(config);
    auto script_errors = ringlb::check_vrrp_notify_scripts(config);
    errors.insert(errors.end(), script_errors.begin(), script_errors.end());
    if (!errors.empty()) {
        for (const auto& error : errors) std::fprintf(stderr, "%s\n", error.to_string().c_str());
        return 1;
    }

    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
    const int signal_fd = signalfd(-1, &stop_signals, SFD_CLOEXEC);
    if (signal_fd < 0) {
        std::perror("signalfd");
        return 1;
    }

    VrrpRunner runner(config.vrrp);
    try {
        runner.start();
    } catch (const std::exception& failure) {
        std::fprintf(stderr, "vrrp_driver: %s\n", failure.what());
        return 1;
    }
    print("started");

    std::vector<std::string> last;
    std::string pending;
    bool stdin_open = true;
    const double give_up = max_seconds > 0 ? monotonic_seconds() + max_seconds : 0;
    for (;;) {
        if (give_up > 0 && monotonic_seconds() >= give_up) {
            print("max-seconds reached");
            break;
        }
        // Status lines as soon as they change, within 5 ms: the test times failovers by them.
        auto now = runner.status();
        for (size_t i = 0; i < now.size(); ++i) {
            std::string key = now[i].name + ringlb::to_string(now[i].state) + std::to_string(now[i].priority) +
                              now[i].master + std::to_string(now[i].transitions);
            if (last.size() <= i) last.resize(i + 1);
            if (key != last[i]) print(status_line(now[i]));
            last[i] = key;
        }
        pollfd fds[2] = {{signal_fd, POLLIN, 0}, {stdin_open ? 0 : -1, POLLIN, 0}};
        if (::poll(fds, 2, 5) < 0 && errno != EINTR) {
            std::perror("poll");
            break;
        }
        if (fds[0].revents & POLLIN) break;
        if (fds[1].revents & (POLLIN | POLLHUP)) {
            char buffer[512];
            const ssize_t n = ::read(0, buffer, sizeof buffer);
            if (n <= 0) {
                stdin_open = false;
            } else {
                pending.append(buffer, size_t(n));
                for (size_t end; (end = pending.find('\n')) != std::string::npos;) {
                    const std::string line = pending.substr(0, end);
                    pending.erase(0, end + 1);
                    print(handle_command(runner, line) ? "ok " + line : "bad command: " + line);
                }
            }
        }
    }
    runner.stop_graceful();
    for (const auto& s : runner.status()) print(status_line(s));
    print("stopped");
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    std::string config_path;
    std::string log_level = "info";
    bool release = false;
    double max_seconds = 0;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if ((arg == "-c" || arg == "--config") && i + 1 < argc) config_path = argv[++i];
        else if (arg == "--log-level" && i + 1 < argc) log_level = argv[++i];
        else if (arg == "--release") release = true;
        else if (arg == "--max-seconds" && i + 1 < argc) max_seconds = std::atof(argv[++i]);
        else {
            std::fprintf(stderr, "usage: %s -c FILE [--release] [--log-level LEVEL] [--max-seconds N]\n", argv[0]);
            return 2;
        }
    }
    if (config_path.empty()) {
        std::fprintf(stderr, "usage: %s -c FILE [--release] [--log-level LEVEL] [--max-seconds N]\n", argv[0]);
        return 2;
    }
    try {
        return run(config_path, release, log_level, max_seconds);
    } catch (const std::exception& failure) {
        std::fprintf(stderr, "vrrp_driver: %s\n", failure.what());
        return 1;
    }
}
