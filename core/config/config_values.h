// The value parsers the section parsers share: numbers, durations, addresses, bools,
// named choices. Each set_* either stores the entry's value and returns nullopt, or
// leaves `out` alone and returns why not; the caller adds file, line and section.
#pragma once

#include <cstdint>
#include <iterator>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/inet_addr.h"
#include "core/base/inet_prefix.h"
#include "core/config/config.h"
#include "core/config/config_names.h"
#include "core/config/config_reader.h"

namespace ringlb {

// nullopt: the value was taken. Otherwise the message, without file, line or section.
using ValueError = std::optional<std::string>;

// Decimal digits only (no sign, no spaces); nullopt if empty or too large.
std::optional<uint64_t> parse_config_uint(std::string_view text);

// Four-part dotted decimal only ("10.0.0.1", not "10.1" or "010.0.0.1" in octal); host order.
std::optional<Ipv4> parse_ipv4(std::string_view text);

// The words of a value separated by spaces or tabs.
std::vector<std::string_view> split_words(std::string_view text);

// "a, b or c": the choices of an error message's "(expected ...)".
template <class Items, class NameOf>
std::string choice_list(const Items& items, NameOf name_of) {
    std::string text;
    const size_t count = std::size(items);
    size_t index = 0;
    for (const auto& item : items) {
        if (index > 0) text += index + 1 == count ? " or " : ", ";
        text += name_of(item);
        ++index;
    }
    return text;
}

template <class E>
std::string expected_names(std::span<const NamedValue<E>> names) {
    return choice_list(names, [](const NamedValue<E>& named) { return named.name; });
}

// "bad address 'TEXT' for WHAT (expected IPV4:PORT or [IPV6]:PORT, port 1..65535)"
std::string bad_address(std::string_view what, std::string_view text);

template <class T>
ValueError set_number(T& out, const ConfigEntry& entry, uint64_t min, uint64_t max) {
    auto number = parse_config_uint(entry.value);
    if (!number || *number < min || *number > max)
        return "bad " + entry.key + " '" + entry.value + "' (expected a number " + std::to_string(min) + ".." +
               std::to_string(max) + ")";
    out = static_cast<T>(*number);
    return std::nullopt;
}

// "500ms", "3s", "15m", "1h" or a bare "0" (core/base/duration.h).
ValueError set_duration(Millis& out, const ConfigEntry& entry);
// The same, but 0 is refused: for intervals and timeouts that must elapse.
ValueError set_positive_duration(Millis& out, const ConfigEntry& entry);

// "IPV4:PORT" or "[IPV6]:PORT".
ValueError set_address(InetAddr& out, const ConfigEntry& entry);

// "true" or "false".
ValueError set_bool(bool& out, const ConfigEntry& entry);

// "on" or "off" ("true" and "false" too): the listener's switches.
ValueError set_switch(bool& out, const ConfigEntry& entry);

// Appends the entry's prefixes ("10.0.0.0/8, 2001:db8::/32"); a repeated key adds more.
ValueError add_prefixes(std::vector<InetPrefix>& out, const ConfigEntry& entry);

// A duration of whole seconds from 1s to max_seconds (TCP keepalive timers are in seconds).
ValueError set_whole_seconds(Millis& out, const ConfigEntry& entry, int64_t max_seconds);

// One of `names`, spelt exactly.
template <class E>
ValueError set_named(E& out, const ConfigEntry& entry, std::span<const NamedValue<E>> names) {
    if (auto value = find_by_name(names, entry.value)) {
        out = *value;
        return std::nullopt;
    }
    return "unknown " + entry.key + " '" + entry.value + "' (expected " + expected_names(names) + ")";
}

}  // namespace ringlb
