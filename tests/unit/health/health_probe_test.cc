// One check's exchange (core/health/health_probe.h) on a real io_uring against
// real sockets on 127.0.0.1 with ports chosen by the kernel: tcp connect, the
// HTTP request and status line, the agent's line, the timeout, and giving a
// probe up (its ops cancelled before its socket closes).
#include <gtest/gtest.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <cerrno>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "core/base/clock.h"
#include "core/base/unique_fd.h"
#include "core/health/health_fsm.h"
#include "core/health/health_probe.h"

namespace ringlb {
namespace {

constexpr HcTag kOwner{HcOp::kConnect, 0, 7, 3};

// A TCP socket bound to 127.0.0.1 on a kernel-chosen port; listening or not.
struct LoopbackPort {
    UniqueFd fd;
    InetAddr address;

    explicit LoopbackPort(bool listening) : fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
        sockaddr_in sin{};
        sin.sin_family = AF_INET;
        sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        EXPECT_EQ(::bind(fd.get(), reinterpret_cast<sockaddr*>(&sin), sizeof(sin)), 0);
        if (listening) {
            EXPECT_EQ(::listen(fd.get(), 16), 0);
        }
        socklen_t len = sizeof(sin);
        ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&sin), &len);
        address = *InetAddr::parse("127.0.0.1:" + std::to_string(ntohs(sin.sin_port)));
    }

    // The next connection, with receives bounded to 5 s so that no test can hang.
    UniqueFd accept_one() const {
        UniqueFd conn(::accept4(fd.get(), nullptr, nullptr, SOCK_CLOEXEC));
        timeval limit{5, 0};
        setsockopt(conn.get(), SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof(limit));
        return conn;
    }
};

std::shared_ptr<const ProbeTarget> target(ProbeProtocol protocol, const InetAddr& address, int64_t timeout_ms) {
    auto t = std::make_shared<ProbeTarget>();
    t->protocol = protocol;
    t->address = address;
    t->timeout_ms = timeout_ms;
    if (protocol == ProbeProtocol::kHttp) {
        t->http_check.kind = HealthCheckKind::kHttp;
        t->http_check.http_path = "/health";
        t->http_check.expect_status_max = 299;
        t->http_request = build_http_check_request(t->http_check, address);
    }
    return t;
}

// The checker loop's part, reduced to one probe: submits, reaps, feeds CQEs back.
class HealthProbe : public ::testing::Test {
protected:
    void SetUp() override { ring_.init(64, 256); }

    // Reaps until `done` holds or nothing is in flight any more; 10 s at most.
    void pump_until(const std::function<bool()>& done) {
        for (int round = 0; round < 100 && !done() && probes_.in_flight() > 0; ++round) {
            io_uring_cqe* cqe = nullptr;
            __kernel_timespec wait = to_timespec(100);
            io_uring_submit_and_wait_timeout(ring_.raw(), &cqe, 1, &wait, nullptr);
            unsigned head, seen = 0;
            io_uring_for_each_cqe(ring_.raw(), head, cqe) {
                ++seen;
                probes_.count_reaped();
                --probe_.in_flight;
                if (!probe_.running) continue;
                if (auto r = probes_.on_completion(probe_, HcTag::unpack(cqe->user_data), cqe->res, monotonic_ms()))
                    result_ = std::move(r);
            }
            io_uring_cq_advance(ring_.raw(), seen);
        }
    }

    // Runs one probe to its end, the close of its socket included.
    std::optional<ProbeResult> run(std::shared_ptr<const ProbeTarget> t) {
        EXPECT_TRUE(probes_.start(probe_, std::move(t), kOwner, monotonic_ms()));
        pump_until([] { return false; });
        EXPECT_EQ(probes_.in_flight(), 0u);
        EXPECT_TRUE(probe_.idle());
        EXPECT_FALSE(probe_.fd) << "the socket went to IORING_OP_CLOSE";
        return result_;
    }

    Ring ring_;
    ProbeRing probes_{ring_};
    Probe probe_;
    std::optional<ProbeResult> result_;
};


// "ok: connect ok", "failed: HTTP 503", or "no result".
std::string outcome(const std::optional<ProbeResult>& result) {
    if (!result) return "no result";
    return (result->ok ? "ok: " : "failed: ") + result->detail;
}

TEST_F(HealthProbe, ATcpCheckOfAListeningPortPasses) {
    LoopbackPort backend(true);
    const auto result = run(target(ProbeProtocol::kTcp, backend.address, 5000));
    EXPECT_EQ(outcome(result), "ok: connect ok");
}

TEST_F(HealthProbe, ATcpCheckOfAPortNobodyListensOnSaysConnectRefused) {
    LoopbackPort closed(false);
    const auto result = run(target(ProbeProtocol::kTcp, closed.address, 5000));
    EXPECT_EQ(outcome(result), "failed: connect refused");
}

TEST_F(HealthProbe, AnHttpCheckSendsTheRequestAndJudgesTheStatusLine) {
    LoopbackPort backend(true);
    const auto http = target(ProbeProtocol::kHttp, backend.address, 5000);
    std::string request;
    std::thread server([&] {
        UniqueFd conn = backend.accept_one();
        char buffer[1024];
        while (request.find("\r\n\r\n") == std::string::npos) {
            const ssize_t n = ::recv(conn.get(), buffer, sizeof(buffer), 0);
            if (n <= 0) return;
            request.append(buffer, size_t(n));
        }
        const std::string reply = "HTTP/1.1 503 Busy\r\nContent-Length: 0\r\n\r\n";
        ::send(conn.get(), reply.data(), reply.size(), MSG_NOSIGNAL);
    });
    const auto result = run(http);
    server.join();
    EXPECT_EQ(request, http->http_request);
    EXPECT_EQ(outcome(result), "failed: HTTP 503");
}

TEST_F(HealthProbe, AnAgentCheckReturnsTheAgentsFirstLineWithoutItsLineEnd) {
    LoopbackPort agent(true);
    std::thread server([&] {
        UniqueFd conn = agent.accept_one();
        const std::string reply = "drain 50%\r\nnot this\n";
        ::send(conn.get(), reply.data(), reply.size(), MSG_NOSIGNAL);
    });
    const auto result = run(target(ProbeProtocol::kAgent, agent.address, 5000));
    server.join();
    EXPECT_EQ(outcome(result), "ok: drain 50%");
}

// The line is logged and shown by ringlbctl: a backend's escape sequences, NULs,
// bytes above 0x7e and a bare CR (which rewrites a terminal's line) come out as '?'.
TEST_F(HealthProbe, AnAgentsHostileBytesAreMadePrintableBeforeAnyoneLogsThem) {
    LoopbackPort agent(true);
    std::thread server([&] {
        UniqueFd conn = agent.accept_one();
        const std::string reply("up\t50%\x1b[2J\rFAKE\0x\x7f\xc3\xa9\r\n", 22);
        ::send(conn.get(), reply.data(), reply.size(), MSG_NOSIGNAL);
    });
    const auto result = run(target(ProbeProtocol::kAgent, agent.address, 5000));
    server.join();
    EXPECT_EQ(outcome(result), "ok: up 50%?[2J?FAKE?x???");
}

TEST_F(HealthProbe, AnAgentNobodyListensForSaysSoInItsOwnWords) {
    LoopbackPort closed(false);
    const auto result = run(target(ProbeProtocol::kAgent, closed.address, 5000));
    EXPECT_EQ(outcome(result), "failed: agent connect refused");
}

TEST_F(HealthProbe, ABackendThatNeverAnswersFailsWhenCheckTimeoutIsOver) {
    LoopbackPort mute(true);  // the kernel completes the handshake; nobody reads or answers
    const auto result = run(target(ProbeProtocol::kHttp, mute.address, 100));
    EXPECT_EQ(outcome(result), "failed: no response within 100ms");
}

TEST_F(HealthProbe, AnAbandonedProbeHasItsReceiveCancelledAndItsSocketReallyClosed) {
    LoopbackPort mute(true);
    const auto http = target(ProbeProtocol::kHttp, mute.address, 60000);
    ASSERT_TRUE(probes_.start(probe_, http, kOwner, monotonic_ms()));
    // Until the whole request is out: the probe then waits in a receive, for a minute.
    pump_until([&] { return probe_.sent == http->http_request.size(); });
    ASSERT_EQ(probe_.sent, http->http_request.size());
    UniqueFd conn = mute.accept_one();
    std::string got(http->http_request.size(), '\0');
    ASSERT_EQ(::recv(conn.get(), got.data(), got.size(), MSG_WAITALL), ssize_t(got.size()));

    probes_.abandon(probe_, kOwner);
    EXPECT_FALSE(probe_.fd);
    EXPECT_FALSE(probe_.running);
    pump_until([] { return false; });
    EXPECT_EQ(probes_.in_flight(), 0u) << "the receive and its timeout ended without waiting out the minute";
    EXPECT_EQ(probe_.in_flight, 0u);
    EXPECT_FALSE(result_);
    // A receive still holding the socket would keep it open: the peer would wait
    // (here for its 5 s receive limit, EAGAIN) instead of seeing the reset.
    char byte;
    errno = 0;
    EXPECT_EQ(::recv(conn.get(), &byte, 1, 0), -1);
    EXPECT_EQ(errno, ECONNRESET);
}

}  // namespace
}  // namespace ringlb
