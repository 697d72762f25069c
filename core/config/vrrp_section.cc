// The [vrrp.NAME] key table and the checks across instances (one router per
// interface and vrid, one owner per VIP); see vrrp_section.h.
#include "core/config/vrrp_section.h"

#include <algorithm>

namespace ringlb {

namespace {

// The VRRP wire carries the interval in 12 bits of centiseconds (RFC 9568 §5.2.7).
constexpr Millis kMinAdvertInterval{10};
constexpr Millis kMaxAdvertInterval{40950};
constexpr Millis kMaxPreemptDelay{3600 * 1000};
constexpr int kMaxTrackWeight = 254;
constexpr int kMaxGarpRepeat = 100;
constexpr size_t kMaxInterfaceName = 15;  // IFNAMSIZ − 1
constexpr size_t kMaxVips = 255;          // the advert's address count is 8 bits

// Not 0.0.0.0/8, loopback, multicast or the reserved class E: an address a host on the
// LAN can hold, so a VIP, a peer or an advert's source.
bool is_unicast_host_address(Ipv4 address) {
    const uint8_t first = uint8_t(address >> 24);
    return first != 0 && first != 127 && first < 224;
}

// "A.B.C.D/LEN", or "A.B.C.D" for /32.
ValueError add_vip(VrrpInstanceConfig& vrrp, const ConfigEntry& entry) {
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
    if (!is_unicast_host_address(vip.address))
        return "vip " + format_ipv4(vip.address) + " is not a unicast host address";
    for (const Ipv4Prefix& other : vrrp.vips)
        if (other.address == vip.address) return "vip " + format_ipv4(vip.address) + " given twice";
    if (vrrp.vips.size() == kMaxVips)
        return "more than " + std::to_string(kMaxVips) + " vips (an advertisement carries at most that many)";
    vrrp.vips.push_back(vip);
    vrrp.vip_lines.push_back(entry.line);
    return std::nullopt;
}

ValueError set_ipv4_host(Ipv4& out, const ConfigEntry& entry) {
    auto address = parse_ipv4(entry.value);
    if (!address) return "bad " + entry.key + " '" + entry.value + "' (expected an IPv4 address A.B.C.D)";
    if (!is_unicast_host_address(*address))
        return entry.key + " " + entry.value + " is not a unicast host address";
    out = *address;
    return std::nullopt;
}

using V = VrrpInstanceConfig;

const ConfigKeyRule<V> kVrrpKeys[] = {
    {"interface", false,
     [](V& v, const ConfigEntry& e) -> ValueError {
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
    {"vrid", false, number_key<&V::vrid, 1, 255>},
    {"priority", false, number_key<&V::priority, 1, 255>},
    {"advert_interval", false,
     [](V& v, const ConfigEntry& e) -> ValueError {
         Millis interval{};
         if (auto error = set_duration(interval, e)) return error;
         if (interval < kMinAdvertInterval || interval > kMaxAdvertInterval)
             return "advert_interval " + e.value + " is outside 10ms..40950ms";
         if (interval.count() % 10 != 0)
             return "advert_interval " + e.value +
                    " is not a multiple of 10ms (the advertisement carries centiseconds)";
         v.advert_interval = interval;
         return std::nullopt;
     }},
    {"vip", true, add_vip},
    {"preempt", false, bool_key<&V::preempt>},
    {"preempt_delay", false,
     [](V& v, const ConfigEntry& e) -> ValueError {
         Millis delay{};
         if (auto error = set_duration(delay, e)) return error;
         if (delay > kMaxPreemptDelay) return "preempt_delay " + e.value + " is longer than 1h";
         v.preempt_delay = delay;
         return std::nullopt;
     }},
    {"unicast_peer", true,
     [](V& v, const ConfigEntry& e) -> ValueError {
         Ipv4 peer = 0;
         if (auto error = set_ipv4_host(peer, e)) return error;
         if (std::ranges::find(v.unicast_peers, peer) != v.unicast_peers.end())
             return "unicast_peer " + e.value + " given twice";
         v.unicast_peers.push_back(peer);
         return std::nullopt;
     }},
    {"source_address", false,
     [](V& v, const ConfigEntry& e) { return set_ipv4_host(v.primary_address, e); }},
    {"track_listener", false,
     [](V& v, const ConfigEntry& e) -> ValueError {
         if (e.value.empty()) return std::string("track_listener must name a listener");
         v.track_listener = e.value;
         return std::nullopt;
     }},
    {"track_weight", false, number_key<&V::track_weight, 0, kMaxTrackWeight>},
    {"notify", false,
     [](V& v, const ConfigEntry& e) -> ValueError {
         if (!e.value.starts_with('/')) return "notify '" + e.value + "' is not an absolute path";
         v.notify = e.value;
         v.notify_line = e.line;
         return std::nullopt;
     }},
    {"notify_user", false,
     [](V& v, const ConfigEntry& e) -> ValueError {
         if (e.value.empty()) return std::string("notify_user must name a user");
         v.notify_user = e.value;
         v.notify_user_line = e.line;
         return std::nullopt;
     }},
    {"garp_repeat", false, number_key<&V::garp_repeat, 0, kMaxGarpRepeat>},
    {"garp_interval", false, positive_duration_key<&V::garp_interval>},
    {"garp_refresh", false, duration_key<&V::garp_refresh>},
    {"accept_mismatched_addresses", false, bool_key<&V::accept_mismatched_addresses>},
};

}  // namespace

void parse_vrrp_sections(std::span<const ConfigSection> sections, Config& config, ConfigDiagnostics& diag) {
    std::map<std::string, int> header_line;                                // name → header line
    std::map<std::pair<std::string, int>, std::string> router_owner;       // (interface, vrid) → name
    std::map<Ipv4, std::string> vip_owner;                                 // vip → name
    for (const ConfigSection& section : sections) {
        const std::string label = section_label("vrrp", section);
        const bool fresh = is_first_section_of_its_name(header_line, section, "vrrp", diag);
        VrrpInstanceConfig vrrp = build_named_section<VrrpInstanceConfig>(section, kVrrpKeys, label, diag);

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
            if (std::ranges::find(vrrp.unicast_peers, vip.address) != vrrp.unicast_peers.end())
                diag.error(section.line, label + ": unicast_peer " + format_ipv4(vip.address) + " is also a vip");
        }
        if (!fresh) continue;

        if (have_interface && have_vrid) {
            auto [owner, claimed] =
                router_owner.emplace(std::make_pair(vrrp.interface, int(vrrp.vrid)), section.name);
            if (!claimed)
                diag.error(section.find("vrid")->line,
                           label + ": vrid " + std::to_string(vrrp.vrid) + " on " + vrrp.interface +
                               " is already used by vrrp '" + owner->second + "'");
        }
        for (const Ipv4Prefix& vip : vrrp.vips) {
            auto [owner, claimed] = vip_owner.emplace(vip.address, section.name);
            if (!claimed)
                diag.error(section.line, label + ": vip " + format_ipv4(vip.address) +
                                             " is already managed by vrrp '" + owner->second + "'");
        }
        config.vrrp.push_back(std::move(vrrp));
    }
}

}  // namespace ringlb
