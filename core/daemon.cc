#include "core/daemon.h"

#include <sched.h>
#include <signal.h>

#include <cstring>

#include "core/config_parse.h"
#include "core/listener_socket.h"
#include "core/log.h"
#include "core/sched_source_hash.h"
#include "core/version.h"

namespace ringlb {

int resolve_worker_count(int configured) {
    if (configured > 0) return configured;
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0) return CPU_COUNT(&set);
    return 1;
}

Daemon::Daemon(std::string config_path, std::shared_ptr<const Config> config)
    : config_path_(std::move(config_path)), config_(std::move(config)) {
    worker_count_ = resolve_worker_count(config_->global.workers);
}

Daemon::~Daemon() = default;

void Daemon::block_signals() {
    sigset_t set;
    sigemptyset(&set);
    for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGUSR1}) sigaddset(&set, sig);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    signal(SIGPIPE, SIG_IGN);
}

std::shared_ptr<const RuntimeSnapshot> Daemon::build_snapshot(std::shared_ptr<const Config> config,
                                                              const RuntimeSnapshot* previous, bool strict,
                                                              std::string* failure) {
    auto snapshot = std::make_shared<RuntimeSnapshot>();
    snapshot->config = config;
    snapshot->version = next_version_++;
    for (const ListenerConfig& lc : config->listeners) {
        const ListenerEntry* old_by_name = previous ? previous->find(lc.name) : nullptr;
        std::shared_ptr<ListenerSockets> sockets;
        if (previous) {
            for (const ListenerEntry& old : previous->listeners)
                if (old.sockets->bind == lc.bind) sockets = old.sockets;  // same address: keep its sockets
        }
        if (!sockets) {
            std::string error;
            sockets = open_listener_sockets(lc.bind, worker_count_, &error);
            if (!sockets) {
                if (strict) {
                    *failure = "listener " + lc.name + ": " + error;
                    return nullptr;
                }
                spdlog::error("listener {}: {}: not serving this listener", lc.name, error);
                continue;
            }
            spdlog::info("listener {} bound on {} ({} sockets, SO_REUSEPORT)", lc.name, lc.bind.to_string(),
                         worker_count_);
        }
        auto runtime = std::make_shared<ListenerRuntime>();
        runtime->config = lc;
        runtime->stats = old_by_name ? old_by_name->runtime->stats : std::make_shared<ListenerStats>(worker_count_);
        for (const BackendConfig& bc : lc.backends) {
            std::shared_ptr<BackendState> state;
            if (old_by_name)
                for (const BackendRef& old : old_by_name->runtime->backends)
                    if (old.config.address == bc.address) state = old.state;
            if (!state) state = std::make_shared<BackendState>(bc.address);
            runtime->backends.push_back({bc, state});
        }
        if (lc.scheduler == SchedulerKind::kSourceHash) runtime->maglev = build_listener_maglev(lc);
        snapshot->listeners.push_back({runtime, sockets});
    }
    return snapshot;
}

std::string Daemon::reload() {
    ConfigParseResult result = load_config_file(config_path_);
    if (!result.ok()) {
        std::string why;
        for (const ConfigError& error : result.errors) {
            spdlog::error("reload refused: {}", error.to_string());
            why += (why.empty() ? "" : "\n") + error.to_string();
        }
        spdlog::error("reload refused: {} error(s); the running configuration stays", result.errors.size());
        return why;
    }
    std::string error = apply_config(result.config);
    if (error.empty()) spdlog::info("reloaded {}: {} listener(s)", config_path_, result.config->listeners.size());
    else spdlog::error("reload refused: {}; the running configuration stays", error);
    return error;
}

std::string Daemon::apply_config(std::shared_ptr<const Config> next) {
    std::lock_guard lock(mutex_);
    auto previous = snapshots_.load();
    if (!previous) return "ringlbd is stopping";
    std::string error;
    auto snapshot = build_snapshot(next, previous.get(), true, &error);
    if (!snapshot) return error;
    try {
        set_log_level(next->global.log_level);
    } catch (const std::exception&) {
        // The parser only accepts known levels; nothing to do.
    }
    snapshots_.store(snapshot);
    config_ = next;
    for (auto& worker : workers_) worker->request_reload();
    return "";
}

std::shared_ptr<const Config> Daemon::config() const {
    std::lock_guard lock(mutex_);
    return config_;
}

DaemonStatus Daemon::status() const {
    auto snapshot = snapshots_.load();
    return DaemonStatus{RINGLB_VERSION, monotonic_ms() - started_ms_, worker_count_, config_path_,
                        snapshot ? snapshot->listeners.size() : 0};
}

void Daemon::stop() {
    {
        std::lock_guard lock(mutex_);
        snapshots_.store(nullptr);
    }
    spdlog::info("stopping: no new connections; live ones may finish within {} ms",
                 config_->global.shutdown_grace.count());
    for (auto& worker : workers_) worker->request_stop(config_->global.shutdown_grace.count());
    for (auto& worker : workers_) worker->join();
    spdlog::info("stopped");
}

int Daemon::run() {
    spdlog::info("ringlbd {} starting: config {}, {} worker(s)", RINGLB_VERSION, config_path_, worker_count_);
    started_ms_ = monotonic_ms();
    std::string unused;
    snapshots_.store(build_snapshot(config_, nullptr, false, &unused));
    for (int i = 0; i < worker_count_; ++i) {
        workers_.push_back(std::make_unique<Worker>(i, snapshots_, WorkerOptions{}));
        workers_.back()->start();
    }
    sigset_t set;
    sigemptyset(&set);
    for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGUSR1}) sigaddset(&set, sig);
    for (;;) {
        int sig = sigwaitinfo(&set, nullptr);
        if (sig == SIGHUP) {
            spdlog::info("SIGHUP: reloading {}", config_path_);
            reload();
        } else if (sig == SIGTERM || sig == SIGINT) {
            spdlog::info("{}: shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT");
            stop();
            return 0;
        }
    }
}

}  // namespace ringlb
