// ringlb.conf → Config and back; see config_parse.h. Boost.Program_options
// tokenizes the INI text; a pre-scan that tokenizes the same way supplies the
// line numbers Boost does not keep, and catches syntax errors with their line.
#include "core/config/config_parse.h"

#include <boost/program_options/options_description.hpp>
#include <boost/program_options/parsers.hpp>

#include <arpa/inet.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <sstream>
#include <unordered_map>

#include "core/base/duration.h"
#include "core/base/prime.h"
#include "core/base/text.h"

namespace ringlb {

namespace {

using KeyError = std::optional<std::string>;

// ---------------------------------------------------------------------------
// Value parsers shared by the section parsers. Each returns the message for a
// bad value; the caller prefixes file, line and section.

// "a, b or c", for "(expected ...)".
template <class E>
std::string expected_names(std::span<const NamedValue<E>> names) {
    std::string text;
    for (size_t i = 0; i < names.size(); ++i) {
        if (i > 0) text += i + 1 == names.size() ? " or " : ", ";
        text += names[i].name;
    }
    return text;
}

template <class E>
KeyError set_named(E& out, const ConfigEntry& entry, std::span<const NamedValue<E>> names) {
    for (const auto& named : names) {
        if (named.name == entry.value) {
            out = named.value;
            return std::nullopt;
        }
    }
    return "unknown " + entry.key + " '" + entry.value + "' (expected " + expected_names(names) + ")";
}

template <class T>
KeyError set_number(T& out, const ConfigEntry& entry, uint64_t min, uint64_t max) {
    auto number = parse_config_uint(entry.value);
    if (!number || *number < min || *number > max)
        return "bad " + entry.key + " '" + entry.value + "' (expected a number " + std::to_string(min) +
               ".." + std::to_string(max) + ")";
    out = static_cast<T>(*number);
    return std::nullopt;
}

KeyError set_duration(Millis& out, const ConfigEntry& entry, bool allow_zero) {
    auto duration = parse_duration(entry.value);
    if (!duration)
        return "bad duration '" + entry.value + "' for " + entry.key +
               " (expected a whole number with ms, s, m or h, e.g. 500ms, 3s, 15m, 1h)";
    if (!allow_zero && duration->count() == 0) return entry.key + " must be greater than 0";
    out = *duration;
    return std::nullopt;
}

std::string bad_address(std::string_view what, std::string_view text) {
    return "bad address '" + std::string(text) + "' for " + std::string(what) +
           " (expected IPV4:PORT or [IPV6]:PORT, port 1..65535)";
}

KeyError set_address(InetAddr& out, const ConfigEntry& entry) {
    auto address = InetAddr::parse(entry.value);
    if (!address) return bad_address(entry.key, entry.value);
    out = *address;
    return std::nullopt;
}

std::vector<std::string_view> split_words(std::string_view text) {
    std::vector<std::string_view> words;
    size_t pos = 0;
    while (pos < text.size()) {
        size_t start = text.find_first_not_of(" \t", pos);
        if (start == std::string_view::npos) break;
        size_t end = text.find_first_of(" \t", start);
        if (end == std::string_view::npos) end = text.size();
        words.push_back(text.substr(start, end - start));
        pos = end;
    }
    return words;
}

// ---------------------------------------------------------------------------
// [global]

constexpr int kMaxWorkers = 256;
// sockaddr_un::sun_path holds 108 bytes including the terminating NUL.
constexpr size_t kMaxSocketPath = 107;

constexpr std::string_view kLogLevels[] = {"trace", "debug", "info", "warn", "error", "critical", "off"};

const ConfigKeyRule<GlobalConfig> kGlobalKeys[] = {
    {"workers", false,
     [](GlobalConfig& global, const ConfigEntry& entry) -> KeyError {
         if (entry.value == "auto") {
             global.workers = 0;
             return std::nullopt;
         }
         auto number = parse_config_uint(entry.value);
         if (!number || *number < 1 || *number > kMaxWorkers)
             return "bad workers '" + entry.value + "' (expected auto or a number 1.." +
                    std::to_string(kMaxWorkers) + ")";
         global.workers = static_cast<int>(*number);
         return std::nullopt;
     }},
    {"control_socket", false,
     [](GlobalConfig& global, const ConfigEntry& entry) -> KeyError {
         if (entry.value.empty()) return std::string("control_socket must not be empty");
         if (entry.value.size() > kMaxSocketPath)
             return "control_socket path is " + std::to_string(entry.value.size()) +
                    " bytes long; a Unix socket path holds at most " + std::to_string(kMaxSocketPath);
         global.control_socket = entry.value;
         return std::nullopt;
     }},
    {"metrics", false,
     [](GlobalConfig& global, const ConfigEntry& entry) -> KeyError {
         auto address = InetAddr::parse(entry.value);
         if (!address) return bad_address(entry.key, entry.value);
         global.metrics = *address;
         return std::nullopt;
     }},
    {"log_level", false,
     [](GlobalConfig& global, const ConfigEntry& entry) -> KeyError {
         for (std::string_view level : kLogLevels) {
             if (level == entry.value) {
                 global.log_level = entry.value;
                 return std::nullopt;
             }
         }
         return "unknown log_level '" + entry.value +
                "' (expected trace, debug, info, warn, error, critical or off)";
     }},
    {"access_log", false,
     [](GlobalConfig& global, const ConfigEntry& entry) -> KeyError {
         global.access_log = entry.value;
         return std::nullopt;
     }},
    {"shutdown_grace", false,
     [](GlobalConfig& global, const ConfigEntry& entry) {
         return set_duration(global.shutdown_grace, entry, true);
     }},
};

void parse_global_sections(std::span<const ConfigSection> sections, Config& config, ConfigDiagnostics& diag) {
    for (size_t i = 0; i < sections.size(); ++i) {
        // A second [global] is still checked key by key, into a copy nobody keeps.
        GlobalConfig ignored;
        GlobalConfig& target = i == 0 ? config.global : ignored;
        if (i > 0)
            diag.error(sections[i].line,
                       "duplicate section [global] (first at line " + std::to_string(sections[0].line) + ")");
        apply_config_keys<GlobalConfig>(sections[i], kGlobalKeys, target, "global", diag);
    }
}

// ---------------------------------------------------------------------------
// [listener.NAME]

constexpr uint32_t kMaxWeight = 256;
constexpr int kMaxRiseFall = 100;
constexpr uint32_t kMaxMaxFails = 1000;
constexpr int kMaxRetries = 16;
constexpr uint32_t kMinHashTableSize = 1009;
constexpr uint32_t kMaxHashTableSize = 10000019;
constexpr uint32_t kMaxRatePerSource = 1000000;

// "ADDR:PORT [weight=N] [backup] [state=ready|drain|maint]"
KeyError add_backend(ListenerConfig& listener, const ConfigEntry& entry) {
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
KeyError set_check(HealthCheckSpec& out, const ConfigEntry& entry) {
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

const ConfigKeyRule<ListenerConfig> kListenerKeys[] = {
    {"bind", false, [](ListenerConfig& l, const ConfigEntry& e) { return set_address(l.bind, e); }},
    {"scheduler", false,
     [](ListenerConfig& l, const ConfigEntry& e) {
         return set_named<SchedulerKind>(l.scheduler, e, kSchedulerNames);
     }},
    {"backend", true, add_backend},
    {"check", false, [](ListenerConfig& l, const ConfigEntry& e) { return set_check(l.check, e); }},
    {"check_port", false,
     [](ListenerConfig& l, const ConfigEntry& e) -> KeyError {
         uint16_t port = 0;
         if (auto error = set_number(port, e, 1, 65535)) return error;
         l.check_port = port;
         return std::nullopt;
     }},
    {"check_interval", false,
     [](ListenerConfig& l, const ConfigEntry& e) { return set_duration(l.check_interval, e, false); }},
    {"check_timeout", false,
     [](ListenerConfig& l, const ConfigEntry& e) { return set_duration(l.check_timeout, e, false); }},
    {"rise", false, [](ListenerConfig& l, const ConfigEntry& e) { return set_number(l.rise, e, 1, kMaxRiseFall); }},
    {"fall", false, [](ListenerConfig& l, const ConfigEntry& e) { return set_number(l.fall, e, 1, kMaxRiseFall); }},
    {"max_fails", false,
     [](ListenerConfig& l, const ConfigEntry& e) { return set_number(l.max_fails, e, 0, kMaxMaxFails); }},
    {"fail_timeout", false,
     [](ListenerConfig& l, const ConfigEntry& e) { return set_duration(l.fail_timeout, e, false); }},
    {"slow_start", false,
     [](ListenerConfig& l, const ConfigEntry& e) { return set_duration(l.slow_start, e, true); }},
    {"agent_port", false,
     [](ListenerConfig& l, const ConfigEntry& e) -> KeyError {
         uint16_t port = 0;
         if (auto error = set_number(port, e, 1, 65535)) return error;
         l.agent_port = port;
         return std::nullopt;
     }},
    {"agent_interval", false,
     [](ListenerConfig& l, const ConfigEntry& e) { return set_duration(l.agent_interval, e, false); }},
    {"connect_timeout", false,
     [](ListenerConfig& l, const ConfigEntry& e) { return set_duration(l.connect_timeout, e, false); }},
    {"idle_timeout", false,
     [](ListenerConfig& l, const ConfigEntry& e) { return set_duration(l.idle_timeout, e, false); }},
    {"half_close_timeout", false,
     [](ListenerConfig& l, const ConfigEntry& e) { return set_duration(l.half_close_timeout, e, false); }},
    // 0 is meaningful here: refuse at once when every backend is full.
    {"queue_timeout", false,
     [](ListenerConfig& l, const ConfigEntry& e) { return set_duration(l.queue_timeout, e, true); }},
    {"splice", false,
     [](ListenerConfig& l, const ConfigEntry& e) { return set_named<SpliceMode>(l.splice, e, kSpliceModeNames); }},
    {"retries", false,
     [](ListenerConfig& l, const ConfigEntry& e) { return set_number(l.retries, e, 0, kMaxRetries); }},
    {"max_connections", false,
     [](ListenerConfig& l, const ConfigEntry& e) {
         return set_number(l.max_connections, e, 0, UINT32_MAX);
     }},
    {"max_conn_per_source", false,
     [](ListenerConfig& l, const ConfigEntry& e) {
         return set_number(l.max_conn_per_source, e, 0, UINT32_MAX);
     }},
    // The bucket refills every 1/rate s in whole nanoseconds: at most 10^6 keeps that exact to 0.1%.
    {"rate_per_source", false,
     [](ListenerConfig& l, const ConfigEntry& e) {
         return set_number(l.rate_per_source, e, 0, kMaxRatePerSource);
     }},
    {"proxy_protocol", false,
     [](ListenerConfig& l, const ConfigEntry& e) {
         return set_named<ProxyProtocol>(l.proxy_protocol, e, kProxyProtocolNames);
     }},
    // Maglev needs a prime table size (NSDI 2016 §3.4); the bounds keep the
    // table between ~4 KB and ~40 MB of 4-byte slots.
    {"hash_table_size", false,
     [](ListenerConfig& l, const ConfigEntry& e) -> KeyError {
         uint32_t size = 0;
         if (auto error = set_number(size, e, kMinHashTableSize, kMaxHashTableSize)) return error;
         if (!is_prime(size)) return "hash_table_size " + e.value + " is not a prime (e.g. 65537 or 655373)";
         l.hash_table_size = size;
         return std::nullopt;
     }},
};

// Remembers the header line of a [kind.NAME] section. A repeated name is an error that
// names the first; the caller then checks the section but does not keep it.
bool first_of_its_name(std::map<std::string, int>& header_line, const ConfigSection& section, std::string_view kind,
                       ConfigDiagnostics& diag) {
    auto [first, fresh] = header_line.emplace(section.name, section.line);
    if (!fresh)
        diag.error(section.line, "duplicate " + std::string(kind) + " '" + section.name + "' (first at line " +
                                     std::to_string(first->second) + ")");
    return fresh;
}

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

void parse_listener_sections(std::span<const ConfigSection> sections, Config& config, ConfigDiagnostics& diag) {
    std::map<std::string, int> header_line;                       // name → line of its header
    std::map<InetAddr, std::pair<std::string, int>> bound_by;     // bind → listener name, bind line
    for (const ConfigSection& section : sections) {
        const std::string label = "listener '" + section.name + "'";
        const bool fresh = first_of_its_name(header_line, section, "listener", diag);
        ListenerConfig listener;
        listener.name = section.name;
        listener.line = section.line;
        apply_config_keys<ListenerConfig>(section, kListenerKeys, listener, label, diag);
        drop_duplicate_backends(listener, label, diag);

        const ConfigEntry* bind = section.find("bind");
        if (bind == nullptr) diag.error(section.line, label + ": missing bind");
        if (section.find("backend") == nullptr)
            diag.error(section.line, label + ": no backends (add 'backend = ADDR:PORT')");
        if (!fresh) continue;
        if (bind != nullptr && listener.bind.family() != AF_UNSPEC) {
            auto [owner, unused] = bound_by.emplace(listener.bind, std::make_pair(section.name, bind->line));
            if (!unused)
                diag.error(bind->line, label + ": bind " + listener.bind.to_string() +
                                           " is already used by listener '" + owner->second.first +
                                           "' at line " + std::to_string(owner->second.second));
        }
        config.listeners.push_back(std::move(listener));
    }
}

// ---------------------------------------------------------------------------
// [vrrp.NAME] (DESIGN §9). Host facts (does the interface exist, is the notify
// script executable) are checked by vrrp/vrrp_check.h, not here: parsing is pure.

// The VRRP wire carries the interval in 12 bits of centiseconds (RFC 5798 §5.2.7).
constexpr Millis kMinAdvertInterval{10};
constexpr Millis kMaxAdvertInterval{40950};
constexpr Millis kMaxPreemptDelay{3600 * 1000};
constexpr int kMaxTrackWeight = 254;
constexpr int kMaxGarpRepeat = 100;
constexpr size_t kMaxInterfaceName = 15;  // IFNAMSIZ − 1
constexpr size_t kMaxVips = 255;          // the advert's address count is 8 bits

std::optional<Ipv4> parse_ipv4(std::string_view text) {
    // inet_pton takes only the four-part dotted decimal form, which is what we want.
    in_addr address{};
    if (text.empty() || text.size() > 15 || inet_pton(AF_INET, std::string(text).c_str(), &address) != 1)
        return std::nullopt;
    return ntohl(address.s_addr);
}

bool is_multicast_or_reserved(Ipv4 address) {
    const uint8_t first = uint8_t(address >> 24);
    return address == 0 || first == 0 || first == 127 || first >= 224;
}

std::string format_prefix(const Ipv4Prefix& prefix) {
    return format_ipv4(prefix.address) + "/" + std::to_string(prefix.prefix_len);
}

KeyError set_bool(bool& out, const ConfigEntry& entry) {
    if (entry.value == "true") out = true;
    else if (entry.value == "false") out = false;
    else return "bad " + entry.key + " '" + entry.value + "' (expected true or false)";
    return std::nullopt;
}

// "A.B.C.D/LEN", or "A.B.C.D" for /32.
KeyError add_vip(VrrpInstanceConfig& vrrp, const ConfigEntry& entry) {
    const std::string usage = " (expected A.B.C.D/LEN, LEN 1..32)";
    const size_t slash = std::string_view(entry.value).find('/');
    auto address = parse_ipv4(std::string_view(entry.value).substr(0, slash));
    Ipv4Prefix vip;
    if (!address) return "bad vip '" + entry.value + "'" + usage;
    vip.address = *address;
    if (slash != std::string::npos) {
        auto length = parse_config_uint(std::string_view(entry.value).substr(slash + 1));
        if (!length || *length < 1 || *length > 32) return "bad vip '" + entry.value + "'" + usage;
        vip.prefix_len = uint8_t(*length);
    }
    if (is_multicast_or_reserved(vip.address))
        return "vip " + format_ipv4(vip.address) + " is not a unicast host address";
    for (const Ipv4Prefix& other : vrrp.vips)
        if (other.address == vip.address) return "vip " + format_ipv4(vip.address) + " given twice";
    if (vrrp.vips.size() == kMaxVips)
        return "more than " + std::to_string(kMaxVips) + " vips (an advertisement carries at most that many)";
    vrrp.vips.push_back(vip);
    return std::nullopt;
}

KeyError set_ipv4_host(Ipv4& out, const ConfigEntry& entry) {
    auto address = parse_ipv4(entry.value);
    if (!address) return "bad " + entry.key + " '" + entry.value + "' (expected an IPv4 address A.B.C.D)";
    if (is_multicast_or_reserved(*address))
        return entry.key + " " + entry.value + " is not a unicast host address";
    out = *address;
    return std::nullopt;
}

const ConfigKeyRule<VrrpInstanceConfig> kVrrpKeys[] = {
    {"interface", false,
     [](VrrpInstanceConfig& v, const ConfigEntry& e) -> KeyError {
         const bool ok = !e.value.empty() && e.value.size() <= kMaxInterfaceName && e.value != "." &&
                         e.value != ".." && std::none_of(e.value.begin(), e.value.end(), [](char c) {
                             return c == '/' || c == ':' || c == ' ' || c == '\t';
                         });
         if (!ok)
             return "bad interface '" + e.value + "' (expected a network interface name of at most " +
                    std::to_string(kMaxInterfaceName) + " characters)";
         v.interface = e.value;
         return std::nullopt;
     }},
    {"vrid", false, [](VrrpInstanceConfig& v, const ConfigEntry& e) { return set_number(v.vrid, e, 1, 255); }},
    {"priority", false,
     [](VrrpInstanceConfig& v, const ConfigEntry& e) { return set_number(v.priority, e, 1, 255); }},
    {"advert_interval", false,
     [](VrrpInstanceConfig& v, const ConfigEntry& e) -> KeyError {
         Millis interval{};
         if (auto error = set_duration(interval, e, true)) return error;
         if (interval < kMinAdvertInterval || interval > kMaxAdvertInterval)
             return "advert_interval " + e.value + " is outside 10ms..40950ms";
         if (interval.count() % 10 != 0)
             return "advert_interval " + e.value +
                    " is not a multiple of 10ms (the advertisement carries centiseconds)";
         v.advert_interval = interval;
         return std::nullopt;
     }},
    {"vip", true, add_vip},
    {"preempt", false, [](VrrpInstanceConfig& v, const ConfigEntry& e) { return set_bool(v.preempt, e); }},
    {"preempt_delay", false,
     [](VrrpInstanceConfig& v, const ConfigEntry& e) -> KeyError {
         Millis delay{};
         if (auto error = set_duration(delay, e, true)) return error;
         if (delay > kMaxPreemptDelay) return "preempt_delay " + e.value + " is longer than 1h";
         v.preempt_delay = delay;
         return std::nullopt;
     }},
    {"unicast_peer", true,
     [](VrrpInstanceConfig& v, const ConfigEntry& e) -> KeyError {
         Ipv4 peer = 0;
         if (auto error = set_ipv4_host(peer, e)) return error;
         if (std::find(v.unicast_peers.begin(), v.unicast_peers.end(), peer) != v.unicast_peers.end())
             return "unicast_peer " + e.value + " given twice";
         v.unicast_peers.push_back(peer);
         return std::nullopt;
     }},
    {"source_address", false,
     [](VrrpInstanceConfig& v, const ConfigEntry& e) { return set_ipv4_host(v.primary_address, e); }},
    {"track_listener", false,
     [](VrrpInstanceConfig& v, const ConfigEntry& e) -> KeyError {
         if (e.value.empty()) return std::string("track_listener must name a listener");
         v.track_listener = e.value;
         return std::nullopt;
     }},
    {"track_weight", false,
     [](VrrpInstanceConfig& v, const ConfigEntry& e) { return set_number(v.track_weight, e, 0, kMaxTrackWeight); }},
    {"notify", false,
     [](VrrpInstanceConfig& v, const ConfigEntry& e) -> KeyError {
         if (!e.value.starts_with('/')) return "notify '" + e.value + "' is not an absolute path";
         v.notify = e.value;
         return std::nullopt;
     }},
    {"garp_repeat", false,
     [](VrrpInstanceConfig& v, const ConfigEntry& e) { return set_number(v.garp_repeat, e, 0, kMaxGarpRepeat); }},
    {"garp_interval", false,
     [](VrrpInstanceConfig& v, const ConfigEntry& e) { return set_duration(v.garp_interval, e, false); }},
    {"garp_refresh", false,
     [](VrrpInstanceConfig& v, const ConfigEntry& e) { return set_duration(v.garp_refresh, e, true); }},
};

void parse_vrrp_sections(std::span<const ConfigSection> sections, Config& config, ConfigDiagnostics& diag) {
    std::map<std::string, int> header_line;                                // name → header line
    std::map<std::pair<std::string, int>, std::string> router_owner;       // (interface, vrid) → name
    std::map<Ipv4, std::string> vip_owner;                                 // vip → name
    for (const ConfigSection& section : sections) {
        const std::string label = "vrrp '" + section.name + "'";
        const bool fresh = first_of_its_name(header_line, section, "vrrp", diag);
        VrrpInstanceConfig vrrp;
        vrrp.name = section.name;
        vrrp.line = section.line;
        apply_config_keys<VrrpInstanceConfig>(section, kVrrpKeys, vrrp, label, diag);

        const bool have_interface = section.find("interface") != nullptr;
        const bool have_vrid = section.find("vrid") != nullptr;
        if (!have_interface) diag.error(section.line, label + ": missing interface");
        if (!have_vrid) diag.error(section.line, label + ": missing vrid (1..255, the same on both hosts)");
        if (section.find("vip") == nullptr) diag.error(section.line, label + ": no vip (add 'vip = A.B.C.D/LEN')");
        if (const ConfigEntry* track = section.find("track_listener");
            track != nullptr && !vrrp.track_listener.empty() && config.find_listener(vrrp.track_listener) == nullptr)
            diag.error(track->line, label + ": track_listener '" + vrrp.track_listener + "' is not a listener");
        if (const ConfigEntry* weight = section.find("track_weight");
            weight != nullptr && section.find("track_listener") == nullptr)
            diag.error(weight->line, label + ": track_weight without track_listener");
        // VIPs come and go with mastership; a host's own address must not.
        for (const Ipv4Prefix& vip : vrrp.vips) {
            if (vip.address == vrrp.primary_address)
                diag.error(section.find("source_address")->line,
                           label + ": source_address " + format_ipv4(vip.address) + " is also a vip");
            if (std::find(vrrp.unicast_peers.begin(), vrrp.unicast_peers.end(), vip.address) != vrrp.unicast_peers.end())
                diag.error(section.line, label + ": unicast_peer " + format_ipv4(vip.address) + " is also a vip");
        }
        if (!fresh) continue;

        if (have_interface && have_vrid) {
            auto [owner, unused] =
                router_owner.emplace(std::make_pair(vrrp.interface, int(vrrp.vrid)), section.name);
            if (!unused)
                diag.error(section.find("vrid")->line,
                           label + ": vrid " + std::to_string(vrrp.vrid) + " on " + vrrp.interface +
                               " is already used by vrrp '" + owner->second + "'");
        }
        for (const Ipv4Prefix& vip : vrrp.vips) {
            auto [owner, unused] = vip_owner.emplace(vip.address, section.name);
            if (!unused)
                diag.error(section.line, label + ": vip " + format_ipv4(vip.address) +
                                             " is already managed by vrrp '" + owner->second + "'");
        }
        config.vrrp.push_back(std::move(vrrp));
    }
}

// ---------------------------------------------------------------------------
// The section table. A kind's parser runs after those of the rows above it.

struct SectionKind {
    std::string_view kind;  // the header text before the first '.'
    bool named;             // [kind.NAME] rather than [kind]
    SectionParser parse;
};

const SectionKind kSectionKinds[] = {
    {"global", false, parse_global_sections},
    {"listener", true, parse_listener_sections},
    {"vrrp", true, parse_vrrp_sections},
};

std::string expected_sections() {
    std::string text;
    constexpr size_t count = std::size(kSectionKinds);
    for (size_t i = 0; i < count; ++i) {
        if (i > 0) text += i + 1 == count ? " or " : ", ";
        text += "[" + std::string(kSectionKinds[i].kind) + (kSectionKinds[i].named ? ".NAME]" : "]");
    }
    return text;
}

bool is_valid_section_name(std::string_view name) {
    return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    });
}

// ---------------------------------------------------------------------------
// Tokenizing. The pre-scan mirrors boost/program_options config_file.cpp
// (1.74): cut at '#', trim " \t\r\n", skip empty lines, "[...]" sets the
// section prefix, otherwise split at the first '='.

struct ScannedHeader {
    std::string text;  // between the brackets, untrimmed as Boost keeps it
    int line;
};

struct ScannedKey {
    std::string key;
    std::string boost_name;  // the section prefix + key, as Boost reports it
    size_t header;           // index into the headers
    int line;
};

struct Scan {
    std::vector<ScannedHeader> headers;
    std::vector<ScannedKey> keys;
};

Scan prescan(std::string_view text, ConfigDiagnostics& diag) {
    Scan scan;
    std::string prefix;
    int line_number = 0;
    size_t pos = 0;
    while (pos < text.size()) {
        size_t end = text.find('\n', pos);
        if (end == std::string_view::npos) end = text.size();
        std::string_view raw = text.substr(pos, end - pos);
        pos = end + 1;
        ++line_number;

        // Values reach C APIs (inet_pton, open, if_nametoindex) that stop at a NUL and
        // would silently use what comes before it, so a NUL anywhere, comments
        // included, marks a damaged or binary file (found by tests/fuzz/fuzz_config).
        if (raw.find('\0') != std::string_view::npos) {
            diag.error(line_number, "line contains a NUL byte");
            continue;
        }
        std::string_view line = raw.substr(0, raw.find('#'));
        // Newer Boost releases read a leading ';' as a comment, 1.74 as part of
        // a key; refusing it keeps the meaning of a file independent of Boost.
        if (line.starts_with(';')) {
            diag.error(line_number, "';' does not start a comment; use '#'");
            continue;
        }
        line = trim(line);
        if (line.empty()) continue;
        if (line.front() == '[' && line.back() == ']') {
            std::string_view inside = line.substr(1, line.size() - 2);
            if (trim(inside).empty()) {
                diag.error(line_number, "empty section name '" + std::string(line) + "'");
                continue;
            }
            prefix = std::string(inside);
            if (prefix.back() != '.') prefix += '.';
            scan.headers.push_back({std::string(inside), line_number});
            continue;
        }
        size_t equals = line.find('=');
        if (equals == std::string_view::npos) {
            diag.error(line_number, "expected '[section]' or 'key = value', found '" + std::string(line) + "'");
            continue;
        }
        std::string key(trim(line.substr(0, equals)));
        if (key.empty()) {
            diag.error(line_number, "missing key before '='");
        } else if (scan.headers.empty()) {
            diag.error(line_number, "key '" + key + "' comes before any section (expected " +
                                        expected_sections() + " first)");
        } else {
            scan.keys.push_back({key, prefix + key, scan.headers.size() - 1, line_number});
        }
    }
    return scan;
}

// Lets Boost tokenize the text and pairs its options, which come back in file
// order, with the pre-scanned key lines. Returns the values, or nullopt after
// reporting why the two disagree (which would be a parser bug, not a user's).
std::optional<std::vector<std::string>> tokenize_with_boost(std::string_view text, const Scan& scan,
                                                            ConfigDiagnostics& diag) {
    namespace po = boost::program_options;
    std::istringstream stream{std::string(text)};
    // Nothing is registered: section kinds and their keys are checked by our
    // own tables, which know listener names and report lines.
    po::options_description nothing_registered;
    po::parsed_options parsed(nullptr);
    try {
        parsed = po::parse_config_file(stream, nothing_registered, true);
    } catch (const std::exception& error) {
        diag.error(0, std::string("cannot parse: ") + error.what());
        return std::nullopt;
    }
    if (parsed.options.size() != scan.keys.size()) {
        diag.error(0, "internal error: Boost found " + std::to_string(parsed.options.size()) +
                          " keys, the pre-scan " + std::to_string(scan.keys.size()));
        return std::nullopt;
    }
    std::vector<std::string> values;
    for (size_t i = 0; i < scan.keys.size(); ++i) {
        const po::option& option = parsed.options[i];
        if (option.string_key != scan.keys[i].boost_name || option.value.size() != 1) {
            diag.error(scan.keys[i].line, "internal error: Boost read key '" + option.string_key +
                                              "' where the pre-scan read '" + scan.keys[i].boost_name + "'");
            return std::nullopt;
        }
        values.push_back(option.value.front());
    }
    return values;
}

// Splits each header into kind and name and checks it against the table; the
// entries of a rejected section are dropped (its header carries the error).
std::vector<std::vector<ConfigSection>> group_sections(const Scan& scan, std::vector<std::string>& values,
                                                       ConfigDiagnostics& diag) {
    std::vector<std::vector<ConfigSection>> by_kind(std::size(kSectionKinds));
    std::vector<std::pair<size_t, size_t>> where(scan.headers.size(), {SIZE_MAX, 0});  // kind, index
    for (size_t h = 0; h < scan.headers.size(); ++h) {
        const ScannedHeader& header = scan.headers[h];
        std::string_view full = trim(header.text);
        size_t dot = full.find('.');
        std::string_view kind = full.substr(0, dot);
        std::string_view name = dot == std::string_view::npos ? std::string_view{} : full.substr(dot + 1);
        const SectionKind* match = nullptr;
        for (const SectionKind& candidate : kSectionKinds)
            if (candidate.kind == kind) match = &candidate;
        const std::string shown = "[" + std::string(full) + "]";
        if (match == nullptr) {
            diag.error(header.line, "unknown section " + shown + " (expected " + expected_sections() + ")");
        } else if (match->named && dot == std::string_view::npos) {
            diag.error(header.line, "section " + shown + " needs a name: [" + std::string(kind) + ".NAME]");
        } else if (!match->named && dot != std::string_view::npos) {
            diag.error(header.line, "section [" + std::string(kind) + "] takes no name, found " + shown);
        } else if (match->named && !is_valid_section_name(name)) {
            diag.error(header.line, "bad " + std::string(kind) + " name '" + std::string(name) +
                                        "' (letters, digits, '-' and '_' only)");
        } else {
            size_t kind_index = static_cast<size_t>(match - kSectionKinds);
            where[h] = {kind_index, by_kind[kind_index].size()};
            by_kind[kind_index].push_back({std::string(kind), std::string(name), header.line, {}});
        }
    }
    for (size_t i = 0; i < scan.keys.size(); ++i) {
        auto [kind_index, index] = where[scan.keys[i].header];
        if (kind_index == SIZE_MAX) continue;
        by_kind[kind_index][index].entries.push_back({scan.keys[i].key, std::move(values[i]), scan.keys[i].line});
    }
    return by_kind;
}

// ---------------------------------------------------------------------------
// Writing.

void write_key(std::string& out, std::string_view key, std::string_view value) {
    out.append(key).append(" = ").append(value).append("\n");
}

template <class T>
void write_if_changed(std::string& out, std::string_view key, const T& value, const T& default_value,
                      std::string text) {
    if (value != default_value) write_key(out, key, text);
}

}  // namespace

// ---------------------------------------------------------------------------

std::string ConfigError::to_string() const { return file + ":" + std::to_string(line) + ": " + message; }

const ConfigEntry* ConfigSection::find(std::string_view key) const {
    for (const ConfigEntry& entry : entries)
        if (entry.key == key) return &entry;
    return nullptr;
}

void ConfigDiagnostics::error(int line, std::string message) {
    errors_.push_back({file_, line, std::move(message)});
}

std::vector<ConfigError> ConfigDiagnostics::take_sorted() {
    std::stable_sort(errors_.begin(), errors_.end(),
                     [](const ConfigError& a, const ConfigError& b) { return a.line < b.line; });
    return std::move(errors_);
}

std::optional<uint64_t> parse_config_uint(std::string_view text) {
    if (text.empty() || !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return std::nullopt;
    uint64_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
    return value;
}

ConfigParseResult parse_config(std::string_view text, const std::string& file_name) {
    ConfigDiagnostics diag(file_name);
    ConfigParseResult result;
    Scan scan = prescan(text, diag);
    if (diag.has_errors()) {
        result.errors = diag.take_sorted();
        return result;
    }
    auto values = tokenize_with_boost(text, scan, diag);
    if (!values) {
        result.errors = diag.take_sorted();
        return result;
    }
    auto config = std::make_shared<Config>();
    config->source_file = file_name;
    auto by_kind = group_sections(scan, *values, diag);
    for (size_t k = 0; k < std::size(kSectionKinds); ++k) kSectionKinds[k].parse(by_kind[k], *config, diag);
    result.errors = diag.take_sorted();
    if (result.errors.empty()) result.config = std::move(config);
    return result;
}

ConfigParseResult load_config_file(const std::string& path) {
    std::string text;
    std::FILE* file = std::fopen(path.c_str(), "rb");
    int read_errno = 0;
    if (file == nullptr) {
        read_errno = errno;
    } else {
        char buffer[65536];
        size_t count;
        while ((count = std::fread(buffer, 1, sizeof(buffer), file)) > 0) text.append(buffer, count);
        if (std::ferror(file)) read_errno = errno != 0 ? errno : EIO;
        std::fclose(file);
    }
    if (read_errno != 0) {
        ConfigParseResult result;
        result.errors.push_back({path, 0, std::string("cannot read: ") + std::strerror(read_errno)});
        return result;
    }
    return parse_config(text, path);
}

std::string format_config(const Config& config) {
    std::string out;
    const GlobalConfig& global = config.global;
    const GlobalConfig global_defaults;
    out += "[global]\n";
    write_if_changed(out, "workers", global.workers, global_defaults.workers,
                     global.workers == 0 ? "auto" : std::to_string(global.workers));
    write_if_changed(out, "control_socket", global.control_socket, global_defaults.control_socket,
                     global.control_socket);
    if (global.metrics) write_key(out, "metrics", global.metrics->to_string());
    write_if_changed(out, "log_level", global.log_level, global_defaults.log_level, global.log_level);
    write_if_changed(out, "access_log", global.access_log, global_defaults.access_log, global.access_log);
    write_if_changed(out, "shutdown_grace", global.shutdown_grace, global_defaults.shutdown_grace,
                     format_duration(global.shutdown_grace));

    const ListenerConfig defaults;
    for (const ListenerConfig& listener : config.listeners) {
        out += "\n[listener." + listener.name + "]\n";
        write_key(out, "bind", listener.bind.to_string());
        write_key(out, "scheduler", format_scheduler(listener.scheduler));
        for (const BackendConfig& backend : listener.backends) {
            std::string text = backend.address.to_string();
            if (backend.weight != 1) text += " weight=" + std::to_string(backend.weight);
            if (backend.backup) text += " backup";
            if (backend.state != BackendAdminState::kReady)
                text += " state=" + std::string(format_backend_state(backend.state));
            write_key(out, "backend", text);
        }
        write_if_changed(out, "check", listener.check, defaults.check, format_health_check(listener.check));
        if (listener.check_port) write_key(out, "check_port", std::to_string(*listener.check_port));
        write_if_changed(out, "check_interval", listener.check_interval, defaults.check_interval,
                         format_duration(listener.check_interval));
        write_if_changed(out, "check_timeout", listener.check_timeout, defaults.check_timeout,
                         format_duration(listener.check_timeout));
        write_if_changed(out, "rise", listener.rise, defaults.rise, std::to_string(listener.rise));
        write_if_changed(out, "fall", listener.fall, defaults.fall, std::to_string(listener.fall));
        write_if_changed(out, "max_fails", listener.max_fails, defaults.max_fails,
                         std::to_string(listener.max_fails));
        write_if_changed(out, "fail_timeout", listener.fail_timeout, defaults.fail_timeout,
                         format_duration(listener.fail_timeout));
        write_if_changed(out, "slow_start", listener.slow_start, defaults.slow_start,
                         format_duration(listener.slow_start));
        if (listener.agent_port) write_key(out, "agent_port", std::to_string(*listener.agent_port));
        write_if_changed(out, "agent_interval", listener.agent_interval, defaults.agent_interval,
                         format_duration(listener.agent_interval));
        write_if_changed(out, "connect_timeout", listener.connect_timeout, defaults.connect_timeout,
                         format_duration(listener.connect_timeout));
        write_if_changed(out, "idle_timeout", listener.idle_timeout, defaults.idle_timeout,
                         format_duration(listener.idle_timeout));
        write_if_changed(out, "half_close_timeout", listener.half_close_timeout, defaults.half_close_timeout,
                         format_duration(listener.half_close_timeout));
        write_if_changed(out, "queue_timeout", listener.queue_timeout, defaults.queue_timeout,
                         format_duration(listener.queue_timeout));
        write_if_changed(out, "splice", listener.splice, defaults.splice,
                         std::string(format_splice_mode(listener.splice)));
        write_if_changed(out, "retries", listener.retries, defaults.retries, std::to_string(listener.retries));
        write_if_changed(out, "max_connections", listener.max_connections, defaults.max_connections,
                         std::to_string(listener.max_connections));
        write_if_changed(out, "max_conn_per_source", listener.max_conn_per_source, defaults.max_conn_per_source,
                         std::to_string(listener.max_conn_per_source));
        write_if_changed(out, "rate_per_source", listener.rate_per_source, defaults.rate_per_source,
                         std::to_string(listener.rate_per_source));
        write_if_changed(out, "proxy_protocol", listener.proxy_protocol, defaults.proxy_protocol,
                         std::string(format_proxy_protocol(listener.proxy_protocol)));
        write_if_changed(out, "hash_table_size", listener.hash_table_size, defaults.hash_table_size,
                         std::to_string(listener.hash_table_size));
    }

    const VrrpInstanceConfig vrrp_defaults;
    for (const VrrpInstanceConfig& vrrp : config.vrrp) {
        out += "\n[vrrp." + vrrp.name + "]\n";
        write_key(out, "interface", vrrp.interface);
        write_key(out, "vrid", std::to_string(vrrp.vrid));
        write_key(out, "priority", std::to_string(vrrp.priority));
        write_if_changed(out, "advert_interval", vrrp.advert_interval, vrrp_defaults.advert_interval,
                         format_duration(vrrp.advert_interval));
        for (const Ipv4Prefix& vip : vrrp.vips) write_key(out, "vip", format_prefix(vip));
        write_if_changed(out, "preempt", vrrp.preempt, vrrp_defaults.preempt,
                         std::string(vrrp.preempt ? "true" : "false"));
        write_if_changed(out, "preempt_delay", vrrp.preempt_delay, vrrp_defaults.preempt_delay,
                         format_duration(vrrp.preempt_delay));
        for (Ipv4 peer : vrrp.unicast_peers) write_key(out, "unicast_peer", format_ipv4(peer));
        if (vrrp.primary_address != 0) write_key(out, "source_address", format_ipv4(vrrp.primary_address));
        write_if_changed(out, "track_listener", vrrp.track_listener, vrrp_defaults.track_listener,
                         vrrp.track_listener);
        write_if_changed(out, "track_weight", vrrp.track_weight, vrrp_defaults.track_weight,
                         std::to_string(vrrp.track_weight));
        write_if_changed(out, "notify", vrrp.notify, vrrp_defaults.notify, vrrp.notify);
        write_if_changed(out, "garp_repeat", vrrp.garp_repeat, vrrp_defaults.garp_repeat,
                         std::to_string(vrrp.garp_repeat));
        write_if_changed(out, "garp_interval", vrrp.garp_interval, vrrp_defaults.garp_interval,
                         format_duration(vrrp.garp_interval));
        write_if_changed(out, "garp_refresh", vrrp.garp_refresh, vrrp_defaults.garp_refresh,
                         format_duration(vrrp.garp_refresh));
    }
    return out;
}

}  // namespace ringlb
