// An IPv4 or IPv6 socket address (address + port) as a value type, with
// parsing and formatting of "1.2.3.4:80" and "[2001:db8::1]:80". No I/O.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace ringlb {

class InetAddr {
public:
    InetAddr();

    // "ADDR:PORT" with a numeric IPv4 address, or "[IPV6]:PORT". Port 1..65535
    // unless allow_port_zero. Returns nullopt on anything else.
    static std::optional<InetAddr> parse(std::string_view text, bool allow_port_zero = false);
    // A numeric address without a port ("10.0.0.1", "2001:db8::1").
    static std::optional<InetAddr> parse_host(std::string_view text, uint16_t port);
    static InetAddr from_sockaddr(const sockaddr* addr, socklen_t len);

    int family() const { return storage_.ss_family; }
    uint16_t port() const;
    void set_port(uint16_t port);
    const sockaddr* sockaddr_ptr() const { return reinterpret_cast<const sockaddr*>(&storage_); }
    socklen_t sockaddr_len() const;

    std::string to_string() const;        // "1.2.3.4:80" / "[::1]:80"
    std::string host_string() const;      // "1.2.3.4" / "::1"
    // Raw address bytes (4 or 16), for hashing and PROXY headers.
    std::string_view address_bytes() const;

    friend bool operator==(const InetAddr& a, const InetAddr& b);
    friend bool operator<(const InetAddr& a, const InetAddr& b);

private:
    sockaddr_storage storage_{};
};

}  // namespace ringlb

template <>
struct std::hash<ringlb::InetAddr> {
    size_t operator()(const ringlb::InetAddr& addr) const noexcept;
};
