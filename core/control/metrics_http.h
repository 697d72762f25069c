// Prometheus metrics (DESIGN §8): the text exposition format (version 0.0.4)
// built from a runtime snapshot, and the little HTTP/1.0 a scraper needs.
// Pure: the control server owns the socket and calls these.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/runtime/runtime.h"

namespace ringlb {

// What a backend is doing now, lower case: "up", "down", "drain" or "maint"
// (the health checker's status; "down" too when a worker's passive failure
// check already took it out and the checker has not caught up yet).
std::string_view backend_status_name(const BackendState& state);

// 1 when the backend passes its checks as far as ringlb knows: up or drain.
// down is 0, and so is maint (not checked, takes no connections).
bool backend_up(const BackendState& state);

// Numbers that live outside the snapshot.
struct VrrpMetric {
    std::string instance;
    int state = 0;               // 0 init, 1 backup, 2 master, 3 fault (DESIGN §8)
    uint64_t transitions = 0;
    uint64_t adverts_sent = 0;
    uint64_t adverts_received = 0;   // passed every RFC 9568 §7.1 check
    // Every drop reason (label, count), zeros included, so rate() has a series from the start.
    std::vector<std::pair<std::string, uint64_t>> dropped;
};

struct MetricsExtras {
    std::string version;
    uint64_t access_log_lines = 0;
    uint64_t access_log_dropped = 0;
    // The label is vrrp_instance, not DESIGN's "instance": Prometheus sets its own
    // `instance` label on every scraped series and would rename ours.
    std::vector<VrrpMetric> vrrp;
};

// Every metric of DESIGN §8 for the listeners in `snapshot` (none if null).
// Counters keep running across reloads: they live with the listener and
// backend state that a reload carries over.
std::string format_metrics(const RuntimeSnapshot* snapshot, const MetricsExtras& extras);

// A label value with \, " and newline escaped as the format requires.
std::string escape_label_value(std::string_view value);

// µs as decimal seconds, exactly: 250 → "0.00025", 2500000 → "2.5".
std::string format_seconds(uint64_t micros);

// The request line and headers of an HTTP request, as far as they arrived.
struct HttpRequestHead {
    enum class State { kIncomplete, kComplete, kBad } state = State::kIncomplete;
    std::string method;
    std::string target;   // path only; a query string is cut off
};

inline constexpr size_t kMaxHttpHeadBytes = 8192;

HttpRequestHead parse_http_request_head(std::string_view received);

// What to answer: 200 with the metrics body for GET/HEAD /metrics, else an
// error page. `metrics` is only called for a 200.
template <class MetricsBody>
std::string respond_http(const HttpRequestHead& head, MetricsBody metrics);

std::string format_http_response(int status, std::string_view reason, std::string_view content_type,
                                 std::string_view body, bool head_only);

template <class MetricsBody>
std::string respond_http(const HttpRequestHead& head, MetricsBody metrics) {
    constexpr std::string_view kText = "text/plain; charset=utf-8";
    if (head.state != HttpRequestHead::State::kComplete)
        return format_http_response(400, "Bad Request", kText, "bad request\n", false);
    const bool head_only = head.method == "HEAD";
    if (head.method != "GET" && !head_only)
        return format_http_response(405, "Method Not Allowed", kText, "only GET and HEAD\n", false);
    if (head.target == "/metrics")
        return format_http_response(200, "OK", "text/plain; version=0.0.4; charset=utf-8", metrics(), head_only);
    if (head.target == "/")
        return format_http_response(200, "OK", kText, "ringlbd: metrics at /metrics\n", head_only);
    return format_http_response(404, "Not Found", kText, "not found; metrics are at /metrics\n", head_only);
}

}  // namespace ringlb
