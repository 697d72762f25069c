// PROXY protocol headers (HAProxy's doc/proxy-protocol.txt): encoders for the v1 text
// line and the v2 binary block ringlb sends to a backend, and a strict parser of both
// (for tests and fuzzing; ringlb itself does not accept PROXY headers). No I/O.
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <string_view>

#include "core/base/inet_addr.h"

namespace ringlb {

// Longest v1 line a receiver must accept, CRLF included (spec §2.1).
inline constexpr size_t kProxyV1MaxLength = 107;
// v2: 12-byte signature, version/command, family/transport, 16-bit length (spec §2.2).
inline constexpr size_t kProxyV2HeaderLength = 16;

// A header ready to send, in a fixed buffer: the worker builds it on the data path,
// which allocates nothing and throws nothing. Longest: a v1 line, at most 104 bytes.
class ProxyHeaderBytes {
public:
    static constexpr size_t kCapacity = 128;

    std::string_view view() const noexcept { return {data_.data(), size_}; }
    const char* data() const noexcept { return data_.data(); }
    size_t size() const noexcept { return size_; }
    // For tests and the fuzz target, which compare and keep headers as text.
    operator std::string_view() const noexcept { return view(); }
    operator std::string() const { return std::string(view()); }
    bool operator==(std::string_view other) const noexcept { return view() == other; }

    // Appends what fits (everything: kCapacity is above the longest header).
    void append(std::string_view bytes) noexcept;
    void push_back(char byte) noexcept { append(std::string_view(&byte, 1)); }

private:
    std::array<char, kCapacity> data_{};
    size_t size_ = 0;
};

// "PROXY TCP4 <src> <dst> <sport> <dport>\r\n", or TCP6. `client` is the source,
// `local` the address the client connected to (the listener's, as getsockname gives it).
// Mixed families (an IPv4 client on an IPv6 listener or the reverse) are written as
// TCP6 with the IPv4 side in its IPv4-mapped form (::ffff:a.b.c.d), as HAProxy does.
// Either side neither IPv4 nor IPv6: "PROXY UNKNOWN\r\n". At most 104 bytes.
ProxyHeaderBytes build_proxy_v1(const InetAddr& client, const InetAddr& local) noexcept;

// The v2 binary header, command PROXY: family 0x11 (TCP over IPv4, 28 bytes) or 0x21
// (TCP over IPv6, 52 bytes), mixed families mapped to IPv6 as in v1. No TLVs. Either
// side neither IPv4 nor IPv6: command LOCAL with family UNSPEC and no address block
// (16 bytes), as HAProxy does; the receiver then uses the real connection endpoints.
ProxyHeaderBytes build_proxy_v2(const InetAddr& client, const InetAddr& local) noexcept;

enum class ProxyParseStatus { kComplete, kIncomplete, kInvalid };
enum class ProxyCommand { kLocal, kProxy };

struct ProxyHeader {
    int version = 0;                          // 1 or 2
    ProxyCommand command = ProxyCommand::kProxy;  // v1 is always kProxy
    // False for v1 UNKNOWN, v2 LOCAL, and v2 families other than TCP/UDP over IPv4/IPv6
    // (AF_UNIX, UNSPEC): the receiver is then to use the real connection endpoints.
    bool has_addresses = false;
    InetAddr source;
    InetAddr destination;
    size_t length = 0;                        // bytes of the header, v2 TLVs included
};

struct ProxyParseResult {
    ProxyParseStatus status = ProxyParseStatus::kInvalid;
    ProxyHeader header;                       // set when status is kComplete
};

// Parses the PROXY header at the start of `data` (v1 or v2, told apart by the first
// byte as the spec describes). kIncomplete: `data` is a valid beginning, read more.
// kInvalid: not a header, or one that breaks the spec; drop the connection. Strict:
// exactly one space between v1 fields, no leading zeros, no lone CR or LF, CRLF within
// 107 bytes, TCP4 addresses IPv4 and TCP6 ones IPv6 (IPv4-mapped allowed), v2 version
// 2 with command LOCAL or PROXY and a known family, and an address block long enough
// for its family. v2 TLVs are skipped unread (counted in `length`). Bytes after the
// header are left alone. Never reads outside `data`, never allocates.
ProxyParseResult parse_proxy_header(std::string_view data) noexcept;

}  // namespace ringlb
