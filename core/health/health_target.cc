// A followed backend's verdicts, logs and publishing; see health_target.h.
// Decisions are HealthFsm's (pure); this file says them and writes them down.
#include "core/health/health_target.h"

#include <utility>

#include "core/base/duration.h"
#include "core/base/log.h"

namespace ringlb {

namespace {

std::string passive_detail(const ListenerConfig& lc, int error) {
    return std::to_string(lc.max_fails) + "/" + std::to_string(lc.max_fails) + " connect failure" +
           (lc.max_fails == 1 ? "" : "s") + " within " + format_duration(lc.fail_timeout) + ": " +
           connect_detail(error);
}

std::shared_ptr<const ProbeTarget> make_probe_target(ProbeProtocol protocol, const InetAddr& address,
                                                     const ListenerConfig& lc) {
    auto target = std::make_shared<ProbeTarget>();
    target->protocol = protocol;
    target->address = address;
    target->timeout_ms = lc.check_timeout.count();
    if (protocol == ProbeProtocol::kHttp) {
        target->http_check = lc.check;
        target->http_request = build_http_check_request(lc.check, address);
    }
    return target;
}

// Workers trip passive failures on their own; the checker learns of it here,
// before any verdict of its own and on every tick.
void sync_passive(HealthTarget& t, int64_t now_ms) {
    const uint64_t trips = t.state->passive_trips.load();
    if (trips == t.passive_trips_seen) return;
    t.passive_trips_seen = trips;
    t.passive_trip_ms = t.state->passive_trip_ms.load();
    apply_transition(t, t.fsm.on_passive_trip(passive_detail(t.lc(), t.state->passive_errno.load()), now_ms), now_ms);
}

}  // namespace

int64_t HealthTarget::interval_ms(CheckKind kind) const {
    return kind == CheckKind::kHealth ? lc().check_interval.count() : lc().agent_interval.count();
}

HealthParams health_params(const ListenerConfig& lc) {
    return HealthParams{lc.check.kind != HealthCheckKind::kNone, lc.rise, lc.fall, lc.slow_start.count()};
}

void configure_target(HealthTarget& t, std::shared_ptr<const ListenerRuntime> listener, const BackendConfig& config) {
    const ListenerConfig& lc = listener->config;
    t.listener = std::move(listener);
    t.config = config;
    t.label = "listener " + lc.name + " backend " + config.address.to_string();

    auto& health = t.probe_targets[size_t(CheckKind::kHealth)];
    health.reset();
    if (lc.check.kind != HealthCheckKind::kNone) {
        InetAddr address = config.address;
        if (lc.check_port) address.set_port(*lc.check_port);
        health = make_probe_target(lc.check.kind == HealthCheckKind::kHttp ? ProbeProtocol::kHttp : ProbeProtocol::kTcp,
                                   address, lc);
    }
    auto& agent = t.probe_targets[size_t(CheckKind::kAgent)];
    agent.reset();
    if (lc.agent_port) {
        InetAddr address = config.address;
        address.set_port(*lc.agent_port);
        agent = make_probe_target(ProbeProtocol::kAgent, address, lc);
    }
}

void apply_transition(HealthTarget& t, std::optional<HealthTransition> transition, int64_t now_ms,
                      bool passive_recovery) {
    if (transition) {
        const auto level = transition->to == BackendStatus::kDown ? spdlog::level::warn : spdlog::level::info;
        spdlog::log(level, "{} {} ({})", t.label, status_name(transition->to), transition->reason);
        t.state->transitions.fetch_add(1, std::memory_order_relaxed);
        if (transition->to == BackendStatus::kUp) {
            // Back by checks (or by an operator): old connect failures no longer count.
            // Back because fail_timeout passed: on probation, one failure trips it again.
            const PassiveParams params{t.lc().max_fails, t.lc().fail_timeout.count()};
            t.state->passive_window.store(passive_recovery ? passive_probation(now_ms, params).pack() : 0);
        }
    }
    publish(t, now_ms);
}

void publish(HealthTarget& t, int64_t now_ms) {
    BackendState& s = *t.state;
    const BackendStatus status = t.fsm.status();
    if (s.status.load(std::memory_order_relaxed) != status) s.status.store(status);
    s.agent_drain.store(t.fsm.agent_drains(), std::memory_order_relaxed);
    const uint32_t permille = t.fsm.weight_permille(now_ms);
    if (permille != t.published_permille) {
        s.weight_permille.store(permille, std::memory_order_relaxed);
        t.published_permille = permille;
    }
    if (status != BackendStatus::kUp || s.admin.load() != BackendAdminState::kReady) {
        if (s.healthy.load(std::memory_order_relaxed)) s.healthy.store(false);
        return;
    }
    if (s.healthy.load()) return;
    s.healthy.store(true);
    // A worker may have tripped passive failures since sync_passive, or the daemon
    // drained the backend since this pass began: each writes its own atomic before
    // clearing healthy, so seeing neither here means their false comes after ours.
    if (s.passive_trips.load() != t.passive_trips_seen || s.admin.load() != BackendAdminState::kReady)
        s.healthy.store(false);
}

void follow_time(HealthTarget& t, int64_t now_ms) {
    sync_passive(t, now_ms);
    if (t.fsm.passive_down() && now_ms - t.passive_trip_ms >= t.lc().fail_timeout.count())
        apply_transition(t, t.fsm.on_passive_recovery(now_ms), now_ms, true);
    if (t.fsm.weight_permille(now_ms) != t.published_permille) publish(t, now_ms);
}

void record_check(HealthTarget& t, const ProbeResult& result, int64_t now_ms) {
    t.state->checks_total.fetch_add(1, std::memory_order_relaxed);
    if (!result.ok) t.state->checks_failed.fetch_add(1, std::memory_order_relaxed);
    t.state->set_last_check(result.detail);
    spdlog::debug("{} check {}: {}", t.label, result.ok ? "passed" : "failed", result.detail);
    sync_passive(t, now_ms);
    apply_transition(t, t.fsm.on_check(result.ok, result.detail, now_ms), now_ms);
}

// An agent that cannot be reached changes nothing (HAProxy: connectivity is the
// health check's business), and neither does a reply that says nothing.
void record_agent(HealthTarget& t, const ProbeResult& result, int64_t now_ms) {
    const std::string& line = result.detail;
    Result<AgentReply> reply = result.ok ? parse_agent_reply(line) : Result<AgentReply>(fail(result.detail));
    if (!reply) {
        if (reply.error() != t.agent_error)
            spdlog::warn("{} agent check: {}{}", t.label, reply.error(),
                         result.ok ? "" : "; keeping the agent's last word");
        t.agent_error = reply.error();
        return;
    }
    if (!t.agent_error.empty()) spdlog::info("{} agent answers again: '{}'", t.label, line);
    t.agent_error.clear();
    spdlog::debug("{} agent said '{}'", t.label, line);
    const uint32_t percent_before = t.fsm.agent_percent();
    sync_passive(t, now_ms);
    apply_transition(t, t.fsm.on_agent(*reply, line, now_ms), now_ms);
    if (t.fsm.agent_percent() != percent_before)
        spdlog::info("{} weight {}% of {} (agent: '{}')", t.label, t.fsm.agent_percent(), t.config.weight, line);
}

}  // namespace ringlb
