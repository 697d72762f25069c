// decide_proxy_accept: what accept_proxy does with the bytes a client sent so far.
#include "core/forward/proxy_accept.h"

#include <gtest/gtest.h>

#include <string>

namespace ringlb {
namespace {

InetAddr host(const char* text, uint16_t port) { return *InetAddr::parse_host(text, port); }

const std::string kV1 = "PROXY TCP4 192.0.2.7 198.51.100.1 40000 80\r\n";

std::string v2() { return std::string(build_proxy_v2(host("192.0.2.7", 40000), host("198.51.100.1", 80))); }

TEST(ProxyAccept, AWholeHeaderIsAcceptedWithTheClientItNames) {
    for (AcceptProxy mode : {AcceptProxy::kV1, AcceptProxy::kAny}) {
        ProxyAcceptStep step = decide_proxy_accept(kV1 + "GET / HTTP/1.0\r\n", false, mode);
        ASSERT_EQ(step.kind, ProxyAcceptStep::kAccept);
        EXPECT_EQ(step.header.length, kV1.size()) << "the data after it stays";
        EXPECT_EQ(step.header.source, host("192.0.2.7", 40000));
    }
    ProxyAcceptStep step = decide_proxy_accept(v2() + "data", false, AcceptProxy::kV2);
    ASSERT_EQ(step.kind, ProxyAcceptStep::kAccept);
    EXPECT_EQ(step.header.version, 2);
    EXPECT_EQ(step.header.source, host("192.0.2.7", 40000));
}

TEST(ProxyAccept, EveryPrefixOfAHeaderWaitsAndTheWrongVersionIsRefused) {
    for (const std::string& header : {kV1, v2()})
        for (size_t n = 0; n < header.size(); ++n)
            EXPECT_EQ(decide_proxy_accept(header.substr(0, n), false, AcceptProxy::kAny).kind, ProxyAcceptStep::kWait)
                << n;
    ProxyAcceptStep v1_on_v2 = decide_proxy_accept(kV1, false, AcceptProxy::kV2);
    ASSERT_EQ(v1_on_v2.kind, ProxyAcceptStep::kReject);
    EXPECT_EQ(v1_on_v2.reason, ProxyRejectReason::kVersion);
    EXPECT_EQ(decide_proxy_accept(v2(), false, AcceptProxy::kV1).reason, ProxyRejectReason::kVersion);
}

TEST(ProxyAccept, TruncatedInvalidAndOversizedAreRefusedByReason) {
    ProxyAcceptStep truncated = decide_proxy_accept(kV1.substr(0, 20), true, AcceptProxy::kAny);
    ASSERT_EQ(truncated.kind, ProxyAcceptStep::kReject);
    EXPECT_EQ(truncated.reason, ProxyRejectReason::kTruncated);
    EXPECT_EQ(decide_proxy_accept("", true, AcceptProxy::kAny).reason, ProxyRejectReason::kTruncated);
    EXPECT_EQ(decide_proxy_accept("GET / HTTP/1.1\r\n", false, AcceptProxy::kAny).reason, ProxyRejectReason::kInvalid);
    EXPECT_EQ(decide_proxy_accept("PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n", false, AcceptProxy::kAny).reason,
              ProxyRejectReason::kInvalid);
    const std::string long_v1 = "PROXY TCP4 " + std::string(150, '1');
    EXPECT_EQ(decide_proxy_accept(long_v1, false, AcceptProxy::kAny).reason, ProxyRejectReason::kOversized);
    // A v2 header announcing more TLV bytes than ringlbd peeks at.
    std::string big = v2();
    big[14] = char(0x04);
    big[15] = char(0x00);  // 1024 bytes of addresses + TLVs
    big.resize(kProxyPeekBytes, '\0');
    EXPECT_EQ(decide_proxy_accept(big, false, AcceptProxy::kAny).reason, ProxyRejectReason::kOversized);
}

TEST(ProxyAccept, ReasonsHaveTheirMetricNames) {
    EXPECT_STREQ(proxy_reject_reason_name(ProxyRejectReason::kUntrusted), "untrusted");
    EXPECT_STREQ(proxy_reject_reason_name(ProxyRejectReason::kTimeout), "timeout");
}

}  // namespace
}  // namespace ringlb
