// Daemon: snapshots built from configs, the threads that serve them, and the main
// thread's signal loop (reload, access log reopen, graceful stop).
#include "core/daemon/daemon.h"

#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <random>

#include "core/base/log.h"
#include "core/base/version.h"
#include "core/config/config_parse.h"
#include "core/control/control_server.h"
#include "core/control/metrics_http.h"
#include "core/forward/listener_socket.h"
#include "core/forward/source_limiter.h"
#include "core/runtime/drain.h"
#include "core/sched/sched_source_hash.h"
#include "vrrp/instance_reload_plan.h"
#include "vrrp/vrrp_check.h"

namespace ringlb {

namespace {

// Source-hash listeners: the Maglev tables follow which backends are healthy now.
bool refresh_listener_maglev(const ListenerRuntime& listener) {
    if (!listener.maglev) return false;
    std::vector<bool> available(listener.backends.size());
    for (size_t i = 0; i < listener.backends.size(); ++i)
        available[i] = listener.backends[i].state->healthy.load(std::memory_order_relaxed);
    return refresh_maglev(*listener.maglev, listener.config, available);
}

constexpr long kPeriodicMs = 200;
constexpr int64_t kProgressLookMs = 2000;  // a worker ticks every 100 ms even when idle

// The signals the main thread takes with sigtimedwait; blocked in every thread.
sigset_t handled_signals() {
    sigset_t set;
    sigemptyset(&set);
    for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGUSR1}) sigaddset(&set, sig);
    return set;
}

}  // namespace

int resolve_worker_count(int configured) {
    if (configured > 0) return configured;
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0) return CPU_COUNT(&set);
    return 1;
}

Daemon::Daemon(std::shared_ptr<ConfigStore> store, std::shared_ptr<const Config> config, std::string state_file)
    : config_path_(store->path()), state_file_(std::move(state_file)), config_(std::move(config)), store_(std::move(store)) {
    worker_count_ = resolve_worker_count(config_->global.workers);
    restart_only_ = {worker_count_, config_->global};
    access_log_ = std::make_unique<AccessLog>(worker_count_);
}

Daemon::~Daemon() = default;

void Daemon::block_signals() {
    const sigset_t set = handled_signals();
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    signal(SIGPIPE, SIG_IGN);
}

Result<std::shared_ptr<const RuntimeSnapshot>> Daemon::build_snapshot(std::shared_ptr<const Config> config,
                                                                      const RuntimeSnapshot* previous,
                                                                      OnBindFailure on_bind_failure) {
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
            Result<std::shared_ptr<ListenerSockets>> opened = open_listener_sockets(lc.bind, worker_count_);
            if (opened) sockets = std::move(*opened);
            if (!sockets) {
                if (on_bind_failure == OnBindFailure::kRefuseAll) return fail("listener " + lc.name + ": " + opened.error());
                spdlog::error("listener {}: {}: not serving this listener", lc.name, opened.error());
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
        if (lc.scheduler == SchedulerKind::kSourceHash)
            runtime->maglev = std::make_shared<MaglevSlot>(build_listener_maglev(lc));
        if (lc.max_conn_per_source != 0 || lc.rate_per_source != 0) {
            // Kept by name, like stats, so a reload keeps each client's open
            // connections and bucket; the limits themselves come from this config.
            runtime->source_limiter = old_by_name ? old_by_name->runtime->source_limiter : nullptr;
            if (!runtime->source_limiter) {
                std::random_device random;
                uint64_t seed = (uint64_t(random()) << 32) ^ random();
                runtime->source_limiter = std::make_shared<SourceLimiter>(SourceLimiter::kDefaultMaxSources, seed);
            }
        }
        if (!lc.allow.empty() || !lc.deny.empty()) runtime->access = std::make_shared<AccessRules>(lc.allow, lc.deny);
        if (lc.accept_proxy != AcceptProxy::kOff) runtime->proxy_from = std::make_shared<PrefixSet>(lc.accept_proxy_from);
        snapshot->listeners.push_back({runtime, sockets});
    }
    return std::shared_ptr<const RuntimeSnapshot>(std::move(snapshot));
}

Result<ReloadPlan> Daemon::reload() {
    notifier_.reloading();
    // A refused file leaves the running configuration: ready again either way.
    struct ReadyAgain {
        const SystemdNotifier& notifier;
        ~ReadyAgain() { notifier.ready(); }
    } ready_again{notifier_};
    // Through the store, so that its copy of the file stays the one running.
    ReloadPlan plan;
    Result<void> reloaded =
        store_->reload([this, &plan](std::shared_ptr<const Config> next) { return apply_config(next, &plan); });
    if (reloaded) {
        spdlog::info("reloaded {}: {} listener(s); {} setting(s) changed, {} not applied until a restart",
                     config_path_, config()->listeners.size(), plan.items.size(),
                     plan.count(ReloadOutcome::kNeedsRestart));
        return plan;
    }
    const std::string& error = reloaded.error();
    size_t start = 0;
    while (start < error.size()) {
        size_t end = error.find('\n', start);
        if (end == std::string::npos) end = error.size();
        spdlog::error("reload refused: {}", error.substr(start, end - start));
        start = end + 1;
    }
    spdlog::error("reload refused; the running configuration stays");
    return fail(reloaded.error());
}

Result<void> Daemon::apply_config(std::shared_ptr<const Config> next, ReloadPlan* plan) {
    // As --check and start-up: a vip that is a static address of the host, or a notify
    // script root alone does not control, is refused (docs/security.md).
    std::vector<ConfigError> refused = check_vrrp_static_vips(*next);
    std::ranges::move(check_vrrp_notify_scripts(*next), std::back_inserter(refused));
    if (!refused.empty()) {
        std::string why;
        for (const ConfigError& error : refused) why += (why.empty() ? "" : "\n") + error.to_string();
        return fail(why);
    }
    std::lock_guard lock(mutex_);
    auto previous = snapshots_.load();
    if (!previous) return fail("ringlbd is stopping");
    ReloadPlan changes = plan_reload(*config_, *next, restart_only_);
    auto built = build_snapshot(next, previous.get(), OnBindFailure::kRefuseAll);
    if (!built) return fail(built.error());
    // Last of what can fail: the VRRP thread applies all of it or nothing.
    const auto vrrp_steps = plan_instance_reload(config_->vrrp, next->vrrp);
    if (std::ranges::any_of(vrrp_steps, [](const auto& step) { return step.kind != InstanceReload::kKeep; }))
        if (Result<void> vrrp = apply_vrrp(next->vrrp); !vrrp) return fail(vrrp.error());
    std::shared_ptr<const RuntimeSnapshot> snapshot = std::move(*built);
    if (Result<void> level = set_log_level(next->global.log_level); !level)
        spdlog::error("{}; log level unchanged", level.error());  // the parser accepts only known levels
    shutdown_listeners(*previous, snapshot.get());
    publish_admin_states(*snapshot);  // drain/maint hold before any worker sees the snapshot
    follow_drains(*snapshot, previous.get(), monotonic_ms());  // drain_timeout counts from here
    snapshots_.store(snapshot);
    const std::vector<std::string> lines = reload_plan_lines(changes);
    for (size_t i = 0; i < lines.size(); ++i)
        spdlog::log(changes.items[i].outcome == ReloadOutcome::kNeedsRestart ? spdlog::level::warn : spdlog::level::info,
                    "config change: {}", lines[i]);
    config_ = next;
    for (auto& worker : workers_) worker->request_reload();
    if (Result<void> opened = access_log_->configure(next->global.access_log); !opened)
        spdlog::error("{}; access log off", opened.error());
    if (plan) *plan = std::move(changes);
    return {};
}

Result<void> Daemon::apply_vrrp(const std::vector<VrrpInstanceConfig>& next) {
    if (vrrp_) return vrrp_->reconfigure(next);
    if (next.empty()) return {};
    // The first [vrrp.*] sections: the runner starts as it would have at start-up.
    auto runner = std::make_unique<VrrpRunner>(next, state_file_);
    try {
        runner->start();
    } catch (const std::exception& failure) {
        return fail(failure.what());
    }
    vrrp_ = std::move(runner);
    vrrp_live_.store(vrrp_.get());
    return {};
}

void Daemon::shutdown_listeners(const RuntimeSnapshot& old, const RuntimeSnapshot* next) {
    for (const ListenerEntry& entry : old.listeners) {
        bool kept = false;
        if (next)
            for (const ListenerEntry& n : next->listeners) kept = kept || n.sockets == entry.sockets;
        if (kept) continue;
        // shutdown() works although io_uring still holds the sockets: accepts fail
        // with EINVAL and the kernel answers new SYNs with RST.
        for (const UniqueFd& fd : entry.sockets->per_worker) ::shutdown(fd.get(), SHUT_RDWR);
    }
}

std::vector<uint64_t> Daemon::worker_heartbeats() const {
    std::vector<uint64_t> heartbeats;
    heartbeats.reserve(workers_.size());
    for (const auto& worker : workers_) heartbeats.push_back(worker->heartbeat());
    return heartbeats;
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

ControlContext Daemon::control_context() {
    ControlContext context;
    context.config = [this] { return config(); };
    context.snapshot = [this] { return snapshot(); };
    context.status = [this] {
        DaemonStatus s = status();
        auto running = config();
        return nlohmann::json{
            {"version", s.version},
            {"pid", int64_t(::getpid())},
            {"uptime_ms", s.uptime_ms},
            {"workers", s.workers},
            {"config", s.config_path},
            {"listeners", running ? running->listeners.size() : 0},
            {"listeners_bound", s.listeners_bound},
            {"vrrp", vrrp_status_json()},
            {"access_log", {{"path", access_log_->path()},
                            {"lines", access_log_->lines_written()},
                            {"dropped", access_log_->lines_dropped()}}},
        };
    };
    context.update = [this](const ConfigStore::Change& change) {
        return store_->update(change, [this](std::shared_ptr<const Config> next) { return apply_config(next); });
    };
    context.reload = [this]() -> Result<nlohmann::json> {
        Result<ReloadPlan> plan = reload();
        if (!plan) return fail(plan.error());
        return nlohmann::json{{"changes", reload_plan_json(*plan)},
                              {"needs_restart", plan->count(ReloadOutcome::kNeedsRestart)}};
    };
    context.vrrp_status = [this] { return vrrp_status_json(); };
    return context;
}

void Daemon::periodic(int64_t now_ms) {
    auto snapshot = snapshots_.load();
    if (snapshot) {
        {
            // Under the config lock: a change that removes a backend marks it on the
            // snapshot it replaces, and this must not unmark it from a stale one.
            std::lock_guard lock(mutex_);
            if (auto current = snapshots_.load()) follow_drains(*current, nullptr, now_ms);  // agent's drain; drain's end
        }
        for (const ListenerEntry& entry : snapshot->listeners)
            if (refresh_listener_maglev(*entry.runtime))
                spdlog::info("listener {}: Maglev tables rebuilt for the backends now up",
                             entry.runtime->config.name);
    }
    if (now_ms >= next_progress_look_ms_) {
        next_progress_look_ms_ = now_ms + kProgressLookMs;
        bool stuck = !progress_->stalled(worker_heartbeats()).empty();
        if (stuck != workers_stuck_) {
            workers_stuck_ = stuck;
            if (stuck) spdlog::error("a worker made no progress for {} ms", kProgressLookMs);
            else spdlog::info("every worker makes progress again");
            if (VrrpRunner* vrrp = vrrp_live_.load()) vrrp->set_forwarder_stuck(stuck);
        }
    }
    if (VrrpRunner* vrrp = vrrp_live_.load(); vrrp && snapshot) {
        for (const VrrpInstanceConfig& instance : config()->vrrp) {
            if (instance.track_listener.empty()) continue;
            const ListenerEntry* entry = snapshot->find(instance.track_listener);
            bool healthy = false;
            if (entry)
                for (const BackendRef& backend : entry->runtime->backends)
                    healthy = healthy || backend.state->healthy.load(std::memory_order_relaxed);
            vrrp->set_tracking(instance.track_listener, healthy);
        }
    }
}

namespace {

// Only the reasons seen, so a clean instance shows {} and the table stays narrow.
nlohmann::json dropped_by_reason(const VrrpRunner::InstanceStatus& s) {
    nlohmann::json reasons = nlohmann::json::object();
    for (size_t v = 0; v < s.dropped.size(); ++v)
        if (s.dropped[v] > 0) reasons[to_label(AdvertVerdict(v))] = s.dropped[v];
    return reasons;
}

}  // namespace

nlohmann::json Daemon::vrrp_status_json() const {
    nlohmann::json instances = nlohmann::json::array();
    VrrpRunner* vrrp = vrrp_live_.load();
    if (!vrrp) return instances;
    for (const auto& s : vrrp->status()) {
        instances.push_back({{"name", s.name},
                             {"state", to_string(s.state)},
                             {"priority", s.priority},
                             {"master", s.master},
                             {"last_transition", s.last_transition},
                             {"transitions", s.transitions},
                             {"adverts_sent", s.adverts_sent},
                             {"adverts_received", s.adverts_received},
                             {"adverts_dropped", dropped_by_reason(s)}});
    }
    return instances;
}

std::string Daemon::metrics_page() const {
    auto snap = snapshot();
    MetricsExtras extras{RINGLB_VERSION, access_log_->lines_written(), access_log_->lines_dropped(), {}};
    if (VrrpRunner* vrrp = vrrp_live_.load())
        for (const auto& s : vrrp->status()) {
            VrrpMetric metric{s.name, int(s.state), uint64_t(s.transitions), s.adverts_sent, s.adverts_received, {}};
            for (size_t v = size_t(AdvertVerdict::kOk) + 1; v < s.dropped.size(); ++v)
                metric.dropped.emplace_back(to_label(AdvertVerdict(v)), s.dropped[v]);
            extras.vrrp.push_back(std::move(metric));
        }
    return format_metrics(snap.get(), extras);
}

void Daemon::stop() {
    notifier_.stopping();
    {
        std::lock_guard lock(mutex_);
        // Stop listening now, whoever still holds the snapshot: new clients are
        // refused instead of waiting in a backlog nobody accepts from.
        if (auto last = snapshots_.load()) shutdown_listeners(*last, nullptr);
        snapshots_.store(nullptr);
    }
    // RFC 9568 §6.4.3: a master leaving sends priority 0, so the backup takes
    // over after Skew_Time instead of Master_Down_Interval. The VIPs it gives up go
    // first; connections made to them cannot finish here and are reset by the workers.
    std::vector<uint32_t> released;
    if (vrrp_) released = vrrp_->stop_graceful();
    if (control_) control_->stop();
    spdlog::info("stopping: no new connections; live ones may finish within {} ms{}",
                 config_->global.shutdown_grace.count(),
                 released.empty() ? "" : ", those made to the VIPs released (" + format_ipv4_list(released) +
                                             ") are reset now");
    if (health_) health_->stop();
    for (auto& worker : workers_) worker->request_stop(config_->global.shutdown_grace.count(), released);
    for (auto& worker : workers_) worker->join();
    if (watchdog_) watchdog_->stop();
    access_log_->flush_all();  // the workers are gone: their last lines
    spdlog::info("stopped");
}

int Daemon::run() {
    spdlog::info("ringlbd {} starting: config {}, {} worker(s)", RINGLB_VERSION, config_path_, worker_count_);
    started_ms_ = monotonic_ms();
    if (Result<void> opened = access_log_->configure(config_->global.access_log); !opened)
        spdlog::error("{}; access log off", opened.error());
    // Before any listener binds: without its control socket ringlbd does not start.
    ControlServerOptions control_options;
    control_options.socket_path = config_->global.control_socket;
    control_options.metrics = config_->global.metrics;
    control_ = std::make_unique<ControlServer>(control_options, control_context(), [this] { return metrics_page(); });
    control_->open();
    // Skipping listeners that cannot bind, this build cannot fail.
    auto first = build_snapshot(config_, nullptr, OnBindFailure::kSkipListener).value();
    publish_admin_states(*first);
    snapshots_.store(first);
    WorkerOptions worker_options;
    worker_options.access_log = access_log_.get();
    // Clients that wait for a backend descriptor hold their own: together they may
    // hold at most a quarter of the table, so closing connections always free some.
    rlimit files{};
    worker_options.workers = static_cast<uint32_t>(worker_count_);
    if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur != RLIM_INFINITY) {
        worker_options.fd_limit = files.rlim_cur;
        worker_options.max_fd_waiters =
            static_cast<uint32_t>(std::max<rlim_t>(1, files.rlim_cur / (4 * rlim_t(worker_count_))));
    }
    for (int i = 0; i < worker_count_; ++i) {
        workers_.push_back(std::make_unique<Worker>(i, snapshots_, worker_options));
        workers_.back()->start();
    }
    health_ = std::make_unique<HealthChecker>(snapshots_);
    health_->start();
    if (!config_->vrrp.empty()) {
        // After the workers: a host that becomes master can forward at once.
        vrrp_ = std::make_unique<VrrpRunner>(config_->vrrp, state_file_);
        vrrp_->start();
        vrrp_live_.store(vrrp_.get());
    }
    control_->start();
    notifier_.ready(std::to_string(config()->listeners.size()) + " listener(s), " + std::to_string(worker_count_) +
                    " worker(s)");
    watchdog_ = std::make_unique<SystemdWatchdog>(notifier_, [this] { return worker_heartbeats(); });
    watchdog_->start();
    progress_ = std::make_unique<ProgressGate>(worker_heartbeats());
    next_progress_look_ms_ = monotonic_ms() + kProgressLookMs;
    const sigset_t set = handled_signals();
    const timespec period{0, kPeriodicMs * 1000000};
    for (;;) {
        int sig = sigtimedwait(&set, nullptr, &period);
        if (sig < 0) {
            periodic(monotonic_ms());
            continue;
        }
        if (sig == SIGHUP) {
            spdlog::info("SIGHUP: reloading {}", config_path_);
            (void)reload();  // it logs why a refused file is refused
        } else if (sig == SIGUSR1) {
            spdlog::info("SIGUSR1: reopening the access log");
            if (Result<void> reopened = access_log_->reopen(); !reopened)
                spdlog::error("{}; still writing to the old file", reopened.error());
        } else if (sig == SIGTERM || sig == SIGINT) {
            spdlog::info("{}: shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT");
            stop();
            return 0;
        }
    }
}

}  // namespace ringlb
