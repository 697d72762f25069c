// The configuration model: plain values, no parsing and no I/O.
// A Config is built by config_parse, then shared read-only as
// std::shared_ptr<const Config> and swapped whole on reload.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/base/inet_addr.h"
#include "core/base/inet_prefix.h"
#include "core/config/vrrp_config.h"

namespace ringlb {

using Millis = std::chrono::milliseconds;

enum class SchedulerKind { kLeastConn, kRoundRobin, kSourceHash };
enum class SpliceMode { kAuto, kAlways, kNever };
enum class ProxyProtocol { kOff, kV1, kV2 };
// Which PROXY header a listener requires from its (trusted) clients: none, one version, or either.
enum class AcceptProxy { kOff, kV1, kV2, kAny };
enum class HealthCheckKind { kNone, kTcp, kHttp };

struct HealthCheckSpec {
    HealthCheckKind kind = HealthCheckKind::kNone;
    std::string http_method = "GET";   // kHttp only
    std::string http_path = "/";       // kHttp only
    int expect_status_min = 200;       // kHttp: accepted status range, inclusive
    int expect_status_max = 200;
    std::string http_host;             // kHttp: optional Host header

    bool operator==(const HealthCheckSpec&) const = default;
};

// Set by the operator (ringlbctl backend set --state): drain and maint take no
// new connections, live ones stay; maint is also not health-checked (DESIGN §5).
enum class BackendAdminState { kReady, kDrain, kMaint };

struct BackendConfig {
    InetAddr address;
    uint32_t weight = 1;               // 1..256
    bool backup = false;
    int line = 0;                      // where it was declared, for messages
    BackendAdminState state = BackendAdminState::kReady;   // "state=drain" in the backend line

    // Compares every field, line included (see format_config for round trips).
    bool operator==(const BackendConfig&) const = default;
};

struct ListenerConfig {
    std::string name;
    InetAddr bind;
    SchedulerKind scheduler = SchedulerKind::kLeastConn;
    std::vector<BackendConfig> backends;

    HealthCheckSpec check;
    std::optional<uint16_t> check_port;          // defaults to each backend's port
    Millis check_interval{2000};
    Millis check_timeout{1000};
    int rise = 2;
    int fall = 3;
    // Passive checks (nginx): max_fails connect failures within fail_timeout mark
    // a backend down; 0 = off. Back after rise passed checks, or fail_timeout later.
    uint32_t max_fails = 1;
    Millis fail_timeout{10 * 1000};
    Millis slow_start{0};                        // weight ramp after coming back; 0 = none
    std::optional<uint16_t> agent_port;          // agent check (HAProxy agent-check); unset = none
    Millis agent_interval{2000};

    Millis connect_timeout{3000};
    Millis idle_timeout{15 * 60 * 1000};
    Millis half_close_timeout{30 * 1000};
    Millis queue_timeout{5000};
    SpliceMode splice = SpliceMode::kAuto;
    int retries = 2;
    uint32_t max_connections = 0;                // per backend, 0 = unlimited
    // Abuse limits per client address, across all workers (core/forward/source_limiter.h).
    uint32_t max_conn_per_source = 0;            // connections open at once; 0 = unlimited
    uint32_t rate_per_source = 0;                // new connections per second, burst = rate; 0 = unlimited
    ProxyProtocol proxy_protocol = ProxyProtocol::kOff;
    uint32_t hash_table_size = 65537;            // source-hash: Maglev table size, prime

    // Who may connect, by client address (the PROXY header's with accept_proxy):
    // deny wins; an empty allow admits every address deny does not name.
    std::vector<InetPrefix> allow;
    std::vector<InetPrefix> deny;
    // A PROXY header (HAProxy's doc/proxy-protocol.txt) required from every client,
    // accepted only from accept_proxy_from and only if whole within the timeout.
    AcceptProxy accept_proxy = AcceptProxy::kOff;
    Millis accept_proxy_timeout{3000};
    std::vector<InetPrefix> accept_proxy_from;  // required when accept_proxy is on
    // Connect to backends from the client's own address and port (IP_TRANSPARENT),
    // with this socket mark (SO_MARK; 0 = none) for the operator's policy routing.
    bool transparent = false;
    uint32_t transparent_mark = 1;
    // SO_KEEPALIVE on client and backend sockets; whole seconds (TCP_KEEPIDLE, TCP_KEEPINTVL).
    bool tcp_keepalive = false;
    Millis keepalive_idle{60 * 1000};
    Millis keepalive_interval{10 * 1000};
    uint32_t keepalive_count = 6;
    // How long connections to a drained or removed backend may stay; 0 = until they end.
    Millis drain_timeout{0};

    int line = 0;                                // line of the [listener.NAME] header

    bool operator==(const ListenerConfig&) const = default;
};

struct GlobalConfig {
    int workers = 0;                             // 0 = auto (one per CPU)
    std::string control_socket = "/run/ringlb/ringlbd.sock";
    std::optional<InetAddr> metrics;             // unset = no metrics endpoint
    std::string log_level = "info";
    std::string access_log;                      // empty = no access log
    Millis shutdown_grace{30 * 1000};

    bool operator==(const GlobalConfig&) const = default;
};

struct Config {
    std::string source_file;                     // the file it was loaded from, if any
    GlobalConfig global;
    std::vector<ListenerConfig> listeners;       // in file order; names unique
    // [vrrp.NAME] sections in file order; names unique, and no two share an
    // (interface, vrid) pair or a VIP. primary_address is 0 unless source_address
    // was given: the VRRP runner reads it from the interface.
    std::vector<VrrpInstanceConfig> vrrp;

    const ListenerConfig* find_listener(const std::string& name) const {
        for (const auto& listener : listeners)
            if (listener.name == name) return &listener;
        return nullptr;
    }

    bool operator==(const Config&) const = default;
};

}  // namespace ringlb
