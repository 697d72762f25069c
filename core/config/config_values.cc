// See config_values.h.
#include "core/config/config_values.h"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>

#include "core/base/duration.h"

namespace ringlb {

std::optional<uint64_t> parse_config_uint(std::string_view text) {
    if (text.empty() || !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return std::nullopt;
    uint64_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
    return value;
}

std::optional<Ipv4> parse_ipv4(std::string_view text) {
    // inet_pton takes only the four-part dotted decimal form, which is what we want.
    in_addr address{};
    if (text.empty() || text.size() > 15 || inet_pton(AF_INET, std::string(text).c_str(), &address) != 1)
        return std::nullopt;
    return ntohl(address.s_addr);
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

std::string bad_address(std::string_view what, std::string_view text) {
    return "bad address '" + std::string(text) + "' for " + std::string(what) +
           " (expected IPV4:PORT or [IPV6]:PORT, port 1..65535)";
}

ValueError set_duration(Millis& out, const ConfigEntry& entry) {
    auto duration = parse_duration(entry.value);
    if (!duration)
        return "bad duration '" + entry.value + "' for " + entry.key +
               " (expected a whole number with ms, s, m or h, e.g. 500ms, 3s, 15m, 1h)";
    out = *duration;
    return std::nullopt;
}

ValueError set_positive_duration(Millis& out, const ConfigEntry& entry) {
    Millis duration{};
    if (auto error = set_duration(duration, entry)) return error;
    if (duration.count() == 0) return entry.key + " must be greater than 0";
    out = duration;
    return std::nullopt;
}

ValueError set_address(InetAddr& out, const ConfigEntry& entry) {
    auto address = InetAddr::parse(entry.value);
    if (!address) return bad_address(entry.key, entry.value);
    out = *address;
    return std::nullopt;
}

ValueError set_switch(bool& out, const ConfigEntry& entry) {
    if (entry.value == "on" || entry.value == "true") out = true;
    else if (entry.value == "off" || entry.value == "false") out = false;
    else return "bad " + entry.key + " '" + entry.value + "' (expected on or off)";
    return std::nullopt;
}

ValueError add_prefixes(std::vector<InetPrefix>& out, const ConfigEntry& entry) {
    Result<std::vector<InetPrefix>> prefixes = parse_prefix_list(entry.value);
    if (!prefixes) return entry.key + ": " + prefixes.error();
    if (prefixes->empty()) return entry.key + " lists no prefix (expected ADDR/LEN, ... such as 10.0.0.0/8)";
    out.insert(out.end(), prefixes->begin(), prefixes->end());
    return std::nullopt;
}

ValueError set_whole_seconds(Millis& out, const ConfigEntry& entry, int64_t max_seconds) {
    Millis duration{};
    if (auto error = set_duration(duration, entry)) return error;
    if (duration.count() % 1000 != 0 || duration.count() < 1000 || duration.count() > max_seconds * 1000)
        return "bad " + entry.key + " '" + entry.value + "' (expected whole seconds from 1s to " +
               std::to_string(max_seconds) + "s)";
    out = duration;
    return std::nullopt;
}

ValueError set_bool(bool& out, const ConfigEntry& entry) {
    if (entry.value == "true") out = true;
    else if (entry.value == "false") out = false;
    else return "bad " + entry.key + " '" + entry.value + "' (expected true or false)";
    return std::nullopt;
}

}  // namespace ringlb
