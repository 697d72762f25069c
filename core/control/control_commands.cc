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
std::string build_listener(const Request& request, ListenerConfig* out) {
    std::string text = "[listener." + request.listener + "]\n";
    text += "bind = " + request.bind->to_string() + "\n";
    if (request.scheduler) text += "scheduler = " + *request.scheduler + "\n";
    if (request.check) text += "check = " + *request.check + "\n";
    for (size_t i = 0; i < request.backends.size(); ++i) {
        const BackendSpec& spec = request.backends[i];
        for (size_t j = 0; j < i; ++j)
            if (request.backends[j].address == spec.address)
                return "backend " + spec.address.to_string() + " given twice";
        text += "backend = " + spec.address.to_string();
        if (spec.weight) text += " weight=" + std::to_string(*spec.weight);
        if (spec.backup) text += " backup";
        text += "\n";
    }
    ConfigParseResult parsed = parse_config(text, "request");
    if (!parsed.ok()) {
        std::string why;
        for (const ConfigError& error : parsed.errors) why += (why.empty() ? "" : "; ") + error.message;
        return why;
    }
    *out = parsed.config->listeners.at(0);
    return "";
}

std::string respond_after_update(const ControlContext& context, const std::string& error, const std::string& listener,
                                 const std::string& message) {
    if (!error.empty()) return format_error(error);
    json body = {{"message", message}};
    auto config = context.config();
    auto snapshot = context.snapshot();
    if (config && !listener.empty())
        if (const ListenerConfig* lc = config->find_listener(listener))
            body["listener"] = listener_json(*lc, snapshot.get(), false);
    return format_ok(std::move(body));
}

std::string listener_add(const Request& request, const ControlContext& context) {
    std::string error = context.update([&](Config& config) -> std::string {
        if (find_listener(config, request.listener)) return "listener '" + request.listener + "' already exists";
        for (const ListenerConfig& other : config.listeners)
            if (other.bind == *request.bind)
                return "bind " + request.bind->to_string() + " is already used by listener '" + other.name + "'";
        ListenerConfig listener;
        if (std::string why = build_listener(request, &listener); !why.empty()) return why;
        config.listeners.push_back(std::move(listener));
        return "";
    });
    return respond_after_update(context, error, request.listener,
                                "listener " + request.listener + " added on " + request.bind->to_string());
}

std::string listener_remove(const Request& request, const ControlContext& context) {
    std::string error = context.update([&](Config& config) -> std::string {
        auto it = std::find_if(config.listeners.begin(), config.listeners.end(),
                               [&](const ListenerConfig& l) { return l.name == request.listener; });
        if (it == config.listeners.end()) return not_found(request.listener);
        config.listeners.erase(it);
        return "";
    });
    return respond_after_update(context, error, "", "listener " + request.listener + " removed");
}

std::string backend_add(const Request& request, const ControlContext& context) {
    const InetAddr& address = *request.address;
    std::string error = context.update([&](Config& config) -> std::string {
        ListenerConfig* listener = find_listener(config, request.listener);
        if (!listener) return not_found(request.listener);
        if (find_backend(*listener, address))
            return address.to_string() + " is already a backend of " + request.listener;
        BackendConfig backend;
        backend.address = address;
        backend.weight = request.weight.value_or(1);
        backend.backup = request.backup;
        listener->backends.push_back(backend);
        return "";
    });
    return respond_after_update(context, error, request.listener,
                                "backend " + address.to_string() + " added to " + request.listener);
}

std::string backend_remove(const Request& request, const ControlContext& context) {
    const InetAddr& address = *request.address;
    std::string error = context.update([&](Config& config) -> std::string {
        ListenerConfig* listener = find_listener(config, request.listener);
        if (!listener) return not_found(request.listener);
        if (!find_backend(*listener, address)) return not_a_backend(address, request.listener);
        if (listener->backends.size() == 1)
            return "cannot remove " + address.to_string() + ": it is the last backend of " + request.listener +
                   " (remove the listener instead)";
        std::erase_if(listener->backends, [&](const BackendConfig& b) { return b.address == address; });
        return "";
    });
    return respond_after_update(context, error, request.listener,
                                "backend " + address.to_string() + " removed from " + request.listener +
                                    "; its live connections run on");
}

std::string backend_set(const Request& request, const ControlContext& context) {
    const InetAddr& address = *request.address;
    std::string error = context.update([&](Config& config) -> std::string {
        ListenerConfig* listener = find_listener(config, request.listener);
        if (!listener) return not_found(request.listener);
        BackendConfig* backend = find_backend(*listener, address);
        if (!backend) return not_a_backend(address, request.listener);
        if (request.weight) backend->weight = *request.weight;
        if (request.state) backend->state = *request.state;
        return "";
    });
    std::string what;
    if (request.weight) what += "weight " + std::to_string(*request.weight);
    if (request.state) what += (what.empty() ? "" : ", ") + std::string("state ") +
                               std::string(format_backend_state(*request.state));
    return respond_after_update(context, error, request.listener,
                                "backend " + address.to_string() + " of " + request.listener + ": " + what);
}

std::string run(const Request& request, const ControlContext& context) {
    auto config = context.config();
    auto snapshot = context.snapshot();
    switch (request.kind) {
        case CommandKind::kStatus: return format_ok(context.status());
        case CommandKind::kListenerList: {
            json listeners = json::array();
            for (const ListenerConfig& lc : config->listeners)
                listeners.push_back(listener_json(lc, snapshot.get(), false));
            return format_ok({{"listeners", std::move(listeners)}});
        }
        case CommandKind::kListenerShow: {
            const ListenerConfig* lc = config->find_listener(request.listener);
            if (!lc) return format_error(not_found(request.listener));
            return format_ok({{"listener", listener_json(*lc, snapshot.get(), true)}});
        }
        case CommandKind::kListenerAdd: return listener_add(request, context);
        case CommandKind::kListenerRemove: return listener_remove(request, context);
        case CommandKind::kBackendAdd: return backend_add(request, context);
        case CommandKind::kBackendRemove: return backend_remove(request, context);
        case CommandKind::kBackendSet: return backend_set(request, context);
        case CommandKind::kStats: {
            json listeners = json::array();
            if (!request.listener.empty() && !config->find_listener(request.listener))
                return format_error(not_found(request.listener));
            for (const ListenerConfig& lc : config->listeners)
                if (request.listener.empty() || lc.name == request.listener)
                    listeners.push_back(stats_json(lc, snapshot.get()));
            return format_ok({{"listeners", std::move(listeners)}});
        }
        case CommandKind::kVrrpStatus: {
            if (config->vrrp.empty()) return format_error("vrrp not configured");
            if (!context.vrrp_status)
                return format_error(std::to_string(config->vrrp.size()) +
                                    " vrrp instance(s) configured, but their state is not reported here yet");
            return format_ok({{"instances", context.vrrp_status()}});
        }
        case CommandKind::kReload: {
            if (std::string error = context.reload(); !error.empty()) return format_error("reload refused: " + error);
            auto reloaded = context.config();
            return format_ok({{"message", "reloaded " + reloaded->source_file + ": " +
                                              std::to_string(reloaded->listeners.size()) + " listener(s)"}});
        }
    }
    return format_error("unknown command");
}

bool changes_config(CommandKind kind) {
    switch (kind) {
        case CommandKind::kListenerAdd:
        case CommandKind::kListenerRemove:
        case CommandKind::kBackendAdd:
        case CommandKind::kBackendRemove:
        case CommandKind::kBackendSet:
        case CommandKind::kReload: return true;
        default: return false;
    }
}

}  // namespace

std::string execute_request(const Request& request, const ControlContext& context) {
    try {
        if (!context.config()) return format_error("ringlbd has no configuration");
        std::string response = run(request, context);
        // Every change is logged: the daemon log is the audit trail of ringlbctl.
        if (changes_config(request.kind)) {
            std::string line = format_request(request);
            line.pop_back();
            auto answer = nlohmann::json::parse(response, nullptr, false);
            if (answer.value("ok", false))
                spdlog::info("control: {}: done: {}", line, answer.value("message", ""));
            else
                spdlog::warn("control: {}: refused: {}", line, answer.value("error", ""));
        }
        return response;
    } catch (const std::exception& error) {
        // A failed request is an error response, never a dead daemon.
        return format_error(std::string("internal error: ") + error.what());
    }
}

std::string handle_control_line(std::string_view line, const ControlContext& context) {
    ParsedRequest parsed = parse_request(line);
    if (!parsed.request) return format_error(parsed.error);
    return execute_request(*parsed.request, context);
}

}  // namespace ringlb
