// Per-backend health decisions: active-check rise/fall, passive connect failures
// (nginx max_fails/fail_timeout), agent replies (HAProxy agent-check words), admin
// states and the slow-start weight ramp; plus the HTTP check's request and status
// line. Pure: no sockets, no clock reads, no logging; time comes in as ms.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/result.h"
#include "core/config/config.h"
#include "core/runtime/backend_status.h"

namespace ringlb {

// ------------------------------------------------------------------ agent

// One agent reply line (HAProxy agent-check vocabulary). Words are separated by
// spaces, tabs or commas; '#' starts a free-text description. Each field is set
// only when the reply said something about it: agent state is sticky, a reply
// changes only what it names.
struct AgentReply {
    std::optional<bool> up;                  // "up" → true; "down", "fail", "stopped" → false
    std::optional<BackendAdminState> admin;  // "ready", "drain", "maint"
    std::optional<uint32_t> weight_percent;  // "75%": of the configured weight
    std::string description;                 // text after '#', trimmed
    std::vector<std::string> ignored;        // words ringlb does not act on ("maxconn:30", unknown)

    bool operator==(const AgentReply&) const = default;
};

constexpr uint32_t kMaxAgentPercent = 25600;  // weight 1 × 25600% = 256, the largest weight

// Fails, saying why, when the line names no state and no weight or has a bad weight.
Result<AgentReply> parse_agent_reply(std::string_view line);

// ------------------------------------------------------------------ passive

// Connect failures seen on the data path, nginx style: max_fails failures within
// fail_timeout of the first one mark the backend down. Packed into one 64-bit
// word so that every worker can update it with a compare-and-swap.
struct PassiveWindow {
    int64_t start_ms = 0;    // first failure of the current window (48 bits kept)
    uint32_t fails = 0;      // failures in the window, saturating at kMaxFails
    bool probation = false;  // back after fail_timeout: one failure trips again, one success clears

    static constexpr uint32_t kMaxFails = 0x7fff;

    uint64_t pack() const {
        return (uint64_t(start_ms) << 16) | (probation ? 0x8000u : 0u) | (fails & kMaxFails);
    }
    static PassiveWindow unpack(uint64_t word) {
        return {int64_t(word >> 16), uint32_t(word & kMaxFails), (word & 0x8000u) != 0};
    }
    bool operator==(const PassiveWindow&) const = default;
};

struct PassiveParams {
    uint32_t max_fails = 1;          // 0: passive failures are not counted
    int64_t fail_timeout_ms = 10000;
};

struct PassiveStep {
    PassiveWindow next;
    bool tripped = false;  // this result marks the backend down
};

// One connect result. A success clears the window only once it is older than
// fail_timeout (or on probation), as nginx does: failures interleaved with
// successes still add up.
PassiveStep passive_on_connect(const PassiveWindow& window, bool ok, int64_t now_ms, const PassiveParams& params);

// The window a backend gets when fail_timeout is over and it takes traffic again.
PassiveWindow passive_probation(int64_t now_ms, const PassiveParams& params);

// ------------------------------------------------------------------ the state machine

struct HealthParams {
    bool active = false;       // check = tcp or http
    int rise = 2;              // consecutive passed checks to come up
    int fall = 3;              // consecutive failed checks to go down
    int64_t slow_start_ms = 0; // weight ramp after coming back; 0 = none
};

struct HealthTransition {
    BackendStatus from;
    BackendStatus to;
    std::string reason;  // "connect refused, 3/3", "agent: drain"
};

// One backend's health. Initial state (HAProxy's choice): UP, so traffic flows
// from the first second, but until a check has passed the first failed check
// marks it DOWN at once rather than after `fall`. The same holds after leaving
// maintenance and when checks are switched on by a reload. Slow start applies
// whenever the backend returns to UP, never at start.
class HealthFsm {
public:
    explicit HealthFsm(const HealthParams& params) : params_(params) {}

    // A reload. Keeps the state; switching active checks on or off restarts them.
    std::optional<HealthTransition> set_params(const HealthParams& params, int64_t now_ms);

    // A finished active check. detail says what happened: "connect ok", "HTTP 500".
    std::optional<HealthTransition> on_check(bool passed, std::string_view detail, int64_t now_ms);
    // A parsed agent reply; `line` is what the agent said, for the reason.
    std::optional<HealthTransition> on_agent(const AgentReply& reply, std::string_view line, int64_t now_ms);
    // Passive failures tripped (a worker saw max_fails within fail_timeout). With
    // active checks the backend then needs `rise` passed checks; without, it
    // waits for on_passive_recovery.
    std::optional<HealthTransition> on_passive_trip(std::string_view detail, int64_t now_ms);
    // Without active checks: fail_timeout is over since the trip.
    std::optional<HealthTransition> on_passive_recovery(int64_t now_ms);
    // The operator's admin state (ringlbctl backend set --state, or the config line).
    std::optional<HealthTransition> on_admin(BackendAdminState state, int64_t now_ms);

    BackendStatus status() const;
    bool takes_connections() const { return status() == BackendStatus::kUp; }
    bool check_up() const { return check_up_; }
    bool passive_down() const { return passive_down_; }
    // Active checks are not run in maintenance (operator's or agent's).
    bool active_checks_paused() const;
    // The agent keeps being asked in the agent's own maintenance (only it can end it),
    // not in the operator's.
    bool agent_paused() const { return admin_ == BackendAdminState::kMaint; }
    uint32_t agent_percent() const { return agent_percent_; }

    // Weight to use, in 1/1000 of the configured weight: the agent's percentage
    // times the slow-start ramp (linear from 1/1000 up to 1 over slow_start).
    uint32_t weight_permille(int64_t now_ms) const;
    bool ramping(int64_t now_ms) const;

private:
    std::optional<HealthTransition> settle(BackendStatus before, std::string reason, int64_t now_ms);
    void restart_checks();

    HealthParams params_;
    bool check_up_ = true;
    bool confirmed_ = false;     // a check passed since checks (re)started
    int streak_ = 0;             // consecutive results against the current verdict
    bool passive_down_ = false;  // no active checks: down until on_passive_recovery
    bool agent_down_ = false;
    BackendAdminState agent_admin_ = BackendAdminState::kReady;

public:
    // The agent asked for a drain ("drain", or 0%): drain_timeout counts from then.
    bool agent_drains() const { return agent_admin_ == BackendAdminState::kDrain || agent_percent_ == 0; }

private:
    uint32_t agent_percent_ = 100;
    BackendAdminState admin_ = BackendAdminState::kReady;
    std::optional<int64_t> ramp_start_ms_;
};

// ------------------------------------------------------------------ HTTP check

// "GET /health HTTP/1.1\r\nHost: ...\r\n...\r\n\r\n". Host is spec.http_host, else
// the address checked ("10.0.1.11:8081"); the connection is closed after the status line.
std::string build_http_check_request(const HealthCheckSpec& spec, const InetAddr& target);

struct HttpCheckVerdict {
    bool passed = false;
    std::string detail;  // "HTTP 200", "HTTP 500", "bad status line"
};

// Judges the bytes received so far. nullopt: the status line is not complete yet
// and `complete` is false (more may come). With complete (EOF or buffer full), a
// missing status line is a failure.
std::optional<HttpCheckVerdict> evaluate_http_check(std::string_view received, const HealthCheckSpec& spec,
                                                    bool complete);

}  // namespace ringlb
