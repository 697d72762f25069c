// The control commands of DESIGN §7 over a ControlContext.
#include "core/control/control_commands.h"

#include <algorithm>

#include "core/base/duration.h"
#include "core/base/log.h"
#include "core/config/config_names.h"
#include "core/config/config_parse.h"
#include "core/control/metrics_http.h"

namespace ringlb {

namespace {

using nlohmann::json;

std::string not_found(const std::string& name) { return "listener '" + name + "' not found"; }

std::string not_a_backend(const InetAddr& address, const std::string& listener) {
    return address.to_string() + " is not a backend of " + listener;
}

ListenerConfig* find_listener(Config& config, const std::string& name) {
    for (ListenerConfig& listener : config.listeners)
        if (listener.name == name) return &listener;
    return nullptr;
}

BackendConfig* find_backend(ListenerConfig& listener, const InetAddr& address) {
    for (BackendConfig& backend : listener.backends)
        if (backend.address == address) return &backend;
    return nullptr;
}

const BackendRef* find_backend_runtime(const ListenerEntry* entry, const InetAddr& address) {
    if (entry == nullptr) return nullptr;
    for (const BackendRef& ref : entry->runtime->backends)
        if (ref.config.address == address) return &ref;
    return nullptr;
}

// Runtime counters of one backend (zeros when its listener is not bound).
json backend_counters(const BackendRef* ref) {
    json out = json::object();
    out["status"] = ref ? std::string(backend_status_name(*ref->state)) : "unknown";
    out["active"] = ref ? std::max<int64_t>(0, ref->state->active.load(std::memory_order_relaxed)) : 0;
    out["connections_total"] = ref ? ref->state->connections_total.load(std::memory_order_relaxed) : 0;
    out["connect_errors"] = ref ? ref->state->connect_errors.load(std::memory_order_relaxed) : 0;
    return out;
}

json backend_json(const BackendConfig& backend, const ListenerEntry* entry, bool counters) {
    json out = json::object();
    out["address"] = backend.address.to_string();
    out["weight"] = backend.weight;
    out["backup"] = backend.backup;
    out["state"] = std::string(format_backend_state(backend.state));
    const BackendRef* ref = find_backend_runtime(entry, backend.address);
    json runtime = backend_counters(ref);
    out["status"] = runtime["status"];
    if (counters) {
        for (const char* key : {"active", "connections_total", "connect_errors"}) out[key] = runtime[key];
        if (ref) {
            out["last_check"] = ref->state->last_check();
            out["transitions"] = ref->state->transitions.load(std::memory_order_relaxed);
        }
    }
    return out;
}

json listener_totals_json(const ListenerEntry* entry) {
    ListenerTotals totals = entry ? entry->runtime->stats->totals() : ListenerTotals{};
    json out = json::object();
    out["connections_total"] = totals.connections_total;
    out["connections_refused"] = totals.connections_refused;
    out["queue_timeouts"] = totals.queue_timeouts;
    out["rejected_conn_limit"] = totals.rejected_conn_limit;
    out["rejected_rate"] = totals.rejected_rate;
    out["source_untracked"] = totals.source_untracked;
    out["denied"] = totals.denied;
    out["drain_closed"] = totals.drain_closed;
    static constexpr const char* kProxyReasons[kProxyRejectCounters] = {"untrusted", "invalid",   "version",
                                                                        "oversized", "truncated", "timeout"};
    json proxy = json::object();
    for (size_t r = 0; r < kProxyRejectCounters; ++r) proxy[kProxyReasons[r]] = totals.proxy_rejected[r];
    out["proxy_rejected"] = std::move(proxy);
    out["vip_released"] = totals.vip_released;
    out["active"] = totals.active;
    out["bytes_in"] = totals.bytes_in;
    out["bytes_out"] = totals.bytes_out;
    return out;
}

json settings_json(const ListenerConfig& l) {
    json out = json::object();
    out["check_port"] = l.check_port ? json(*l.check_port) : json(nullptr);
    out["check_interval"] = format_duration(l.check_interval);
    out["check_timeout"] = format_duration(l.check_timeout);
    out["rise"] = l.rise;
    out["fall"] = l.fall;
    out["connect_timeout"] = format_duration(l.connect_timeout);
    out["idle_timeout"] = format_duration(l.idle_timeout);
    out["half_close_timeout"] = format_duration(l.half_close_timeout);
    out["queue_timeout"] = format_duration(l.queue_timeout);
    out["splice"] = std::string(format_splice_mode(l.splice));
    out["retries"] = l.retries;
    out["max_connections"] = l.max_connections;
    out["max_conn_per_source"] = l.max_conn_per_source;
    out["rate_per_source"] = l.rate_per_source;
    out["proxy_protocol"] = std::string(format_proxy_protocol(l.proxy_protocol));
    if (l.scheduler == SchedulerKind::kSourceHash) out["hash_table_size"] = l.hash_table_size;
    out["max_fails"] = l.max_fails;
    out["fail_timeout"] = format_duration(l.fail_timeout);
    out["slow_start"] = format_duration(l.slow_start);
    out["agent_port"] = l.agent_port ? json(*l.agent_port) : json(nullptr);
    out["agent_interval"] = format_duration(l.agent_interval);
    out["allow"] = format_prefix_list(l.allow);
    out["deny"] = format_prefix_list(l.deny);
    out["tcp_keepalive"] = l.tcp_keepalive;
    out["keepalive_idle"] = format_duration(l.keepalive_idle);
    out["keepalive_interval"] = format_duration(l.keepalive_interval);
    out["keepalive_count"] = l.keepalive_count;
    out["drain_timeout"] = format_duration(l.drain_timeout);
    out["accept_proxy"] = std::string(format_accept_proxy(l.accept_proxy));
    out["accept_proxy_timeout"] = format_duration(l.accept_proxy_timeout);
    out["accept_proxy_from"] = format_prefix_list(l.accept_proxy_from);
    out["transparent"] = l.transparent;
    return out;
}

// detail: settings, listener totals and per-backend counters (listener show).
json listener_json(const ListenerConfig& listener, const RuntimeSnapshot* snapshot, bool detail) {
    const ListenerEntry* entry = snapshot ? snapshot->find(listener.name) : nullptr;
    json out = json::object();
    out["name"] = listener.name;
    out["bind"] = listener.bind.to_string();
    out["scheduler"] = std::string(format_scheduler(listener.scheduler));
    out["check"] = format_health_check(listener.check);
    out["bound"] = entry != nullptr;
    json backends = json::array();
    for (const BackendConfig& backend : listener.backends) backends.push_back(backend_json(backend, entry, detail));
    out["backends"] = std::move(backends);
    if (detail) {
        out["settings"] = settings_json(listener);
        out["stats"] = listener_totals_json(entry);
    }
    return out;
}

json stats_json(const ListenerConfig& listener, const RuntimeSnapshot* snapshot) {
    const ListenerEntry* entry = snapshot ? snapshot->find(listener.name) : nullptr;
    json out = listener_totals_json(entry);
    out["name"] = listener.name;
    json backends = json::array();
    for (const BackendConfig& backend : listener.backends) {
        json b = backend_counters(find_backend_runtime(entry, backend.address));
        b["address"] = backend.address.to_string();
        b["state"] = std::string(format_backend_state(backend.state));
        backends.push_back(std::move(b));
    }
    out["backends"] = std::move(backends);
    return out;
}

// A listener section in config syntax, parsed by the config parser itself, so
// that --scheduler and --check are read (and refused) exactly as in the file.
Result<ListenerConfig> build_listener(const Request& request) {
    std::string text = "[listener." + request.listener + "]\n";
    text += "bind = " + request.bind->to_string() + "\n";
    if (request.scheduler) text += "scheduler = " + *request.scheduler + "\n";
    if (request.check) text += "check = " + *request.check + "\n";
    for (size_t i = 0; i < request.backends.size(); ++i) {
        const BackendSpec& spec = request.backends[i];
        for (size_t j = 0; j < i; ++j)
            if (request.backends[j].address == spec.address)
                return fail("backend " + spec.address.to_string() + " given twice");
        text += "backend = " + spec.address.to_string();
        if (spec.weight) text += " weight=" + std::to_string(*spec.weight);
        if (spec.backup) text += " backup";
        text += "\n";
    }
    ConfigParseResult parsed = parse_config(text, "request");
    if (!parsed.ok()) {
        std::string why;
        for (const ConfigError& error : parsed.errors) why += (why.empty() ? "" : "; ") + error.message;
        return fail(why);
    }
    return parsed.config->listeners.at(0);
}

// The body of a change's response: its message and, while it exists, the listener it changed.
Result<json> after_update(const ControlContext& context, const Result<void>& updated, const std::string& listener,
                          const std::string& message) {
    if (!updated) return fail(updated.error());
    json body = {{"message", message}};
    auto config = context.config();
    auto snapshot = context.snapshot();
    if (config && !listener.empty())
        if (const ListenerConfig* lc = config->find_listener(listener))
            body["listener"] = listener_json(*lc, snapshot.get(), false);
    return body;
}

Result<json> listener_add(const Request& request, const ControlContext& context) {
    Result<void> updated = context.update([&](Config& config) -> Result<void> {
        if (find_listener(config, request.listener)) return fail("listener '" + request.listener + "' already exists");
        for (const ListenerConfig& other : config.listeners)
            if (other.bind == *request.bind)
                return fail("bind " + request.bind->to_string() + " is already used by listener '" + other.name + "'");
        Result<ListenerConfig> listener = build_listener(request);
        if (!listener) return fail(listener.error());
        config.listeners.push_back(std::move(*listener));
        return {};
    });
    return after_update(context, updated, request.listener,
                        "listener " + request.listener + " added on " + request.bind->to_string());
}

Result<json> listener_remove(const Request& request, const ControlContext& context) {
    Result<void> updated = context.update([&](Config& config) -> Result<void> {
        auto it = std::find_if(config.listeners.begin(), config.listeners.end(),
                               [&](const ListenerConfig& l) { return l.name == request.listener; });
        if (it == config.listeners.end()) return fail(not_found(request.listener));
        config.listeners.erase(it);
        return {};
    });
    return after_update(context, updated, "", "listener " + request.listener + " removed");
}

Result<json> backend_add(const Request& request, const ControlContext& context) {
    const InetAddr& address = *request.address;
    Result<void> updated = context.update([&](Config& config) -> Result<void> {
        ListenerConfig* listener = find_listener(config, request.listener);
        if (!listener) return fail(not_found(request.listener));
        if (find_backend(*listener, address))
            return fail(address.to_string() + " is already a backend of " + request.listener);
        BackendConfig backend;
        backend.address = address;
        backend.weight = request.weight.value_or(1);
        backend.backup = request.backup;
        backend.state = request.state.value_or(BackendAdminState::kReady);
        listener->backends.push_back(backend);
        return {};
    });
    return after_update(context, updated, request.listener,
                        "backend " + address.to_string() + " added to " + request.listener);
}

Result<json> backend_remove(const Request& request, const ControlContext& context) {
    const InetAddr& address = *request.address;
    Millis drain_timeout{0};
    Result<void> updated = context.update([&](Config& config) -> Result<void> {
        ListenerConfig* listener = find_listener(config, request.listener);
        if (!listener) return fail(not_found(request.listener));
        if (!find_backend(*listener, address)) return fail(not_a_backend(address, request.listener));
        drain_timeout = listener->drain_timeout;
        if (listener->backends.size() == 1)
            return fail("cannot remove " + address.to_string() + ": it is the last backend of " + request.listener +
                        " (remove the listener instead)");
        std::erase_if(listener->backends, [&](const BackendConfig& b) { return b.address == address; });
        return {};
    });
    return after_update(context, updated, request.listener,
                        "backend " + address.to_string() + " removed from " + request.listener +
                            (drain_timeout.count() == 0
                                 ? std::string("; its live connections run on (drain_timeout 0)")
                                 : "; its live connections end within drain_timeout " + format_duration(drain_timeout)));
}

Result<json> backend_set(const Request& request, const ControlContext& context) {
    const InetAddr& address = *request.address;
    Result<void> updated = context.update([&](Config& config) -> Result<void> {
        ListenerConfig* listener = find_listener(config, request.listener);
        if (!listener) return fail(not_found(request.listener));
        BackendConfig* backend = find_backend(*listener, address);
        if (!backend) return fail(not_a_backend(address, request.listener));
        if (request.weight) backend->weight = *request.weight;
        if (request.state) backend->state = *request.state;
        return {};
    });
    std::string what;
    if (request.weight) what += "weight " + std::to_string(*request.weight);
    if (request.state) what += (what.empty() ? "" : ", ") + std::string("state ") +
                               std::string(format_backend_state(*request.state));
    return after_update(context, updated, request.listener,
                        "backend " + address.to_string() + " of " + request.listener + ": " + what);
}

// allow / deny, replaced whole (an empty list clears it); workers use them from the next accept.
Result<json> listener_set(const Request& request, const ControlContext& context) {
    Result<void> updated = context.update([&](Config& config) -> Result<void> {
        ListenerConfig* listener = find_listener(config, request.listener);
        if (!listener) return fail(not_found(request.listener));
        if (request.allow) listener->allow = *request.allow;
        if (request.deny) listener->deny = *request.deny;
        return {};
    });
    std::string what;
    auto count = [](const std::vector<InetPrefix>& list) { return std::to_string(list.size()) + " prefix(es)"; };
    if (request.allow) what += "allow " + count(*request.allow);
    if (request.deny) what += (what.empty() ? "deny " : ", deny ") + count(*request.deny);
    return after_update(context, updated, request.listener, "listener " + request.listener + ": " + what);
}

// The body of the response to `request` (format_ok adds "ok"), or why it failed.
Result<json> run_command(const Request& request, const ControlContext& context) {
    auto config = context.config();
    auto snapshot = context.snapshot();
    switch (request.kind) {
        case CommandKind::kStatus: return context.status();
        case CommandKind::kListenerList: {
            json listeners = json::array();
            for (const ListenerConfig& lc : config->listeners)
                listeners.push_back(listener_json(lc, snapshot.get(), false));
            return json{{"listeners", std::move(listeners)}};
        }
        case CommandKind::kListenerShow: {
            const ListenerConfig* lc = config->find_listener(request.listener);
            if (!lc) return fail(not_found(request.listener));
            return json{{"listener", listener_json(*lc, snapshot.get(), true)}};
        }
        case CommandKind::kListenerAdd: return listener_add(request, context);
        case CommandKind::kListenerRemove: return listener_remove(request, context);
        case CommandKind::kBackendAdd: return backend_add(request, context);
        case CommandKind::kBackendRemove: return backend_remove(request, context);
        case CommandKind::kBackendSet: return backend_set(request, context);
        case CommandKind::kListenerSet: return listener_set(request, context);
        case CommandKind::kStats: {
            json listeners = json::array();
            if (!request.listener.empty() && !config->find_listener(request.listener))
                return fail(not_found(request.listener));
            for (const ListenerConfig& lc : config->listeners)
                if (request.listener.empty() || lc.name == request.listener)
                    listeners.push_back(stats_json(lc, snapshot.get()));
            return json{{"listeners", std::move(listeners)}};
        }
        case CommandKind::kVrrpStatus: {
            if (config->vrrp.empty()) return fail("vrrp not configured");
            return json{{"instances", context.vrrp_status()}};
        }
        case CommandKind::kReload: {
            Result<json> outcome = context.reload();
            if (!outcome) return fail("reload refused: " + outcome.error());
            auto reloaded = context.config();
            json reply = std::move(*outcome);
            const size_t changed = reply.contains("changes") ? reply["changes"].size() : 0;
            const size_t restart = reply.value("needs_restart", size_t(0));
            reply["message"] = "reloaded " + reloaded->source_file + ": " + std::to_string(reloaded->listeners.size()) +
                               " listener(s); " +
                               (changed == 0 ? std::string("nothing changed")
                                             : std::to_string(changed) + " setting(s) changed, " +
                                                   std::to_string(changed - restart) + " applied" +
                                                   (restart ? ", " + std::to_string(restart) + " need a restart" : ""));
            return reply;
        }
    }
    return fail("unknown command");
}

bool changes_config(CommandKind kind) {
    switch (kind) {
        case CommandKind::kListenerAdd:
        case CommandKind::kListenerRemove:
        case CommandKind::kBackendAdd:
        case CommandKind::kBackendRemove:
        case CommandKind::kBackendSet:
        case CommandKind::kListenerSet:
        case CommandKind::kReload: return true;
        default: return false;
    }
}

}  // namespace

std::string execute_request(const Request& request, const ControlContext& context) {
    try {
        if (!context.config()) return format_error("ringlbd has no configuration");
        Result<json> body = run_command(request, context);
        // Every change is logged: the daemon log is the audit trail of ringlbctl.
        if (changes_config(request.kind)) {
            std::string line = format_request(request);
            line.pop_back();
            if (body) spdlog::info("control: {}: done: {}", line, body->value("message", ""));
            else spdlog::warn("control: {}: refused: {}", line, body.error());
        }
        return body ? format_ok(std::move(*body)) : format_error(body.error());
    } catch (const std::exception& error) {
        // A failed request is an error response, never a dead daemon.
        return format_error(std::string("internal error: ") + error.what());
    }
}

std::string handle_control_line(std::string_view line, const ControlContext& context) {
    Result<Request> request = parse_request(line);
    if (!request) return format_error(request.error());
    return execute_request(*request, context);
}

}  // namespace ringlb
