#include "core/base/inet_addr.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace ringlb {

InetAddr::InetAddr() { storage_.ss_family = AF_UNSPEC; }

std::optional<InetAddr> InetAddr::parse_host(std::string_view text, uint16_t port) {
    // inet_pton reads a C string: "10.0.0.1\0junk" would pass as 10.0.0.1.
    if (text.find('\0') != std::string_view::npos) return std::nullopt;
    std::string host(text);
    InetAddr addr;
    auto* v4 = reinterpret_cast<sockaddr_in*>(&addr.storage_);
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&addr.storage_);
    if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(port);
        return addr;
    }
    addr.storage_ = {};
    if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(port);
        return addr;
    }
    return std::nullopt;
}

std::optional<InetAddr> InetAddr::parse(std::string_view text, bool allow_port_zero) {
    std::string_view host, port_text;
    if (!text.empty() && text.front() == '[') {
        auto close = text.find(']');
        if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':')
            return std::nullopt;
        host = text.substr(1, close - 1);
        port_text = text.substr(close + 2);
    } else {
        auto colon = text.rfind(':');
        if (colon == std::string_view::npos) return std::nullopt;
        host = text.substr(0, colon);
        port_text = text.substr(colon + 1);
        if (host.find(':') != std::string_view::npos) return std::nullopt;  // bare IPv6 needs []
    }
    if (host.empty() || port_text.empty()) return std::nullopt;
    unsigned port = 0;
    auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc() || end != port_text.data() + port_text.size() || port > 65535) return std::nullopt;
    if (port == 0 && !allow_port_zero) return std::nullopt;
    return parse_host(host, static_cast<uint16_t>(port));
}

InetAddr InetAddr::from_sockaddr(const sockaddr* addr, socklen_t len) {
    InetAddr result;
    if (len > sizeof(result.storage_)) len = sizeof(result.storage_);
    std::memcpy(&result.storage_, addr, len);
    return result;
}

uint16_t InetAddr::port() const {
    if (family() == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(&storage_)->sin_port);
    if (family() == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_port);
    return 0;
}

void InetAddr::set_port(uint16_t port) {
    if (family() == AF_INET) reinterpret_cast<sockaddr_in*>(&storage_)->sin_port = htons(port);
    if (family() == AF_INET6) reinterpret_cast<sockaddr_in6*>(&storage_)->sin6_port = htons(port);
}

socklen_t InetAddr::sockaddr_len() const {
    if (family() == AF_INET) return sizeof(sockaddr_in);
    if (family() == AF_INET6) return sizeof(sockaddr_in6);
    return 0;
}

std::string_view InetAddr::address_bytes() const {
    if (family() == AF_INET) {
        const auto* v4 = reinterpret_cast<const sockaddr_in*>(&storage_);
        return {reinterpret_cast<const char*>(&v4->sin_addr), 4};
    }
    if (family() == AF_INET6) {
        const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&storage_);
        return {reinterpret_cast<const char*>(&v6->sin6_addr), 16};
    }
    return {};
}

std::string InetAddr::host_string() const {
    char text[INET6_ADDRSTRLEN] = "";
    auto bytes = address_bytes();
    if (bytes.empty()) return "?";
    inet_ntop(family(), bytes.data(), text, sizeof(text));
    return text;
}

std::string InetAddr::to_string() const {
    if (family() == AF_INET6) return "[" + host_string() + "]:" + std::to_string(port());
    return host_string() + ":" + std::to_string(port());
}

bool operator==(const InetAddr& a, const InetAddr& b) {
    return a.family() == b.family() && a.port() == b.port() && a.address_bytes() == b.address_bytes();
}

bool operator<(const InetAddr& a, const InetAddr& b) {
    if (a.family() != b.family()) return a.family() < b.family();
    if (a.address_bytes() != b.address_bytes()) return a.address_bytes() < b.address_bytes();
    return a.port() < b.port();
}

}  // namespace ringlb

size_t std::hash<ringlb::InetAddr>::operator()(const ringlb::InetAddr& addr) const noexcept {
    return std::hash<std::string_view>()(addr.address_bytes()) * 31 + addr.port();
}
