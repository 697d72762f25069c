// The process: builds runtime snapshots from configs (opening listening
// sockets, keeping backend state across reloads), runs the workers, and turns
// signals into reload and graceful stop.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/base/result.h"
#include "core/config/config.h"
#include "core/config/config_store.h"
#include "core/control/control_commands.h"
#include "core/daemon/progress_gate.h"
#include "core/daemon/reload_plan.h"
#include "core/daemon/sd_notify.h"
#include "core/forward/access_log.h"
#include "core/forward/worker.h"
#include "core/health/health_checker.h"
#include "core/runtime/runtime.h"
#include "vrrp/vrrp_runner.h"

namespace ringlb {

class ControlServer;

struct DaemonStatus {
    std::string version;
    int64_t uptime_ms = 0;
    int workers = 0;
    std::string config_path;
    size_t listeners_bound = 0;  // in the running snapshot
};

class Daemon {
public:
    // `config` is what `store` loaded; changes made through the control socket
    // are written back through the store. `state_file`: where VRRP records the VIPs
    // it holds ("" for nowhere).
    Daemon(std::shared_ptr<ConfigStore> store, std::shared_ptr<const Config> config, std::string state_file = {});
    ~Daemon();

    // Runs until SIGTERM/SIGINT and the shutdown grace; returns the exit code.
    // Signals must be blocked in every thread before this is called (block_signals).
    int run();

    // Re-reads the config file; an invalid file is logged and changes nothing.
    // Fails with why it was refused (every FILE:LINE error, one per line); on success
    // says what became of every changed setting (also logged, one line each).
    // Thread-safe.
    Result<ReloadPlan> reload();

    // Applies `next` live: listeners with an unchanged bind keep their sockets,
    // new ones bind, removed ones stop accepting, backend changes apply to new
    // connections. Strict: if any new listener cannot bind, nothing changes and
    // the failure names it ("bind 192.0.2.100:80: Address already in use").
    // [vrrp.*] changes go to the VRRP thread, which applies them or refuses them all
    // (then nothing changes). `plan`, when given, receives what became of every
    // changed setting. Thread-safe (control thread, signal thread).
    Result<void> apply_config(std::shared_ptr<const Config> next, ReloadPlan* plan = nullptr);

    std::shared_ptr<const RuntimeSnapshot> snapshot() const { return snapshots_.load(); }
    std::shared_ptr<const Config> config() const;
    DaemonStatus status() const;

    static void block_signals();

private:
    // What a listener that cannot bind does to the snapshot being built.
    enum class OnBindFailure {
        kRefuseAll,     // the whole snapshot fails, naming the listener (a reload or change)
        kSkipListener,  // logged, and the others are served (start-up)
    };
    Result<std::shared_ptr<const RuntimeSnapshot>> build_snapshot(std::shared_ptr<const Config> config,
                                                                  const RuntimeSnapshot* previous,
                                                                  OnBindFailure on_bind_failure);
    // One heartbeat counter per worker, in worker order (thread-safe: atomics).
    std::vector<uint64_t> worker_heartbeats() const;
    void stop();
    // Shuts down the listening sockets of `old` that `next` does not keep (all of
    // them when next is null).
    static void shutdown_listeners(const RuntimeSnapshot& old, const RuntimeSnapshot* next);
    // What the control commands see of this daemon (control thread).
    ControlContext control_context();
    std::string metrics_page() const;
    // Main thread, every ~200 ms: Maglev tables follow backend health; VRRP
    // learns which tracked listeners have a healthy backend and whether every
    // worker still makes progress.
    void periodic(int64_t now_ms);
    nlohmann::json vrrp_status_json() const;
    // The [vrrp.*] sections of a new config: the running VRRP thread applies them, or
    // the first sections start it. Under mutex_.
    Result<void> apply_vrrp(const std::vector<VrrpInstanceConfig>& next);

    std::string config_path_;
    std::string state_file_;                   // VRRP's record of the VIPs held
    mutable std::mutex mutex_;                 // serialises config changes; guards config_
    std::shared_ptr<const Config> config_;
    int worker_count_ = 1;
    int64_t started_ms_ = 0;
    uint64_t next_version_ = 1;
    SnapshotHolder snapshots_;
    std::unique_ptr<AccessLog> access_log_;   // declared before workers_: outlives them
    std::vector<std::unique_ptr<Worker>> workers_;
    std::unique_ptr<HealthChecker> health_;   // follows snapshots_ on its own thread
    std::shared_ptr<ConfigStore> store_;      // the file: reload and ringlbctl's changes
    std::unique_ptr<ControlServer> control_;  // control socket and metrics, own thread
    std::unique_ptr<VrrpRunner> vrrp_;        // VRRP instances, own thread; null without [vrrp.*]
    // vrrp_ for the threads that do not hold mutex_: a reload may start the runner.
    std::atomic<VrrpRunner*> vrrp_live_{nullptr};
    RestartOnlySettings restart_only_;        // what only a restart changes, as running
    std::unique_ptr<ProgressGate> progress_;  // worker heartbeats, looked at once a second
    int64_t next_progress_look_ms_ = 0;
    bool workers_stuck_ = false;
    // systemd (Type=notify, WatchdogSec): declared last so that the watchdog thread,
    // which reads the workers' heartbeats, is destroyed first.
    SystemdNotifier notifier_ = SystemdNotifier::from_environment();
    std::unique_ptr<SystemdWatchdog> watchdog_;
};

int resolve_worker_count(int configured);

}  // namespace ringlb
