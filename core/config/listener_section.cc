// The [listener.NAME] key table, the backend and check values, and the checks across
// listeners (one bind per address); see listener_section.h.
#include "core/config/listener_section.h"

#include <algorithm>
#include <unordered_map>

#include "core/base/prime.h"

namespace ringlb {

namespace {

constexpr uint32_t kMaxWeight = 256;
constexpr int kMaxRiseFall = 100;
constexpr uint32_t kMaxMaxFails = 1000;
constexpr int kMaxRetries = 16;
constexpr uint32_t kMinHashTableSize = 1009;
constexpr uint32_t kMaxHashTableSize = 10000019;
constexpr uint32_t kMaxRatePerSource = 1000000;
// Linux's limits for TCP_KEEPIDLE / TCP_KEEPINTVL (seconds) and TCP_KEEPCNT (MAX_TCP_KEEP*).
constexpr int64_t kMaxKeepaliveSeconds = 32767;
constexpr uint32_t kMaxKeepaliveCount = 127;

// "ADDR:PORT [weight=N] [backup] [state=ready|drain|maint]"
ValueError add_backend(ListenerConfig& listener, const ConfigEntry& entry) {
    auto words = split_words(entry.value);
    if (words.empty()) return bad_address("backend", entry.value);
    auto address = InetAddr::parse(words[0]);
    if (!address) return bad_address("backend", words[0]);
    BackendConfig backend;
    backend.address = *address;
    backend.line = entry.line;
    const std::string what = "backend " + address->to_string();
    bool have_weight = false;
    bool have_state = false;
    for (size_t i = 1; i < words.size(); ++i) {
        std::string_view word = words[i];
        if (word == "backup") {
            if (backend.backup) return what + ": backup given twice";
            backend.backup = true;
        } else if (word.starts_with("weight=")) {
            if (have_weight) return what + ": weight given twice";
            auto weight = parse_config_uint(word.substr(7));
            if (!weight || *weight < 1 || *weight > kMaxWeight)
                return what + ": bad weight '" + std::string(word.substr(7)) + "' (expected a number 1.." +
                       std::to_string(kMaxWeight) + ")";
            backend.weight = static_cast<uint32_t>(*weight);
            have_weight = true;
        } else if (word.starts_with("state=")) {
            if (have_state) return what + ": state given twice";
            auto state = parse_backend_state(word.substr(6));
            if (!state)
                return what + ": bad state '" + std::string(word.substr(6)) + "' (expected " +
                       expected_names<BackendAdminState>(kBackendStateNames) + ")";
            backend.state = *state;
            have_state = true;
        } else {
            return what + ": unknown option '" + std::string(word) +
                   "' (expected weight=N, backup or state=ready|drain|maint)";
        }
    }
    listener.backends.push_back(backend);  // duplicates are found once all are in: drop_duplicate_backends
    return std::nullopt;
}

// check_port and agent_port: unset means "none" or "the backend's port".
ValueError set_port(std::optional<uint16_t>& out, const ConfigEntry& entry) {
    uint16_t port = 0;
    if (auto error = set_number(port, entry, 1, 65535)) return error;
    out = port;
    return std::nullopt;
}

// "STATUS" or "MIN-MAX", HTTP status codes 100..599.
bool parse_status_range(std::string_view text, int& min, int& max) {
    auto dash = text.find('-');
    auto low = parse_config_uint(text.substr(0, dash));
    auto high = dash == std::string_view::npos ? low : parse_config_uint(text.substr(dash + 1));
    if (!low || !high || *low < 100 || *high > 599 || *low > *high) return false;
    min = static_cast<int>(*low);
    max = static_cast<int>(*high);
    return true;
}

// "none" | "tcp" | "http METHOD PATH expect STATUS[-STATUS] [host NAME]"
ValueError set_check(HealthCheckSpec& out, const ConfigEntry& entry) {
    const std::string usage = " (expected none, tcp or 'http METHOD PATH expect STATUS [host NAME]')";
    auto words = split_words(entry.value);
    HealthCheckSpec spec;
    if (words.size() == 1 && words[0] == "none") {
        spec.kind = HealthCheckKind::kNone;
    } else if (words.size() == 1 && words[0] == "tcp") {
        spec.kind = HealthCheckKind::kTcp;
    } else if (!words.empty() && words[0] == "http") {
        if (words.size() != 5 && words.size() != 7) return "bad check '" + entry.value + "'" + usage;
        spec.kind = HealthCheckKind::kHttp;
        std::string_view method = words[1];
        if (!std::all_of(method.begin(), method.end(), [](char c) { return c >= 'A' && c <= 'Z'; }))
            return "bad check method '" + std::string(method) + "' (expected upper case, e.g. GET or HEAD)";
        spec.http_method = method;
        if (!words[2].starts_with('/'))
            return "bad check path '" + std::string(words[2]) + "' (expected it to start with '/')";
        spec.http_path = words[2];
        if (words[3] != "expect") return "bad check '" + entry.value + "'" + usage;
        if (!parse_status_range(words[4], spec.expect_status_min, spec.expect_status_max))
            return "bad check status '" + std::string(words[4]) +
                   "' (expected a status 100..599 or a range such as 200-399)";
        if (words.size() == 7) {
            if (words[5] != "host") return "bad check '" + entry.value + "'" + usage;
            spec.http_host = words[6];
        }
    } else {
        return "bad check '" + entry.value + "'" + usage;
    }
    out = spec;
    return std::nullopt;
}

using L = ListenerConfig;

const ConfigKeyRule<L> kListenerKeys[] = {
    {"bind", false, [](L& l, const ConfigEntry& e) { return set_address(l.bind, e); }},
    {"scheduler", false, named_key<&L::scheduler, kSchedulerNames>},
    {"backend", true, add_backend},
    {"check", false, [](L& l, const ConfigEntry& e) { return set_check(l.check, e); }},
    {"check_port", false, [](L& l, const ConfigEntry& e) { return set_port(l.check_port, e); }},
    {"check_interval", false, positive_duration_key<&L::check_interval>},
    {"check_timeout", false, positive_duration_key<&L::check_timeout>},
    {"rise", false, number_key<&L::rise, 1, kMaxRiseFall>},
    {"fall", false, number_key<&L::fall, 1, kMaxRiseFall>},
    {"max_fails", false, number_key<&L::max_fails, 0, kMaxMaxFails>},
    {"fail_timeout", false, positive_duration_key<&L::fail_timeout>},
    {"slow_start", false, duration_key<&L::slow_start>},
    {"agent_port", false, [](L& l, const ConfigEntry& e) { return set_port(l.agent_port, e); }},
    {"agent_interval", false, positive_duration_key<&L::agent_interval>},
    {"connect_timeout", false, positive_duration_key<&L::connect_timeout>},
    {"idle_timeout", false, positive_duration_key<&L::idle_timeout>},
    {"half_close_timeout", false, positive_duration_key<&L::half_close_timeout>},
    // 0 is meaningful here: refuse at once when every backend is full.
    {"queue_timeout", false, duration_key<&L::queue_timeout>},
    {"splice", false, named_key<&L::splice, kSpliceModeNames>},
    {"retries", false, number_key<&L::retries, 0, kMaxRetries>},
    {"max_connections", false, number_key<&L::max_connections, 0, UINT32_MAX>},
    {"max_conn_per_source", false, number_key<&L::max_conn_per_source, 0, UINT32_MAX>},
    // The bucket refills every 1/rate s in whole nanoseconds: at most 10^6 keeps that exact to 0.1%.
    {"rate_per_source", false, number_key<&L::rate_per_source, 0, kMaxRatePerSource>},
    {"proxy_protocol", false, named_key<&L::proxy_protocol, kProxyProtocolNames>},
    {"allow", true, prefixes_key<&L::allow>},
    {"deny", true, prefixes_key<&L::deny>},
    {"accept_proxy", false, named_key<&L::accept_proxy, kAcceptProxyNames>},
    {"accept_proxy_timeout", false, positive_duration_key<&L::accept_proxy_timeout>},
    {"accept_proxy_from", true, prefixes_key<&L::accept_proxy_from>},
    {"transparent", false, switch_key<&L::transparent>},
    {"transparent_mark", false, number_key<&L::transparent_mark, 0, UINT32_MAX>},
    {"tcp_keepalive", false, switch_key<&L::tcp_keepalive>},
    {"keepalive_idle", false,
     [](L& l, const ConfigEntry& e) { return set_whole_seconds(l.keepalive_idle, e, kMaxKeepaliveSeconds); }},
    {"keepalive_interval", false,
     [](L& l, const ConfigEntry& e) { return set_whole_seconds(l.keepalive_interval, e, kMaxKeepaliveSeconds); }},
    {"keepalive_count", false, number_key<&L::keepalive_count, 1, kMaxKeepaliveCount>},
    // 0 is meaningful here: connections to a drained backend run until they end.
    {"drain_timeout", false, duration_key<&L::drain_timeout>},
    // Maglev needs a prime table size (NSDI 2016 §3.4); the bounds keep the
    // table between ~4 KB and ~40 MB of 4-byte slots.
    {"hash_table_size", false,
     [](L& l, const ConfigEntry& e) -> ValueError {
         uint32_t size = 0;
         if (auto error = set_number(size, e, kMinHashTableSize, kMaxHashTableSize)) return error;
         if (!is_prime(size)) return "hash_table_size " + e.value + " is not a prime (e.g. 65537 or 655373)";
         l.hash_table_size = size;
         return std::nullopt;
     }},
};

// One pass with a hash set, not a scan per backend: 10,000 backends parse in
// milliseconds instead of a second.
void drop_duplicate_backends(ListenerConfig& listener, const std::string& label, ConfigDiagnostics& diag) {
    std::unordered_map<InetAddr, int> first_line;
    first_line.reserve(listener.backends.size());
    std::erase_if(listener.backends, [&](const BackendConfig& backend) {
        auto [first, fresh] = first_line.emplace(backend.address, backend.line);
        if (!fresh)
            diag.error(backend.line, label + ": duplicate backend " + backend.address.to_string() +
                                         " (first at line " + std::to_string(first->second) + ")");
        return !fresh;
    });
}

// The keys that only make sense together: accept_proxy needs accept_proxy_from, so
// that no client can claim another's address; transparent needs backends of the
// family its clients have (without accept_proxy, the bind's).
void check_client_address_keys(const ListenerConfig& listener, const ConfigSection& section, const std::string& label,
                               ConfigDiagnostics& diag) {
    if (listener.accept_proxy != AcceptProxy::kOff && listener.accept_proxy_from.empty()) {
        const ConfigEntry* key = section.find("accept_proxy");
        diag.error(key ? key->line : section.line,
                   label + ": accept_proxy = " + std::string(format_accept_proxy(listener.accept_proxy)) +
                       " needs accept_proxy_from (the addresses of the balancers that may send PROXY headers)");
    }
    // Parsed, written back and checked, but not yet carried out by the worker: refused
    // rather than silently ignored, so that no one believes clients are checked.
    if (listener.transparent) {
        const ConfigEntry* key = section.find("transparent");
        diag.error(key ? key->line : section.line, label + ": transparent = on is not supported by this ringlbd yet");
    }
    if (!listener.transparent || listener.accept_proxy != AcceptProxy::kOff || listener.bind.family() == AF_UNSPEC)
        return;
    for (const BackendConfig& backend : listener.backends)
        if (backend.address.family() != listener.bind.family())
            diag.error(backend.line, label + ": transparent = on connects from the client's address, but backend " +
                                         backend.address.to_string() + " is not of the family of bind " +
                                         listener.bind.to_string());
}

}  // namespace

void parse_listener_sections(std::span<const ConfigSection> sections, Config& config, ConfigDiagnostics& diag) {
    std::map<std::string, int> header_line;                       // name → line of its header
    std::map<InetAddr, std::pair<std::string, int>> bound_by;     // bind → listener name, bind line
    for (const ConfigSection& section : sections) {
        const std::string label = section_label("listener", section);
        const bool fresh = is_first_section_of_its_name(header_line, section, "listener", diag);
        ListenerConfig listener = build_named_section<ListenerConfig>(section, kListenerKeys, label, diag);
        drop_duplicate_backends(listener, label, diag);
        check_client_address_keys(listener, section, label, diag);

        const ConfigEntry* bind = section.find("bind");
        if (bind == nullptr) diag.error(section.line, label + ": missing bind");
        if (section.find("backend") == nullptr)
            diag.error(section.line, label + ": no backends (add 'backend = ADDR:PORT')");
        if (!fresh) continue;
        if (bind != nullptr && listener.bind.family() != AF_UNSPEC) {
            auto [owner, claimed] = bound_by.emplace(listener.bind, std::make_pair(section.name, bind->line));
            if (!claimed)
                diag.error(bind->line, label + ": bind " + listener.bind.to_string() +
                                           " is already used by listener '" + owner->second.first +
                                           "' at line " + std::to_string(owner->second.second));
        }
        config.listeners.push_back(std::move(listener));
    }
}

}  // namespace ringlb
