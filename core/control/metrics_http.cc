// Prometheus text exposition of ringlb's counters, and minimal HTTP/1.0.
#include "core/control/metrics_http.h"

#include <fmt/format.h>

#include <algorithm>
#include <iterator>

namespace ringlb {

namespace {

struct Writer {
    std::string out;

    void family(std::string_view name, std::string_view type, std::string_view help) {
        fmt::format_to(std::back_inserter(out), "# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
    }
    // labels: already formatted as name="value",...
    void sample(std::string_view name, std::string_view labels, uint64_t value) {
        if (labels.empty()) fmt::format_to(std::back_inserter(out), "{} {}\n", name, value);
        else fmt::format_to(std::back_inserter(out), "{}{{{}}} {}\n", name, labels, value);
    }
    void sample_text(std::string_view name, std::string_view labels, std::string_view value) {
        fmt::format_to(std::back_inserter(out), "{}{{{}}} {}\n", name, labels, value);
    }
};

std::string listener_label(const ListenerRuntime& l) {
    return "listener=\"" + escape_label_value(l.config.name) + "\"";
}

std::string backend_labels(const ListenerRuntime& l, const BackendRef& b) {
    return listener_label(l) + ",backend=\"" + escape_label_value(b.config.address.to_string()) + "\"";
}

std::string vrrp_label(const VrrpMetric& v) { return "vrrp_instance=\"" + escape_label_value(v.instance) + "\""; }

}  // namespace

std::string_view backend_status_name(const BackendState& state) {
    switch (state.status.load(std::memory_order_relaxed)) {
        case BackendStatus::kUp: return state.healthy.load(std::memory_order_relaxed) ? "up" : "down";
        case BackendStatus::kDown: return "down";
        case BackendStatus::kDrain: return "drain";
        case BackendStatus::kMaint: return "maint";
    }
    return "down";
}

bool backend_up(const BackendState& state) {
    std::string_view status = backend_status_name(state);
    return status == "up" || status == "drain";
}

std::string escape_label_value(std::string_view value) {
    std::string out;
    for (char c : value) {
        if (c == '\\') out += "\\\\";
        else if (c == '"') out += "\\\"";
        else if (c == '\n') out += "\\n";
        else out += c;
    }
    return out;
}

std::string format_seconds(uint64_t micros) {
    std::string text = std::to_string(micros / 1000000);
    uint64_t fraction = micros % 1000000;
    if (fraction == 0) return text;
    std::string digits = fmt::format("{:06}", fraction);
    while (digits.back() == '0') digits.pop_back();
    return text + "." + digits;
}

std::string format_metrics(const RuntimeSnapshot* snapshot, const MetricsExtras& extras) {
    Writer w;
    static const std::vector<ListenerEntry> kNone;
    const std::vector<ListenerEntry>& listeners = snapshot ? snapshot->listeners : kNone;

    w.family("ringlb_build_info", "gauge", "ringlbd's version; always 1.");
    w.sample("ringlb_build_info", "version=\"" + escape_label_value(extras.version) + "\"", 1);

    struct ListenerCounter {
        const char* name;
        const char* help;
        uint64_t ListenerTotals::*field;
        const char* type;
    };
    const ListenerCounter counters[] = {
        {"ringlb_connections_total", "Client connections accepted.", &ListenerTotals::connections_total, "counter"},
        {"ringlb_connections_refused_total", "Client connections closed because no backend could take them.",
         &ListenerTotals::connections_refused, "counter"},
        {"ringlb_queue_timeouts_total", "Client connections closed after waiting queue_timeout for a backend slot.",
         &ListenerTotals::queue_timeouts, "counter"},
        {"ringlb_listener_connections_active", "Client connections open now, including those not yet connected.",
         &ListenerTotals::active, "gauge"},
        {"ringlb_source_untracked_total",
         "Client connections let through without per-source limits because the source table was full.",
         &ListenerTotals::source_untracked, "counter"},
        {"ringlb_vip_released_total",
         "Client connections reset at stop because their local address was a VIP this host had just released.",
         &ListenerTotals::vip_released, "counter"},
    };
    std::vector<ListenerTotals> totals;
    for (const ListenerEntry& entry : listeners) totals.push_back(entry.runtime->stats->totals());
    for (const ListenerCounter& counter : counters) {
        w.family(counter.name, counter.type, counter.help);
        for (size_t i = 0; i < listeners.size(); ++i)
            w.sample(counter.name, listener_label(*listeners[i].runtime), totals[i].*counter.field);
    }

    w.family("ringlb_bytes_total", "counter", "Bytes forwarded: in = client to backend, out = backend to client.");
    for (size_t i = 0; i < listeners.size(); ++i) {
        std::string label = listener_label(*listeners[i].runtime);
        w.sample("ringlb_bytes_total", label + ",direction=\"in\"", totals[i].bytes_in);
        w.sample("ringlb_bytes_total", label + ",direction=\"out\"", totals[i].bytes_out);
    }

    w.family("ringlb_connections_rejected_total", "counter",
             "Client connections reset at accept by a per-source limit (reason: max_conn_per_source, rate_per_source).");
    for (size_t i = 0; i < listeners.size(); ++i) {
        std::string label = listener_label(*listeners[i].runtime);
        w.sample("ringlb_connections_rejected_total", label + ",reason=\"max_conn_per_source\"",
                 totals[i].rejected_conn_limit);
        w.sample("ringlb_connections_rejected_total", label + ",reason=\"rate_per_source\"", totals[i].rejected_rate);
    }

    w.family("ringlb_refused_total", "counter",
             "Client connections reset at accept by the listener's allow / deny lists (reason: denied).");
    for (size_t i = 0; i < listeners.size(); ++i)
        w.sample("ringlb_refused_total", listener_label(*listeners[i].runtime) + ",reason=\"denied\"",
                 totals[i].denied);

    w.family("ringlb_proxy_rejected_total", "counter",
             "accept_proxy: client connections closed for their PROXY header (reason: untrusted, invalid, version, "
             "oversized, truncated, timeout).");
    static constexpr const char* kProxyReasons[kProxyRejectCounters] = {"untrusted", "invalid",   "version",
                                                                        "oversized", "truncated", "timeout"};
    for (size_t i = 0; i < listeners.size(); ++i)
        for (size_t r = 0; r < kProxyRejectCounters; ++r)
            w.sample("ringlb_proxy_rejected_total",
                     listener_label(*listeners[i].runtime) + ",reason=\"" + kProxyReasons[r] + "\"",
                     totals[i].proxy_rejected[r]);

    w.family("ringlb_drain_closed_total", "counter",
             "Connections closed because their backend was drained or removed drain_timeout ago.");
    for (size_t i = 0; i < listeners.size(); ++i)
        w.sample("ringlb_drain_closed_total", listener_label(*listeners[i].runtime), totals[i].drain_closed);

    auto per_backend = [&](const char* name, const char* type, const char* help, auto value) {
        w.family(name, type, help);
        for (const ListenerEntry& entry : listeners)
            for (const BackendRef& b : entry.runtime->backends)
                w.sample(name, backend_labels(*entry.runtime, b), value(b));
    };
    per_backend("ringlb_connections_active", "gauge", "Connections to this backend open now (or being opened).",
                [](const BackendRef& b) {
                    return uint64_t(std::max<int64_t>(0, b.state->active.load(std::memory_order_relaxed)));
                });
    per_backend("ringlb_backend_up", "gauge",
                "1 when the backend passes its health checks (up or drain); 0 when down or in maint.",
                [](const BackendRef& b) { return uint64_t(backend_up(*b.state)); });
    per_backend("ringlb_backend_connections_total", "counter", "Connections established to this backend.",
                [](const BackendRef& b) { return b.state->connections_total.load(std::memory_order_relaxed); });
    per_backend("ringlb_connect_errors_total", "counter", "Failed or timed-out connects to this backend.",
                [](const BackendRef& b) { return b.state->connect_errors.load(std::memory_order_relaxed); });

    w.family("ringlb_backend_status", "gauge",
             "What the backend is doing now: 1 for its status (up, down, drain or maint), 0 for the others.");
    for (const ListenerEntry& entry : listeners)
        for (const BackendRef& b : entry.runtime->backends) {
            std::string_view now = backend_status_name(*b.state);
            for (std::string_view status : {"up", "down", "drain", "maint"})
                w.sample("ringlb_backend_status",
                         backend_labels(*entry.runtime, b) + ",status=\"" + std::string(status) + "\"",
                         now == status ? 1 : 0);
        }

    w.family("ringlb_connect_seconds", "histogram", "Time to establish a backend connection (successful connects).");
    for (size_t i = 0; i < listeners.size(); ++i) {
        std::string label = listener_label(*listeners[i].runtime);
        uint64_t cumulative = 0;
        for (size_t b = 0; b < kConnectBuckets; ++b) {
            cumulative += totals[i].connect_buckets[b];
            std::string le = b + 1 < kConnectBuckets ? format_seconds(kConnectBucketsUs[b]) : "+Inf";
            w.sample("ringlb_connect_seconds_bucket", label + ",le=\"" + le + "\"", cumulative);
        }
        w.sample_text("ringlb_connect_seconds_sum", label, format_seconds(totals[i].connect_sum_us));
        w.sample("ringlb_connect_seconds_count", label, cumulative);
    }

    w.family("ringlb_access_log_lines_total", "counter", "Access log lines written.");
    w.sample("ringlb_access_log_lines_total", "", extras.access_log_lines);
    w.family("ringlb_access_log_dropped_lines_total", "counter", "Access log lines lost to write errors.");
    w.sample("ringlb_access_log_dropped_lines_total", "", extras.access_log_dropped);

    if (!extras.vrrp.empty()) {
        struct VrrpSeries {
            const char* name;
            const char* type;
            const char* help;
            uint64_t (*value)(const VrrpMetric&);
        };
        const VrrpSeries series[] = {
            {"ringlb_vrrp_state", "gauge", "VRRP state: 0 init, 1 backup, 2 master, 3 fault.",
             [](const VrrpMetric& v) { return uint64_t(v.state); }},
            {"ringlb_vrrp_transitions_total", "counter", "VRRP state changes since start.",
             [](const VrrpMetric& v) { return v.transitions; }},
            {"ringlb_vrrp_adverts_sent_total", "counter", "VRRP advertisements sent.",
             [](const VrrpMetric& v) { return v.adverts_sent; }},
            {"ringlb_vrrp_adverts_received_total", "counter",
             "VRRP advertisements received that passed every RFC 9568 section 7.1 check.",
             [](const VrrpMetric& v) { return v.adverts_received; }},
        };
        for (const VrrpSeries& one : series) {
            w.family(one.name, one.type, one.help);
            for (const VrrpMetric& v : extras.vrrp) w.sample(one.name, vrrp_label(v), one.value(v));
        }
        w.family("ringlb_vrrp_adverts_dropped_total", "counter",
                 "VRRP packets dropped on receipt, by the RFC 9568 section 7.1 check they failed.");
        for (const VrrpMetric& v : extras.vrrp)
            for (const auto& [reason, count] : v.dropped)
                w.sample("ringlb_vrrp_adverts_dropped_total",
                         vrrp_label(v) + ",reason=\"" + escape_label_value(reason) + "\"", count);
    }
    return std::move(w.out);
}

HttpRequestHead parse_http_request_head(std::string_view received) {
    HttpRequestHead head;
    size_t end = received.find("\r\n\r\n");
    if (end == std::string_view::npos) end = received.find("\n\n");
    if (end == std::string_view::npos) {
        if (received.size() > kMaxHttpHeadBytes) head.state = HttpRequestHead::State::kBad;
        return head;
    }
    head.state = HttpRequestHead::State::kBad;
    std::string_view line = received.substr(0, received.find('\n'));
    if (line.ends_with('\r')) line.remove_suffix(1);
    size_t first = line.find(' ');
    if (first == std::string_view::npos || first == 0) return head;
    size_t second = line.find(' ', first + 1);
    std::string_view method = line.substr(0, first);
    std::string_view target =
        line.substr(first + 1, second == std::string_view::npos ? std::string_view::npos : second - first - 1);
    std::string_view version = second == std::string_view::npos ? "" : line.substr(second + 1);
    if (!version.starts_with("HTTP/1.") || target.empty() || target[0] != '/') return head;
    if (!std::all_of(method.begin(), method.end(), [](char c) { return c >= 'A' && c <= 'Z'; })) return head;
    head.method = method;
    head.target = target.substr(0, target.find('?'));
    head.state = HttpRequestHead::State::kComplete;
    return head;
}

std::string format_http_response(int status, std::string_view reason, std::string_view content_type,
                                 std::string_view body, bool head_only) {
    std::string out = fmt::format("HTTP/1.0 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                                  status, reason, content_type, body.size());
    if (!head_only) out.append(body);
    return out;
}

}  // namespace ringlb
