// PROXY protocol v1/v2 encoders and a strict parser. Section numbers refer to HAProxy's
// doc/proxy-protocol.txt. The parser is fuzzed: every read is bounds-checked against
// the input, and it neither allocates nor throws.
#include "core/forward/proxy_header.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdint>
#include <cstring>

namespace ringlb {
namespace {

// §2.2: the 12-byte v2 signature; it holds a NUL, so it is never a C string.
constexpr std::array<char, 12> kV2Signature = {'\r', '\n', '\r', '\n', '\0', '\r',
                                               '\n', 'Q',  'U',  'I',  'T',  '\n'};
constexpr std::string_view kV1Prefix = "PROXY ";

constexpr uint8_t kV2Version = 0x20;  // high nibble 2
constexpr uint8_t kV2CommandLocal = 0x0;
constexpr uint8_t kV2CommandProxy = 0x1;
constexpr uint8_t kV2FamilyInet = 0x1;
constexpr uint8_t kV2FamilyInet6 = 0x2;
constexpr uint8_t kV2FamilyUnix = 0x3;
constexpr uint8_t kV2TransportStream = 0x1;
constexpr uint8_t kV2TransportDgram = 0x2;
constexpr size_t kV2AddressLengthInet = 2 * 4 + 2 * 2;
constexpr size_t kV2AddressLengthInet6 = 2 * 16 + 2 * 2;
constexpr size_t kV2AddressLengthUnix = 2 * 108;
constexpr size_t kV2TlvHeaderLength = 3;

bool is_inet(const InetAddr& addr) {
    return addr.family() == AF_INET || addr.family() == AF_INET6;
}

// The address as 16 bytes: IPv6 as it is, IPv4 in its IPv4-mapped form (RFC 4291
// §2.5.5.2), which is how HAProxy presents an IPv4 side of a mixed-family pair.
std::array<char, 16> ipv6_bytes(const InetAddr& addr) {
    std::array<char, 16> bytes{};
    std::string_view raw = addr.address_bytes();
    if (raw.size() == 4) {
        bytes[10] = '\xff';
        bytes[11] = '\xff';
        std::memcpy(bytes.data() + 12, raw.data(), 4);
    } else if (raw.size() == 16) {
        std::memcpy(bytes.data(), raw.data(), 16);
    }
    return bytes;
}

// An address as text, in a caller's buffer of INET6_ADDRSTRLEN bytes.
std::string_view address_text(int family, const char* bytes, char* text) {
    if (!inet_ntop(family, bytes, text, INET6_ADDRSTRLEN)) return {};
    return text;
}

void append_port(ProxyHeaderBytes& out, uint16_t port) {
    char digits[5];
    auto [end, error] = std::to_chars(digits, digits + sizeof(digits), port);
    (void)error;  // five digits always hold a uint16_t
    out.append(std::string_view(digits, size_t(end - digits)));
}

// Network byte order, for v2 ports and the block length.
void append_u16(ProxyHeaderBytes& out, uint16_t value) {
    out.push_back(static_cast<char>(value >> 8));
    out.push_back(static_cast<char>(value & 0xff));
}

ProxyParseResult incomplete() { return {ProxyParseStatus::kIncomplete, {}}; }
ProxyParseResult invalid() { return {ProxyParseStatus::kInvalid, {}}; }

// §2.1: a decimal port in [0..65535] without leading zeros.
bool parse_port_text(std::string_view text, uint16_t& port) {
    if (text.empty() || text.size() > 5) return false;
    if (text.size() > 1 && text[0] == '0') return false;
    uint32_t value = 0;
    for (char c : text) {
        if (c < '0' || c > '9') return false;
        value = value * 10 + static_cast<uint32_t>(c - '0');
    }
    if (value > 65535) return false;
    port = static_cast<uint16_t>(value);
    return true;
}

// §2.1: an address in the family TCP4/TCP6 announced. inet_pton does the grammar
// (4 dotted decimals without leading zeros; 128 bits of hex groups with at most one
// "::"); the character check first keeps NULs, zone ids ("%eth0") and the like out.
bool parse_address_text(std::string_view text, int family, uint16_t port, InetAddr& addr) {
    const size_t max_length = family == AF_INET ? 15 : 45;  // 45: "ffff:…:ffff:255.255.255.255"
    if (text.empty() || text.size() > max_length) return false;
    for (char c : text) {
        bool digit = c >= '0' && c <= '9';
        bool hex = (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
        if (!(digit || c == '.' || (family == AF_INET6 && (hex || c == ':')))) return false;
    }
    char buffer[48];
    std::memcpy(buffer, text.data(), text.size());
    buffer[text.size()] = '\0';
    if (family == AF_INET) {
        sockaddr_in sin{};
        sin.sin_family = AF_INET;
        sin.sin_port = htons(port);
        if (inet_pton(AF_INET, buffer, &sin.sin_addr) != 1) return false;
        addr = InetAddr::from_sockaddr(reinterpret_cast<const sockaddr*>(&sin), sizeof(sin));
    } else {
        sockaddr_in6 sin6{};
        sin6.sin6_family = AF_INET6;
        sin6.sin6_port = htons(port);
        if (inet_pton(AF_INET6, buffer, &sin6.sin6_addr) != 1) return false;
        addr = InetAddr::from_sockaddr(reinterpret_cast<const sockaddr*>(&sin6), sizeof(sin6));
    }
    return true;
}

ProxyParseResult parse_v1(std::string_view data) {
    const size_t prefix_length = std::min(data.size(), kV1Prefix.size());
    if (data.substr(0, prefix_length) != kV1Prefix.substr(0, prefix_length)) return invalid();

    // §2.1: the line ends at the first CRLF, which must lie within 107 bytes; a CR or
    // LF on its own is an error, not a line end.
    size_t end = std::string_view::npos;
    const size_t limit = std::min(data.size(), kProxyV1MaxLength);
    for (size_t i = 0; i < limit; ++i) {
        if (data[i] == '\n') return invalid();
        if (data[i] == '\r') {
            if (i + 1 >= kProxyV1MaxLength) return invalid();
            if (i + 1 >= data.size()) return incomplete();
            if (data[i + 1] != '\n') return invalid();
            end = i;
            break;
        }
    }
    if (end == std::string_view::npos) {
        return data.size() >= kProxyV1MaxLength ? invalid() : incomplete();
    }
    if (end < kV1Prefix.size()) return invalid();

    // Fields after "PROXY ", separated by exactly one space.
    std::array<std::string_view, 5> fields;  // TCP4|TCP6, src, dst, sport, dport
    size_t count = 0;
    std::string_view rest = data.substr(kV1Prefix.size(), end - kV1Prefix.size());
    for (;;) {
        size_t space = rest.find(' ');
        std::string_view field = rest.substr(0, space);
        if (count == 0 && field == "UNKNOWN") {
            // §2.1: whatever follows UNKNOWN up to the CRLF is to be ignored.
            ProxyParseResult result{ProxyParseStatus::kComplete, {}};
            result.header.version = 1;
            result.header.command = ProxyCommand::kProxy;
            result.header.length = end + 2;
            return result;
        }
        if (field.empty() || count == fields.size()) return invalid();
        fields[count++] = field;
        if (space == std::string_view::npos) break;
        rest.remove_prefix(space + 1);
    }
    if (count != 5) return invalid();

    int family;
    if (fields[0] == "TCP4") {
        family = AF_INET;
    } else if (fields[0] == "TCP6") {
        family = AF_INET6;
    } else {
        return invalid();
    }
    uint16_t source_port = 0, destination_port = 0;
    ProxyParseResult result{ProxyParseStatus::kComplete, {}};
    if (!parse_port_text(fields[3], source_port) || !parse_port_text(fields[4], destination_port) ||
        !parse_address_text(fields[1], family, source_port, result.header.source) ||
        !parse_address_text(fields[2], family, destination_port, result.header.destination)) {
        return invalid();
    }
    result.header.version = 1;
    result.header.command = ProxyCommand::kProxy;
    result.header.has_addresses = true;
    result.header.length = end + 2;
    return result;
}

uint16_t read_u16(std::string_view data, size_t at) {
    return static_cast<uint16_t>((static_cast<uint8_t>(data[at]) << 8) | static_cast<uint8_t>(data[at + 1]));
}

InetAddr inet_from_bytes(int family, const char* bytes, uint16_t port) {
    if (family == AF_INET) {
        sockaddr_in sin{};
        sin.sin_family = AF_INET;
        sin.sin_port = htons(port);
        std::memcpy(&sin.sin_addr, bytes, 4);
        return InetAddr::from_sockaddr(reinterpret_cast<const sockaddr*>(&sin), sizeof(sin));
    }
    sockaddr_in6 sin6{};
    sin6.sin6_family = AF_INET6;
    sin6.sin6_port = htons(port);
    std::memcpy(&sin6.sin6_addr, bytes, 16);
    return InetAddr::from_sockaddr(reinterpret_cast<const sockaddr*>(&sin6), sizeof(sin6));
}

ProxyParseResult parse_v2(std::string_view data) {
    const size_t signature_length = std::min(data.size(), kV2Signature.size());
    if (std::memcmp(data.data(), kV2Signature.data(), signature_length) != 0) return invalid();
    // §2.2: version 2 only; commands LOCAL and PROXY only.
    if (data.size() > 12) {
        const uint8_t version_command = static_cast<uint8_t>(data[12]);
        if ((version_command & 0xf0) != kV2Version) return invalid();
        if ((version_command & 0x0f) > kV2CommandProxy) return invalid();
    }
    if (data.size() < kProxyV2HeaderLength) return incomplete();

    const uint8_t command = static_cast<uint8_t>(data[12]) & 0x0f;
    const uint8_t family = static_cast<uint8_t>(data[13]) >> 4;
    const uint8_t transport = static_cast<uint8_t>(data[13]) & 0x0f;
    const size_t block_length = read_u16(data, 14);
    const size_t total_length = kProxyV2HeaderLength + block_length;

    ProxyParseResult result{ProxyParseStatus::kComplete, {}};
    result.header.version = 2;
    result.header.length = total_length;

    if (command == kV2CommandLocal) {
        // §2.2: LOCAL: the receiver discards the block, family included, unread.
        if (data.size() < total_length) return incomplete();
        result.header.command = ProxyCommand::kLocal;
        return result;
    }

    result.header.command = ProxyCommand::kProxy;
    if (family > kV2FamilyUnix || transport > kV2TransportDgram) return invalid();
    size_t address_length = 0;
    if (transport == kV2TransportStream || transport == kV2TransportDgram) {
        if (family == kV2FamilyInet) address_length = kV2AddressLengthInet;
        if (family == kV2FamilyInet6) address_length = kV2AddressLengthInet6;
        if (family == kV2FamilyUnix) address_length = kV2AddressLengthUnix;
    }
    if (block_length < address_length) return invalid();
    if (data.size() < total_length) return incomplete();

    if (address_length != 0) {
        // TLVs must tile the rest of the block exactly, as HAProxy checks (§2.2).
        size_t at = kProxyV2HeaderLength + address_length;
        while (at < total_length) {
            if (total_length - at < kV2TlvHeaderLength) return invalid();
            const size_t value_length = read_u16(data, at + 1);
            at += kV2TlvHeaderLength;
            if (total_length - at < value_length) return invalid();
            at += value_length;
        }
    }

    const char* block = data.data() + kProxyV2HeaderLength;
    if (family == kV2FamilyInet && address_length != 0) {
        result.header.has_addresses = true;
        result.header.source = inet_from_bytes(AF_INET, block, read_u16(data, 16 + 8));
        result.header.destination = inet_from_bytes(AF_INET, block + 4, read_u16(data, 16 + 10));
    } else if (family == kV2FamilyInet6 && address_length != 0) {
        result.header.has_addresses = true;
        result.header.source = inet_from_bytes(AF_INET6, block, read_u16(data, 16 + 32));
        result.header.destination = inet_from_bytes(AF_INET6, block + 16, read_u16(data, 16 + 34));
    }
    // UNSPEC and AF_UNIX: valid, but with nothing ringlb can use as an address.
    return result;
}

}  // namespace

void ProxyHeaderBytes::append(std::string_view bytes) noexcept {
    const size_t n = std::min(bytes.size(), kCapacity - size_);
    std::memcpy(data_.data() + size_, bytes.data(), n);
    size_ += n;
}

ProxyHeaderBytes build_proxy_v1(const InetAddr& client, const InetAddr& local) noexcept {
    ProxyHeaderBytes line;
    if (!is_inet(client) || !is_inet(local)) {
        line.append("PROXY UNKNOWN\r\n");
        return line;
    }
    char client_text[INET6_ADDRSTRLEN], local_text[INET6_ADDRSTRLEN];
    if (client.family() == AF_INET && local.family() == AF_INET) {
        line.append("PROXY TCP4 ");
        line.append(address_text(AF_INET, client.address_bytes().data(), client_text));
        line.push_back(' ');
        line.append(address_text(AF_INET, local.address_bytes().data(), local_text));
    } else {
        line.append("PROXY TCP6 ");
        line.append(address_text(AF_INET6, ipv6_bytes(client).data(), client_text));
        line.push_back(' ');
        line.append(address_text(AF_INET6, ipv6_bytes(local).data(), local_text));
    }
    line.push_back(' ');
    append_port(line, client.port());
    line.push_back(' ');
    append_port(line, local.port());
    line.append("\r\n");
    return line;
}

ProxyHeaderBytes build_proxy_v2(const InetAddr& client, const InetAddr& local) noexcept {
    ProxyHeaderBytes header;
    header.append(std::string_view(kV2Signature.data(), kV2Signature.size()));
    if (!is_inet(client) || !is_inet(local)) {
        header.push_back(static_cast<char>(kV2Version | kV2CommandLocal));
        header.push_back('\0');  // UNSPEC family, UNSPEC transport
        append_u16(header, 0);   // no address block
        return header;
    }
    header.push_back(static_cast<char>(kV2Version | kV2CommandProxy));
    if (client.family() == AF_INET && local.family() == AF_INET) {
        header.push_back(static_cast<char>(kV2FamilyInet << 4 | kV2TransportStream));
        append_u16(header, kV2AddressLengthInet);
        header.append(client.address_bytes());
        header.append(local.address_bytes());
    } else {
        header.push_back(static_cast<char>(kV2FamilyInet6 << 4 | kV2TransportStream));
        append_u16(header, kV2AddressLengthInet6);
        auto client_bytes = ipv6_bytes(client);
        auto local_bytes = ipv6_bytes(local);
        header.append(std::string_view(client_bytes.data(), client_bytes.size()));
        header.append(std::string_view(local_bytes.data(), local_bytes.size()));
    }
    append_u16(header, client.port());
    append_u16(header, local.port());
    return header;
}

ProxyParseResult parse_proxy_header(std::string_view data) noexcept {
    if (data.empty()) return incomplete();
    // §2.2 "identifying the protocol version": the signature starts with CR, v1 with 'P'.
    if (data[0] == '\r') return parse_v2(data);
    if (data[0] == 'P') return parse_v1(data);
    return invalid();
}

}  // namespace ringlb
