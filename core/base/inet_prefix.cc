// InetPrefix: parsing and formatting; see inet_prefix.h.
#include "core/base/inet_prefix.h"

#include <arpa/inet.h>

#include <charconv>

namespace ringlb {

namespace {

// The first prefix of a family with bits set past `length`, or -1 when none is.
int first_bit_past(const InetPrefix& prefix) {
    const int bits = prefix.family == AF_INET ? 32 : 128;
    for (int bit = prefix.length; bit < bits; ++bit)
        if (prefix.bytes[size_t(bit / 8)] & (0x80 >> (bit % 8))) return bit;
    return -1;
}

InetPrefix masked(InetPrefix prefix) {
    const int bits = prefix.family == AF_INET ? 32 : 128;
    for (int bit = prefix.length; bit < bits; ++bit) prefix.bytes[size_t(bit / 8)] &= uint8_t(~(0x80 >> (bit % 8)));
    return prefix;
}

}  // namespace

Result<InetPrefix> InetPrefix::parse(std::string_view text) {
    const std::string shown(text.substr(0, 64));
    const std::string usage = " (expected ADDR/LEN such as 10.0.0.0/8 or 2001:db8::/32, or one address)";
    // inet_pton reads a C string: a NUL inside would cut the text short unseen.
    if (text.empty() || text.find('\0') != std::string_view::npos) return fail("bad prefix '" + shown + "'" + usage);
    const size_t slash = text.find('/');
    const std::string host(text.substr(0, slash));
    InetPrefix prefix;
    if (inet_pton(AF_INET, host.c_str(), prefix.bytes.data()) == 1) prefix.family = AF_INET;
    else if (inet_pton(AF_INET6, host.c_str(), prefix.bytes.data()) == 1) prefix.family = AF_INET6;
    else return fail("bad prefix '" + shown + "'" + usage);
    const unsigned max = prefix.family == AF_INET ? 32 : 128;
    unsigned length = max;
    if (slash != std::string_view::npos) {
        const std::string_view digits = text.substr(slash + 1);
        auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), length);
        if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() || length > max ||
            (digits.size() > 1 && digits[0] == '0'))
            return fail("bad prefix length in '" + shown + "' (expected 0.." + std::to_string(max) + ")");
    }
    prefix.length = uint8_t(length);
    if (first_bit_past(prefix) >= 0)
        return fail("prefix '" + shown + "' has address bits set past /" + std::to_string(length) +
                    " (did you mean " + masked(prefix).to_string() + "?)");
    return prefix;
}

std::string InetPrefix::to_string() const {
    char text[INET6_ADDRSTRLEN] = "?";
    if (family == AF_INET || family == AF_INET6) inet_ntop(family, bytes.data(), text, sizeof(text));
    return std::string(text) + "/" + std::to_string(length);
}

Result<std::vector<InetPrefix>> parse_prefix_list(std::string_view text) {
    std::vector<InetPrefix> prefixes;
    constexpr std::string_view kSeparators = ", \t";
    size_t start = text.find_first_not_of(kSeparators);
    while (start != std::string_view::npos) {
        const size_t end = text.find_first_of(kSeparators, start);
        Result<InetPrefix> prefix = InetPrefix::parse(text.substr(start, end - start));
        if (!prefix) return fail(prefix.error());
        prefixes.push_back(*prefix);
        start = text.find_first_not_of(kSeparators, end);
    }
    return prefixes;
}

std::string format_prefix_list(std::span<const InetPrefix> prefixes) {
    std::string text;
    for (const InetPrefix& prefix : prefixes) {
        if (!text.empty()) text += ", ";
        text += prefix.to_string();
    }
    return text;
}

}  // namespace ringlb
