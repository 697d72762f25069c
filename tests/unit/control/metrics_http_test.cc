// Prometheus exposition and the metrics endpoint's HTTP, pure.
#include <gtest/gtest.h>

#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <cstring>

#include "core/control/metrics_http.h"

namespace ringlb {
namespace {

std::shared_ptr<RuntimeSnapshot> snapshot_with(const std::vector<std::pair<std::string, std::vector<std::string>>>& spec) {
    auto snapshot = std::make_shared<RuntimeSnapshot>();
    for (const auto& [name, backends] : spec) {
        auto runtime = std::make_shared<ListenerRuntime>();
        runtime->config.name = name;
        runtime->stats = std::make_shared<ListenerStats>(3);
        for (const std::string& address : backends) {
            BackendConfig bc;
            bc.address = *InetAddr::parse(address);
            runtime->backends.push_back({bc, std::make_shared<BackendState>(bc.address)});
        }
        snapshot->listeners.push_back({runtime, std::make_shared<ListenerSockets>()});
    }
    return snapshot;
}

// The value of the sample `name{labels}`, or -1.
double sample(const std::string& text, const std::string& series) {
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line))
        if (line.starts_with(series + " ")) return std::stod(line.substr(series.size() + 1));
    return -1;
}

// Checks the text exposition format 0.0.4 as Prometheus parses it: every
// sample belongs to a family declared once by TYPE before it, names and label
// syntax are valid, each series appears once, and histograms are cumulative
// with +Inf equal to _count.
void expect_valid_exposition(const std::string& text) {
    ASSERT_TRUE(text.ends_with("\n"));
    const std::regex sample_re(R"(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\[\\"n])*")(,[a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\[\\"n])*")*\})? (-?[0-9.e+]+|\+Inf|NaN)$)");
    const std::regex type_re(R"(^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$)");
    std::map<std::string, std::string> types;
    std::set<std::string> series;
    std::map<std::string, double> last_bucket;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        std::smatch m;
        if (line.starts_with("# HELP ")) continue;
        if (line.starts_with("# TYPE ")) {
            ASSERT_TRUE(std::regex_match(line, m, type_re)) << line;
            ASSERT_TRUE(types.emplace(m[1], m[2]).second) << "family declared twice: " << line;
            continue;
        }
        ASSERT_TRUE(std::regex_match(line, m, sample_re)) << "bad sample line: " << line;
        std::string name = m[1];
        std::string family = name;
        for (const char* suffix : {"_bucket", "_sum", "_count"}) {
            if (!types.count(family) && family.ends_with(suffix)) family.resize(family.size() - strlen(suffix));
        }
        ASSERT_TRUE(types.count(family)) << "sample before its TYPE: " << line;
        if (types[family] == "counter") {
            EXPECT_TRUE(name.ends_with("_total")) << line;
        }
        std::string key = line.substr(0, line.rfind(' '));
        ASSERT_TRUE(series.insert(key).second) << "series twice: " << key;
        if (name.ends_with("_bucket")) {
            std::string labels = m[2];
            std::string group = std::regex_replace(labels, std::regex(R"(,?le="[^"]*")"), "");
            double value = std::stod(line.substr(line.rfind(' ') + 1));
            EXPECT_GE(value, last_bucket[group]) << "buckets must be cumulative: " << line;
            last_bucket[group] = value;
        }
    }
}

TEST(Metrics, EveryDesignMetricIsThereWithItsLabels) {
    auto snapshot = snapshot_with({{"web", {"10.0.1.11:8080", "[2001:db8::1]:80"}}, {"db", {"10.0.2.1:5432"}}});
    auto& web = *snapshot->listeners[0].runtime;
    bump(web.stats->worker(0).connections_total, 60);
    bump(web.stats->worker(2).connections_total, 40);
    bump(web.stats->worker(1).bytes_in, 1234);
    bump(web.stats->worker(1).bytes_out, 99);
    bump(web.stats->worker(0).vip_released, 3);
    bump(web.stats->worker(1).vip_released, 4);
    web.backends[0].state->active.store(5);
    web.backends[1].state->healthy.store(false);
    web.backends[1].state->connect_errors.store(7);
    std::string text = format_metrics(
        snapshot.get(), {"1.2.3", 10, 2, {{"vip1", 2, 3, 40, 38, {{"bad_ttl", 5}, {"bad_checksum", 0}}}}});
    EXPECT_NE(text.find("ringlb_vrrp_state{vrrp_instance=\"vip1\"} 2\n"), std::string::npos) << text;
    EXPECT_NE(text.find("ringlb_vrrp_transitions_total{vrrp_instance=\"vip1\"} 3\n"), std::string::npos) << text;
    expect_valid_exposition(text);
    EXPECT_EQ(sample(text, "ringlb_connections_total{listener=\"web\"}"), 100);
    EXPECT_EQ(sample(text, "ringlb_connections_total{listener=\"db\"}"), 0);
    EXPECT_EQ(sample(text, "ringlb_bytes_total{listener=\"web\",direction=\"in\"}"), 1234);
    EXPECT_EQ(sample(text, "ringlb_bytes_total{listener=\"web\",direction=\"out\"}"), 99);
    EXPECT_EQ(sample(text, "ringlb_vip_released_total{listener=\"web\"}"), 7);
    EXPECT_EQ(sample(text, "ringlb_vip_released_total{listener=\"db\"}"), 0);
    EXPECT_EQ(sample(text, "ringlb_connections_active{listener=\"web\",backend=\"10.0.1.11:8080\"}"), 5);
    EXPECT_EQ(sample(text, "ringlb_backend_up{listener=\"web\",backend=\"10.0.1.11:8080\"}"), 1);
    EXPECT_EQ(sample(text, "ringlb_backend_up{listener=\"web\",backend=\"[2001:db8::1]:80\"}"), 0);
    EXPECT_EQ(sample(text, "ringlb_connect_errors_total{listener=\"web\",backend=\"[2001:db8::1]:80\"}"), 7);
    EXPECT_EQ(sample(text, "ringlb_backend_status{listener=\"db\",backend=\"10.0.2.1:5432\",status=\"up\"}"), 1);
    EXPECT_EQ(sample(text, "ringlb_backend_status{listener=\"db\",backend=\"10.0.2.1:5432\",status=\"drain\"}"), 0);
    EXPECT_EQ(sample(text, "ringlb_backend_status{listener=\"web\",backend=\"[2001:db8::1]:80\",status=\"down\"}"), 1);
    EXPECT_EQ(sample(text, "ringlb_build_info{version=\"1.2.3\"}"), 1);
    EXPECT_EQ(sample(text, "ringlb_access_log_dropped_lines_total"), 2);
    EXPECT_EQ(sample(text, "ringlb_vrrp_adverts_sent_total{vrrp_instance=\"vip1\"}"), 40);
    EXPECT_EQ(sample(text, "ringlb_vrrp_adverts_received_total{vrrp_instance=\"vip1\"}"), 38);
    EXPECT_EQ(sample(text, "ringlb_vrrp_adverts_dropped_total{vrrp_instance=\"vip1\",reason=\"bad_ttl\"}"), 5);
    EXPECT_EQ(sample(text, "ringlb_vrrp_adverts_dropped_total{vrrp_instance=\"vip1\",reason=\"bad_checksum\"}"), 0);
}

TEST(Metrics, ConnectTimesFillACumulativeHistogram) {
    auto snapshot = snapshot_with({{"web", {"10.0.1.11:8080"}}});
    auto& stats = *snapshot->listeners[0].runtime->stats;
    observe_connect(stats.worker(0), 80);        // ≤ 100 µs
    observe_connect(stats.worker(1), 100);       // ≤ 100 µs: bounds are inclusive
    observe_connect(stats.worker(1), 101);       // ≤ 250 µs
    observe_connect(stats.worker(2), 3000);      // ≤ 5 ms
    observe_connect(stats.worker(2), 60000000);  // +Inf
    std::string text = format_metrics(snapshot.get(), {});
    expect_valid_exposition(text);
    auto bucket = [&](const char* le) {
        return sample(text, std::string("ringlb_connect_seconds_bucket{listener=\"web\",le=\"") + le + "\"}");
    };
    EXPECT_EQ(bucket("0.0001"), 2);
    EXPECT_EQ(bucket("0.00025"), 3);
    EXPECT_EQ(bucket("0.0025"), 3);
    EXPECT_EQ(bucket("0.005"), 4);
    EXPECT_EQ(bucket("5"), 4);
    EXPECT_EQ(bucket("+Inf"), 5);
    EXPECT_EQ(sample(text, "ringlb_connect_seconds_count{listener=\"web\"}"), 5);
    EXPECT_DOUBLE_EQ(sample(text, "ringlb_connect_seconds_sum{listener=\"web\"}"), 60.003281);
}

TEST(Metrics, DrainCountsAsUpAndMaintAsNot) {
    auto snapshot = snapshot_with({{"web", {"10.0.1.1:80", "10.0.1.2:80", "10.0.1.3:80"}}});
    auto& backends = snapshot->listeners[0].runtime->backends;
    backends[0].state->status.store(BackendStatus::kDrain);
    backends[0].state->healthy.store(false);  // drained backends take no new connections
    backends[1].state->status.store(BackendStatus::kMaint);
    backends[2].state->status.store(BackendStatus::kDown);
    std::string text = format_metrics(snapshot.get(), {});
    EXPECT_EQ(sample(text, "ringlb_backend_up{listener=\"web\",backend=\"10.0.1.1:80\"}"), 1);
    EXPECT_EQ(sample(text, "ringlb_backend_up{listener=\"web\",backend=\"10.0.1.2:80\"}"), 0);
    EXPECT_EQ(sample(text, "ringlb_backend_up{listener=\"web\",backend=\"10.0.1.3:80\"}"), 0);
    EXPECT_EQ(sample(text, "ringlb_backend_status{listener=\"web\",backend=\"10.0.1.1:80\",status=\"drain\"}"), 1);
    EXPECT_EQ(sample(text, "ringlb_backend_status{listener=\"web\",backend=\"10.0.1.2:80\",status=\"maint\"}"), 1);
}

TEST(Metrics, NoSnapshotStillGivesAValidPage) {
    std::string text = format_metrics(nullptr, {"x", 0, 0, {}});
    expect_valid_exposition(text);
    EXPECT_EQ(sample(text, "ringlb_build_info{version=\"x\"}"), 1);
}

TEST(Metrics, SecondsAreExactDecimals) {
    EXPECT_EQ(format_seconds(0), "0");
    EXPECT_EQ(format_seconds(250), "0.00025");
    EXPECT_EQ(format_seconds(1000), "0.001");
    EXPECT_EQ(format_seconds(2500000), "2.5");
    EXPECT_EQ(format_seconds(60003281), "60.003281");
    EXPECT_EQ(escape_label_value("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
}

TEST(MetricsHttp, RequestHeadsAreReadWhenComplete) {
    EXPECT_EQ(parse_http_request_head("GET /metrics HTTP/1.1\r\nHost: x\r\n").state,
              HttpRequestHead::State::kIncomplete);
    HttpRequestHead head = parse_http_request_head("GET /metrics?x=1 HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_EQ(head.state, HttpRequestHead::State::kComplete);
    EXPECT_EQ(head.method, "GET");
    EXPECT_EQ(head.target, "/metrics");
    EXPECT_EQ(parse_http_request_head("GET / HTTP/1.0\n\n").state, HttpRequestHead::State::kComplete);
    for (const char* bad : {"GET\r\n\r\n", "GET metrics HTTP/1.1\r\n\r\n", "get /metrics HTTP/1.1\r\n\r\n",
                            "GET /metrics SPDY/3\r\n\r\n", "\x16\x03\x01\x02\r\n\r\n"})
        EXPECT_EQ(parse_http_request_head(bad).state, HttpRequestHead::State::kBad) << bad;
    EXPECT_EQ(parse_http_request_head(std::string(kMaxHttpHeadBytes + 1, 'A')).state, HttpRequestHead::State::kBad);
}

TEST(MetricsHttp, OnlyGetAndHeadOfMetricsServeTheBody) {
    auto body = [] { return std::string("m 1\n"); };
    std::string ok = respond_http(parse_http_request_head("GET /metrics HTTP/1.1\r\n\r\n"), body);
    EXPECT_EQ(ok, "HTTP/1.0 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
                  "Content-Length: 4\r\nConnection: close\r\n\r\nm 1\n");
    std::string head = respond_http(parse_http_request_head("HEAD /metrics HTTP/1.1\r\n\r\n"), body);
    EXPECT_TRUE(head.ends_with("Content-Length: 4\r\nConnection: close\r\n\r\n"));
    EXPECT_TRUE(respond_http(parse_http_request_head("POST /metrics HTTP/1.1\r\n\r\n"), body).starts_with("HTTP/1.0 405"));
    EXPECT_TRUE(respond_http(parse_http_request_head("GET /x HTTP/1.1\r\n\r\n"), body).starts_with("HTTP/1.0 404"));
    EXPECT_TRUE(respond_http(parse_http_request_head("nonsense\r\n\r\n"), body).starts_with("HTTP/1.0 400"));
}

}  // namespace
}  // namespace ringlb
