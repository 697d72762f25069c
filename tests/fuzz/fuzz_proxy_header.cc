// Fuzz target: PROXY headers. The input is parsed as received bytes (see check_received),
// and is also read as a client and a local address (IPv4, IPv6, mixed or neither) that
// build_proxy_v1/v2 encode and the parser must read back as the same addresses and length.
#include <arpa/inet.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <string_view>

#include "core/forward/proxy_header.h"
#include "tests/fuzz/targets.h"

namespace ringlb::fuzz {
namespace proxy_header_target {

constexpr const char* kTarget = "fuzz_proxy_header";
// Checking every prefix is quadratic; longer headers (v2 with TLVs) get a sample.
constexpr size_t kAllPrefixesUpTo = 512;
constexpr size_t kPrefixSamples = 64;

std::string shown(std::string_view bytes) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    for (char c : bytes.substr(0, 256)) {
        const auto b = static_cast<unsigned char>(c);
        if (b >= 0x20 && b < 0x7f && b != '\\') {
            out += c;
        } else {
            out += "\\x";
            out += kDigits[b >> 4];
            out += kDigits[b & 0xf];
        }
    }
    if (bytes.size() > 256) out += "...";
    return out;
}

const char* status_name(ProxyParseStatus status) {
    switch (status) {
        case ProxyParseStatus::kComplete: return "complete";
        case ProxyParseStatus::kIncomplete: return "incomplete";
        case ProxyParseStatus::kInvalid: return "invalid";
    }
    return "?";
}

std::string describe(const ProxyParseResult& result) {
    std::string text = status_name(result.status);
    if (result.status != ProxyParseStatus::kComplete) return text;
    const ProxyHeader& h = result.header;
    text += " v" + std::to_string(h.version) + (h.command == ProxyCommand::kLocal ? " LOCAL" : " PROXY") +
            " length " + std::to_string(h.length);
    if (h.has_addresses) text += " " + h.source.to_string() + " -> " + h.destination.to_string();
    return text;
}

bool same_header(const ProxyHeader& a, const ProxyHeader& b) {
    return a.version == b.version && a.command == b.command && a.has_addresses == b.has_addresses &&
           a.source == b.source && a.destination == b.destination && a.length == b.length;
}

bool is_inet(const InetAddr& addr) { return addr.family() == AF_INET || addr.family() == AF_INET6; }

// How the headers carry an IPv4 side of a mixed pair: IPv4-mapped IPv6.
InetAddr as_ipv6(const InetAddr& addr) {
    if (addr.family() != AF_INET) return addr;
    sockaddr_in6 sin6{};
    sin6.sin6_family = AF_INET6;
    sin6.sin6_port = htons(addr.port());
    sin6.sin6_addr.s6_addr[10] = 0xff;
    sin6.sin6_addr.s6_addr[11] = 0xff;
    std::memcpy(&sin6.sin6_addr.s6_addr[12], addr.address_bytes().data(), 4);
    return InetAddr::from_sockaddr(reinterpret_cast<const sockaddr*>(&sin6), sizeof(sin6));
}

// The contract: kIncomplete means "a valid beginning, read more", so no prefix of a
// complete header, and no prefix of a valid beginning, may be judged otherwise.
void check_prefixes_incomplete(std::string_view data, size_t end) {
    const size_t step = end <= kAllPrefixesUpTo ? 1 : end / kPrefixSamples;
    for (size_t n = 0; n < end; n += step) {
        const ProxyParseResult prefix = parse_proxy_header(data.substr(0, n));
        FUZZ_CHECK(kTarget, prefix.status == ProxyParseStatus::kIncomplete,
                   "prefix of " + std::to_string(n) + " bytes is " + describe(prefix) + ": " +
                       shown(data.substr(0, n)));
    }
}

// Bytes as a backend would receive them: a complete header is self-contained and lies
// within the input, every shorter prefix of it is incomplete, its addresses re-encode to
// the same addresses (and, where the wire allows one spelling, to the same bytes).
void check_received(std::string_view data) {
    const ProxyParseResult result = parse_proxy_header(data);
    if (result.status == ProxyParseStatus::kIncomplete) {
        check_prefixes_incomplete(data, data.size());
        return;
    }
    if (result.status != ProxyParseStatus::kComplete) return;

    const ProxyHeader& header = result.header;
    const std::string what = describe(result) + ": " + shown(data);
    FUZZ_CHECK(kTarget, header.length > 0 && header.length <= data.size(), what);
    if (header.version == 1) {
        FUZZ_CHECK(kTarget, header.command == ProxyCommand::kProxy, what);
        FUZZ_CHECK(kTarget, header.length <= kProxyV1MaxLength, what);
        FUZZ_CHECK(kTarget, data.substr(header.length - 2, 2) == "\r\n", what);
    } else {
        FUZZ_CHECK(kTarget, header.version == 2, what);
        FUZZ_CHECK(kTarget, header.length >= kProxyV2HeaderLength, what);
        if (header.command == ProxyCommand::kLocal) FUZZ_CHECK(kTarget, !header.has_addresses, what);
    }
    if (header.has_addresses) {
        FUZZ_CHECK(kTarget, is_inet(header.source) && header.source.family() == header.destination.family(),
                   what);
    }

    // Self-contained: the header alone parses the same; bytes after it are left alone.
    const ProxyParseResult alone = parse_proxy_header(data.substr(0, header.length));
    FUZZ_CHECK(kTarget, alone.status == ProxyParseStatus::kComplete && same_header(alone.header, header),
               what + " | header alone: " + describe(alone));
    check_prefixes_incomplete(data, header.length);

    if (header.has_addresses) {
        const std::string rebuilt = header.version == 1 ? build_proxy_v1(header.source, header.destination)
                                                        : build_proxy_v2(header.source, header.destination);
        const ProxyParseResult again = parse_proxy_header(rebuilt);
        FUZZ_CHECK(kTarget,
                   again.status == ProxyParseStatus::kComplete && again.header.has_addresses &&
                       again.header.source == header.source && again.header.destination == header.destination,
                   what + " | rebuilt " + shown(rebuilt) + " reads " + describe(again));
        // Strictness: TCP4 has one spelling (dotted decimal and ports without leading
        // zeros, single spaces), and a v2 TCP header without TLVs has one byte layout;
        // the parser accepting any other is a leak in its checks.
        const std::string_view original = data.substr(0, header.length);
        const bool v1_tcp4 = header.version == 1 && original.starts_with("PROXY TCP4 ");
        const bool v2_plain_tcp = header.version == 2 && (static_cast<uint8_t>(data[13]) & 0x0f) == 1 &&
                                  header.length == rebuilt.size();
        if (v1_tcp4 || v2_plain_tcp)
            FUZZ_CHECK(kTarget, original == rebuilt, what + " | rebuilt " + shown(rebuilt));
    }
}

// Takes bytes from the front of the input; zeros once it runs out.
class Reader {
public:
    explicit Reader(std::string_view data) : data_(data) {}
    uint8_t u8() { return at_ < data_.size() ? static_cast<uint8_t>(data_[at_++]) : 0; }
    uint16_t u16() { return static_cast<uint16_t>((u8() << 8) | u8()); }
    std::string_view rest() const { return data_.substr(std::min(at_, data_.size())); }

private:
    std::string_view data_;
    size_t at_ = 0;
};

// Selector 0: IPv4, 1: IPv6, 2: neither (AF_UNSPEC), 3: AF_UNIX-like (no address).
InetAddr read_address(Reader& in, uint8_t selector) {
    uint8_t bytes[16];
    for (uint8_t& b : bytes) b = in.u8();
    const uint16_t port = in.u16();
    if (selector == 0) {
        sockaddr_in sin{};
        sin.sin_family = AF_INET;
        sin.sin_port = htons(port);
        std::memcpy(&sin.sin_addr, bytes, 4);
        return InetAddr::from_sockaddr(reinterpret_cast<const sockaddr*>(&sin), sizeof(sin));
    }
    if (selector == 1) {
        sockaddr_in6 sin6{};
        sin6.sin6_family = AF_INET6;
        sin6.sin6_port = htons(port);
        std::memcpy(&sin6.sin6_addr, bytes, 16);
        return InetAddr::from_sockaddr(reinterpret_cast<const sockaddr*>(&sin6), sizeof(sin6));
    }
    if (selector == 2) return InetAddr();
    sockaddr unix_like{};
    unix_like.sa_family = AF_UNIX;
    return InetAddr::from_sockaddr(&unix_like, sizeof(unix_like));
}

void check_built(int version, const InetAddr& client, const InetAddr& local, std::string_view trailing) {
    const std::string header = version == 1 ? build_proxy_v1(client, local) : build_proxy_v2(client, local);
    const bool inet = is_inet(client) && is_inet(local);
    const std::string what = "v" + std::to_string(version) + " " + client.to_string() + " -> " +
                             local.to_string() + ": " + shown(header);
    if (version == 1) {
        FUZZ_CHECK(kTarget, header.size() <= 104 && header.ends_with("\r\n"), what);
    } else {
        const size_t expected = !inet ? 16 : client.family() == AF_INET && local.family() == AF_INET ? 28 : 52;
        FUZZ_CHECK(kTarget, header.size() == expected, what);
    }
    check_prefixes_incomplete(header, header.size());

    // Trailing bytes (the client's first data) must not change what is read.
    const std::string stream = header + std::string(trailing);
    const ProxyParseResult result = parse_proxy_header(stream);
    FUZZ_CHECK(kTarget, result.status == ProxyParseStatus::kComplete, what + " | " + describe(result));
    const ProxyHeader& h = result.header;
    FUZZ_CHECK(kTarget, h.version == version && h.length == header.size(), what + " | " + describe(result));
    FUZZ_CHECK(kTarget, h.has_addresses == inet, what + " | " + describe(result));
    const ProxyCommand command = version == 2 && !inet ? ProxyCommand::kLocal : ProxyCommand::kProxy;
    FUZZ_CHECK(kTarget, h.command == command, what + " | " + describe(result));
    if (!inet) return;
    const bool both_ipv4 = client.family() == AF_INET && local.family() == AF_INET;
    const InetAddr want_source = both_ipv4 ? client : as_ipv6(client);
    const InetAddr want_destination = both_ipv4 ? local : as_ipv6(local);
    FUZZ_CHECK(kTarget, h.source == want_source && h.destination == want_destination,
               what + " | " + describe(result) + " | expected " + want_source.to_string() + " -> " +
                   want_destination.to_string());
}

}  // namespace proxy_header_target

int fuzz_proxy_header_one(const uint8_t* data, size_t size) {
    using namespace proxy_header_target;
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    check_received(bytes);

    Reader in(bytes);
    const uint8_t selectors = in.u8();
    const InetAddr client = read_address(in, selectors & 3);
    const InetAddr local = read_address(in, (selectors >> 2) & 3);
    check_built(1, client, local, in.rest());
    check_built(2, client, local, in.rest());
    return 0;
}

}  // namespace ringlb::fuzz

FUZZ_ENTRY_POINT(ringlb::fuzz::fuzz_proxy_header_one)
