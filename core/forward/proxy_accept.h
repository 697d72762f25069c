// accept_proxy: what to do with the bytes a client has sent so far when its
// listener requires a PROXY header (HAProxy's doc/proxy-protocol.txt) from a
// trusted balancer. Pure: the worker peeks at the socket (MSG_PEEK, so nothing
// after the header is consumed), asks here, and carries out the answer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/config/config.h"
#include "core/forward/proxy_header.h"
#include "core/runtime/stats.h"

namespace ringlb {

// Why a connection was refused on its way in; the metric's reason label.
enum class ProxyRejectReason : uint8_t { kUntrusted, kInvalid, kVersion, kOversized, kTruncated, kTimeout };
inline constexpr size_t kProxyRejectReasons = 6;
static_assert(kProxyRejectReasons == kProxyRejectCounters);
const char* proxy_reject_reason_name(ProxyRejectReason reason) noexcept;

// How much the worker peeks: a v1 line is at most 107 bytes, a v2 header 16 + 216
// (AF_UNIX addresses); TLVs beyond this make a header too large for ringlbd.
inline constexpr size_t kProxyPeekBytes = 256;

struct ProxyAcceptStep {
    enum Kind : uint8_t { kWait, kAccept, kReject } kind = kWait;
    ProxyHeader header;                                    // kAccept
    ProxyRejectReason reason = ProxyRejectReason::kInvalid;  // kReject
};

// peeked: the bytes received so far (at most kProxyPeekBytes); ended: the client
// has shut its side (nothing more will come). kWait: read more.
ProxyAcceptStep decide_proxy_accept(std::string_view peeked, bool ended, AcceptProxy mode) noexcept;

}  // namespace ringlb
