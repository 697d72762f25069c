// Probes on the checker's ring; see health_probe.h.
#include "core/health/health_probe.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <utility>

#include "core/base/duration.h"
#include "core/base/log.h"
#include "core/base/text.h"
#include "core/health/health_fsm.h"

namespace ringlb {

std::string connect_detail(int error) {
    switch (error) {
        case ECONNREFUSED: return "connect refused";
        case ECANCELED:
        case ETIMEDOUT: return "connect timeout";
        case EHOSTUNREACH: return "host unreachable";
        case ENETUNREACH: return "network unreachable";
        case ECONNRESET: return "connection reset";
        default: return std::string("connect: ") + std::strerror(error);
    }
}

namespace {

// An agent's reply is its first line, without the line end, and with every byte
// outside printable ASCII made '?' (a tab, the one separator that is not, becomes a
// space): the line is logged, kept as the check's detail and shown by ringlbctl,
// and a backend must not write escape sequences or forged lines there.
std::string first_line(std::string_view received) {
    std::string_view line = received.substr(0, received.find('\n'));
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    std::string spaced(line);
    std::replace(spaced.begin(), spaced.end(), '\t', ' ');
    return printable(spaced);
}

}  // namespace

Result<void> ProbeRing::start(Probe& probe, std::shared_ptr<const ProbeTarget> target, HcTag owner,
                              int64_t now_ms) {
    UniqueFd fd(::socket(target->address.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd) return fail(std::string("socket: ") + std::strerror(errno));
    // Close with a reset: a checker that closes first would otherwise leave a
    // TIME_WAIT socket per check (60,000 at 1,000 checks a second), as HAProxy avoids too.
    linger hard{1, 0};
    setsockopt(fd.get(), SOL_SOCKET, SO_LINGER, &hard, sizeof(hard));
    if (target->protocol != ProbeProtocol::kAgent) {
        // Delay our handshake ACK (HAProxy does the same): a tcp check then ends
        // with SYN, SYN-ACK, RST, so the backend never creates, queues and hands its
        // application a connection for it; an http check's request carries the ACK.
        // Not for the agent, which speaks first and needs the handshake done.
        int zero = 0;
        setsockopt(fd.get(), IPPROTO_TCP, TCP_QUICKACK, &zero, sizeof(zero));
    }
    probe.fd = std::move(fd);
    probe.running = true;
    probe.sent = 0;
    probe.received = 0;
    probe.deadline_ms = now_ms + target->timeout_ms;
    probe.target = std::move(target);
    submit_step(probe, owner, HcOp::kConnect, now_ms);
    return {};
}

io_uring_sqe* ProbeRing::prep(Probe& probe, HcTag owner, HcOp op) {
    io_uring_sqe* sqe = ring_.get_sqe();
    if (!sqe) {
        // A ring that takes no request stops every check: verdicts would freeze.
        spdlog::critical("health checks: {}; exiting", ring_.describe_submit_error());
        std::_Exit(70);
    }
    owner.op = op;
    io_uring_sqe_set_data64(sqe, owner.pack());
    ++probe.in_flight;
    ++in_flight_;
    return sqe;
}

// One step of a check (connect, send the rest of the request, or receive into
// the rest of the buffer), linked to a timeout for what is left of check_timeout.
void ProbeRing::submit_step(Probe& probe, HcTag owner, HcOp op, int64_t now_ms) {
    const ProbeTarget& target = *probe.target;
    // A link must not be split across two submissions: keep both SQEs together.
    if (io_uring_sq_space_left(ring_.raw()) < 2) io_uring_submit(ring_.raw());
    io_uring_sqe* sqe = prep(probe, owner, op);
    if (op == HcOp::kConnect) {
        io_uring_prep_connect(sqe, probe.fd.get(), target.address.sockaddr_ptr(), target.address.sockaddr_len());
    } else if (op == HcOp::kSend) {
        const std::string& request = target.http_request;
        io_uring_prep_send(sqe, probe.fd.get(), request.data() + probe.sent, request.size() - probe.sent,
                           MSG_NOSIGNAL);
    } else {
        io_uring_prep_recv(sqe, probe.fd.get(), probe.buffer + probe.received,
                           kProbeResponseBytes - probe.received, 0);
    }
    sqe->flags |= IOSQE_IO_LINK;
    probe.timeout = to_timespec(std::max<int64_t>(probe.deadline_ms - now_ms, 1));
    io_uring_sqe* timeout = prep(probe, owner, HcOp::kLinkTimeout);
    io_uring_prep_link_timeout(timeout, &probe.timeout, 0);
}

// The exchange is over: its socket is closed by io_uring along with the other
// SQEs of this wakeup, a syscall saved per check.
ProbeResult ProbeRing::finish(Probe& probe, HcTag owner, bool ok, std::string detail) {
    if (probe.fd) io_uring_prep_close(prep(probe, owner, HcOp::kClose), probe.fd.release());
    probe.running = false;
    probe.target.reset();
    return ProbeResult{ok, std::move(detail)};
}

void ProbeRing::abandon(Probe& probe, HcTag owner) {
    if (probe.fd && probe.in_flight > 0) {
        io_uring_prep_cancel_fd(prep(probe, owner, HcOp::kCancel), probe.fd.get(), IORING_ASYNC_CANCEL_ALL);
        io_uring_submit(ring_.raw());
    }
    // Only a linked timeout may still hold on to the probe now, and it holds no socket.
    probe.fd.reset();
    probe.running = false;
    probe.target.reset();
}

std::optional<ProbeResult> ProbeRing::on_completion(Probe& probe, HcTag tag, int res, int64_t now_ms) {
    switch (tag.op) {
        case HcOp::kConnect: return on_connected(probe, tag, res, now_ms);
        case HcOp::kSend: return on_sent(probe, tag, res, now_ms);
        case HcOp::kRecv: return on_received(probe, tag, res, now_ms);
        case HcOp::kLinkTimeout:
        case HcOp::kCancel:
        case HcOp::kClose: break;
    }
    return std::nullopt;
}

std::optional<ProbeResult> ProbeRing::on_connected(Probe& probe, HcTag owner, int res, int64_t now_ms) {
    const ProbeProtocol protocol = probe.target->protocol;
    if (res < 0) {
        if (protocol == ProbeProtocol::kAgent) return finish(probe, owner, false, "agent " + connect_detail(-res));
        return finish(probe, owner, false, connect_detail(-res));
    }
    if (protocol == ProbeProtocol::kAgent) {
        submit_step(probe, owner, HcOp::kRecv, now_ms);
    } else if (protocol == ProbeProtocol::kHttp) {
        submit_step(probe, owner, HcOp::kSend, now_ms);
    } else {
        return finish(probe, owner, true, "connect ok");
    }
    return std::nullopt;
}

std::optional<ProbeResult> ProbeRing::on_sent(Probe& probe, HcTag owner, int res, int64_t now_ms) {
    if (res < 0) {
        return finish(probe, owner, false,
                      res == -ECANCELED ? "timeout sending the request" : std::string("send: ") + std::strerror(-res));
    }
    probe.sent += size_t(res);
    submit_step(probe, owner, probe.sent < probe.target->http_request.size() ? HcOp::kSend : HcOp::kRecv, now_ms);
    return std::nullopt;
}

std::optional<ProbeResult> ProbeRing::on_received(Probe& probe, HcTag owner, int res, int64_t now_ms) {
    const ProbeTarget& target = *probe.target;
    const bool agent = target.protocol == ProbeProtocol::kAgent;
    if (res < 0) {
        const std::string why = res == -ECANCELED ? "no response within " + format_duration(Millis(target.timeout_ms))
                                                  : std::string("recv: ") + std::strerror(-res);
        return finish(probe, owner, false, agent ? "agent: " + why : why);
    }
    probe.received += size_t(res);
    const bool complete = res == 0 || probe.received == kProbeResponseBytes;
    const std::string_view got(probe.buffer, probe.received);
    if (agent) {
        if (complete || got.find('\n') != std::string_view::npos) return finish(probe, owner, true, first_line(got));
    } else if (auto verdict = evaluate_http_check(got, target.http_check, complete)) {
        return finish(probe, owner, verdict->passed, std::move(verdict->detail));
    }
    submit_step(probe, owner, HcOp::kRecv, now_ms);
    return std::nullopt;
}

}  // namespace ringlb
