// Parsing and formatting of ringlb.conf durations; see duration.h.
#include "core/base/duration.h"

#include <charconv>
#include <cstdint>
#include <limits>

namespace ringlb {

namespace {

struct Unit {
    std::string_view suffix;
    int64_t millis;
};

// Longest unit first: format_duration takes the first that divides exactly.
constexpr Unit kUnits[] = {{"h", 3'600'000}, {"m", 60'000}, {"s", 1'000}, {"ms", 1}};

}  // namespace

std::optional<Millis> parse_duration(std::string_view text) {
    if (text == "0") return Millis{0};
    size_t digits = 0;
    while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
    if (digits == 0) return std::nullopt;
    std::string_view suffix = text.substr(digits);
    for (const Unit& unit : kUnits) {
        if (suffix != unit.suffix) continue;
        int64_t count = 0;
        auto [end, ec] = std::from_chars(text.data(), text.data() + digits, count);
        if (ec != std::errc() || end != text.data() + digits) return std::nullopt;  // overflow
        if (count > std::numeric_limits<Millis::rep>::max() / unit.millis) return std::nullopt;
        return Millis{count * unit.millis};
    }
    return std::nullopt;
}

std::string format_duration(Millis duration) {
    int64_t millis = duration.count();
    if (millis == 0) return "0";
    for (const Unit& unit : kUnits)
        if (millis % unit.millis == 0) return std::to_string(millis / unit.millis) + std::string(unit.suffix);
    return std::to_string(millis) + "ms";  // not reached: the last unit divides everything
}

}  // namespace ringlb
