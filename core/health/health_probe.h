// One check's exchange with a backend on the checker's io_uring: a socket, a
// connect, then for http the request and the status line, for an agent its one
// line; each step linked to a timeout for what is left of check_timeout. Judges
// only the exchange (connected, status line, line received): what a result does
// to the backend is health_target's business.
#pragma once

#include <liburing.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "core/base/inet_addr.h"
#include "core/base/op_tag.h"
#include "core/base/result.h"
#include "core/base/unique_fd.h"
#include "core/base/uring.h"
#include "core/config/config.h"

namespace ringlb {

enum class HcOp : uint8_t { kConnect = 1, kLinkTimeout, kSend, kRecv, kCancel, kClose };

// user_data of the checker's SQEs: slot and generation of the target, sub the CheckKind.
using HcTag = CqeTag<HcOp>;

constexpr size_t kProbeResponseBytes = 512;  // a status line or an agent line fits

enum class ProbeProtocol : uint8_t {
    kTcp,    // connected is passed
    kHttp,   // send the request, judge the status line
    kAgent,  // read one line (the agent speaks first)
};

// Whom a probe talks to and how, built from the listener config at each snapshot.
// A running probe holds the one it started with: a reload cannot pull the request
// out from under a send the kernel has not read yet.
struct ProbeTarget {
    ProbeProtocol protocol = ProbeProtocol::kTcp;
    InetAddr address;
    std::string http_request;    // kHttp only
    HealthCheckSpec http_check;  // kHttp: which statuses pass
    int64_t timeout_ms = 0;      // check_timeout, for the whole exchange
};

struct ProbeResult {
    bool ok = false;     // tcp, http: the check passed; agent: the agent answered
    std::string detail;  // "connect ok", "HTTP 500", why it failed; agent: its line, or why there is none
};

// What a connect that failed with `error` (an errno) is called in logs and in
// `ringlbctl` output: "connect refused", "connect timeout".
std::string connect_detail(int error);

// One check in progress: its socket and what the kernel reads or fills. Must not
// move while an SQE of it may be in flight (the checker keeps it in a heap-allocated target).
struct Probe {
    UniqueFd fd;
    bool running = false;  // started, no result yet
    uint32_t in_flight = 0;  // SQEs whose CQE has not been reaped
    std::shared_ptr<const ProbeTarget> target;  // while running
    int64_t deadline_ms = 0;
    __kernel_timespec timeout{};
    size_t sent = 0;
    size_t received = 0;
    char buffer[kProbeResponseBytes];

    // Neither running nor waiting for a CQE (a linked timeout may outlive its step).
    bool idle() const { return !running && in_flight == 0; }
};

// Runs probes on one ring and counts their SQEs in flight. Every SQE is tagged
// with the caller's `owner` (slot, generation, kind), its op filled in here.
class ProbeRing {
public:
    explicit ProbeRing(Ring& ring) : ring_(ring) {}

    // Opens a nonblocking socket and submits the connect. Fails (with the reason)
    // only when no socket can be had, which says nothing about the backend.
    Result<void> start(Probe& probe, std::shared_ptr<const ProbeTarget> target, HcTag owner, int64_t now_ms);
    // The CQE of a running probe's step (`tag` as reaped; linked timeouts, cancels
    // and closes are ignored): submits the next step, or closes the socket and
    // returns the result once the exchange is over.
    std::optional<ProbeResult> on_completion(Probe& probe, HcTag tag, int res, int64_t now_ms);
    // Gives a probe up: cancels its ops in flight, submitted before its socket
    // closes so that the kernel lets go of the socket too. Its CQEs still come.
    void abandon(Probe& probe, HcTag owner);

    // Every reaped CQE of this ring is counted off here.
    void count_reaped() { --in_flight_; }
    uint64_t in_flight() const { return in_flight_; }

private:
    io_uring_sqe* prep(Probe& probe, HcTag owner, HcOp op);
    void submit_step(Probe& probe, HcTag owner, HcOp op, int64_t now_ms);
    ProbeResult finish(Probe& probe, HcTag owner, bool ok, std::string detail);
    std::optional<ProbeResult> on_connected(Probe& probe, HcTag owner, int res, int64_t now_ms);
    std::optional<ProbeResult> on_sent(Probe& probe, HcTag owner, int res, int64_t now_ms);
    std::optional<ProbeResult> on_received(Probe& probe, HcTag owner, int res, int64_t now_ms);

    Ring& ring_;
    uint64_t in_flight_ = 0;
};

}  // namespace ringlb
