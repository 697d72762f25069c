// The words ringlb.conf, the control protocol, ringlbctl and the metrics use for the
// config's enums, both ways, and the one-line text of a health check. Names only, so
// that the control plane and ringlbctl need not include the config file parser.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "core/config/config.h"

namespace ringlb {

// One spelling of an enum value.
template <class E>
struct NamedValue {
    std::string_view name;
    E value;
};

// Every spelling, in the order error messages list them.
inline constexpr NamedValue<SchedulerKind> kSchedulerNames[] = {
    {"leastconn", SchedulerKind::kLeastConn},
    {"source-hash", SchedulerKind::kSourceHash},
    {"roundrobin", SchedulerKind::kRoundRobin},
};
inline constexpr NamedValue<SpliceMode> kSpliceModeNames[] = {
    {"auto", SpliceMode::kAuto}, {"always", SpliceMode::kAlways}, {"never", SpliceMode::kNever}};
inline constexpr NamedValue<ProxyProtocol> kProxyProtocolNames[] = {
    {"off", ProxyProtocol::kOff}, {"v1", ProxyProtocol::kV1}, {"v2", ProxyProtocol::kV2}};
inline constexpr NamedValue<AcceptProxy> kAcceptProxyNames[] = {
    {"off", AcceptProxy::kOff}, {"v1", AcceptProxy::kV1}, {"v2", AcceptProxy::kV2}, {"any", AcceptProxy::kAny}};
inline constexpr NamedValue<BackendAdminState> kBackendStateNames[] = {
    {"ready", BackendAdminState::kReady}, {"drain", BackendAdminState::kDrain}, {"maint", BackendAdminState::kMaint}};

template <class E>
std::optional<E> find_by_name(std::span<const NamedValue<E>> names, std::string_view text) {
    for (const auto& named : names)
        if (named.name == text) return named.value;
    return std::nullopt;
}

// "?" for a value missing from the table (a table bug, never a user's).
template <class E>
std::string_view name_of(std::span<const NamedValue<E>> names, E value) {
    for (const auto& named : names)
        if (named.value == value) return named.name;
    return "?";
}

inline std::string_view format_scheduler(SchedulerKind kind) { return name_of<SchedulerKind>(kSchedulerNames, kind); }
inline std::string_view format_splice_mode(SpliceMode mode) { return name_of<SpliceMode>(kSpliceModeNames, mode); }
inline std::string_view format_proxy_protocol(ProxyProtocol protocol) {
    return name_of<ProxyProtocol>(kProxyProtocolNames, protocol);
}
inline std::string_view format_accept_proxy(AcceptProxy mode) { return name_of<AcceptProxy>(kAcceptProxyNames, mode); }
inline std::string_view format_backend_state(BackendAdminState state) {
    return name_of<BackendAdminState>(kBackendStateNames, state);
}
// "ready" | "drain" | "maint"
inline std::optional<BackendAdminState> parse_backend_state(std::string_view text) {
    return find_by_name<BackendAdminState>(kBackendStateNames, text);
}

// As the check key spells it: "none", "tcp" or "http GET /health expect 200-399 host NAME".
std::string format_health_check(const HealthCheckSpec& check);

}  // namespace ringlb
