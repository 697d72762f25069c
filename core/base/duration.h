// Durations in ringlb.conf: "100ms", "2s", "15m", "1h" (DESIGN §6). Text only;
// no clock is read here.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace ringlb {

using Millis = std::chrono::milliseconds;

// Decimal digits followed by one of the suffixes ms, s, m, h; a bare "0" means
// zero. No sign, no fraction, no spaces. nullopt on anything else, including a
// value that does not fit in Millis.
std::optional<Millis> parse_duration(std::string_view text);

// The shortest exact spelling that parse_duration reads back to the same value:
// 3600000ms -> "1h", 90000ms -> "90s", 1500ms -> "1500ms", 0 -> "0".
std::string format_duration(Millis duration);

}  // namespace ringlb
