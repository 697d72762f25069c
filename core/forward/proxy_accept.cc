// accept_proxy decisions; see proxy_accept.h.
#include "core/forward/proxy_accept.h"

namespace ringlb {

const char* proxy_reject_reason_name(ProxyRejectReason reason) noexcept {
    switch (reason) {
        case ProxyRejectReason::kUntrusted: return "untrusted";
        case ProxyRejectReason::kInvalid: return "invalid";
        case ProxyRejectReason::kVersion: return "version";
        case ProxyRejectReason::kOversized: return "oversized";
        case ProxyRejectReason::kTruncated: return "truncated";
        case ProxyRejectReason::kTimeout: return "timeout";
    }
    return "?";
}

ProxyAcceptStep decide_proxy_accept(std::string_view peeked, bool ended, AcceptProxy mode) noexcept {
    ProxyAcceptStep step;
    auto reject = [&step](ProxyRejectReason reason) {
        step.kind = ProxyAcceptStep::kReject;
        step.reason = reason;
        return step;
    };
    const ProxyParseResult parsed = parse_proxy_header(peeked);
    switch (parsed.status) {
        case ProxyParseStatus::kInvalid:
            // A v1 line with no CRLF within the spec's 107 bytes: too long rather than malformed.
            if (peeked.starts_with("PROXY ") && peeked.size() >= kProxyV1MaxLength &&
                peeked.substr(0, kProxyV1MaxLength).find("\r\n") == std::string_view::npos)
                return reject(ProxyRejectReason::kOversized);
            return reject(ProxyRejectReason::kInvalid);
        case ProxyParseStatus::kIncomplete:
            if (ended) return reject(ProxyRejectReason::kTruncated);
            if (peeked.size() >= kProxyPeekBytes) return reject(ProxyRejectReason::kOversized);
            return step;
        case ProxyParseStatus::kComplete: break;
    }
    const int version = parsed.header.version;
    if ((mode == AcceptProxy::kV1 && version != 1) || (mode == AcceptProxy::kV2 && version != 2))
        return reject(ProxyRejectReason::kVersion);
    step.kind = ProxyAcceptStep::kAccept;
    step.header = parsed.header;
    return step;
}

}  // namespace ringlb
