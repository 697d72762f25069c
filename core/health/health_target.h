// One backend of one listener as the health checker follows it: its HealthFsm,
// what its two probes talk to, and what was last published. The functions here
// turn results (checks, agent replies, passive trips, the passing of time) into
// log lines and into the BackendState the workers read; no sockets.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "core/config/config.h"
#include "core/health/check_schedule.h"
#include "core/health/health_fsm.h"
#include "core/health/health_probe.h"
#include "core/runtime/backend.h"
#include "core/runtime/runtime.h"

namespace ringlb {

struct HealthTarget {
    bool live = false;
    bool retired = false;  // gone from the snapshot; freed once no CQE is pending
    uint32_t generation = 0;
    std::shared_ptr<BackendState> state;
    std::shared_ptr<const ListenerRuntime> listener;
    BackendConfig config;
    std::string label;  // "listener web backend 10.0.1.11:8080"
    HealthFsm fsm{HealthParams{}};
    std::shared_ptr<const ProbeTarget> probe_targets[2];  // by CheckKind; null when that check is off
    Probe probes[2];                                      // by CheckKind
    uint64_t passive_trips_seen = 0;
    int64_t passive_trip_ms = 0;
    uint32_t published_permille = 1000;
    std::string agent_error;  // the last agent failure logged, to log each change once

    const ListenerConfig& lc() const { return listener->config; }
    Probe& probe(CheckKind kind) { return probes[size_t(kind)]; }
    const std::shared_ptr<const ProbeTarget>& probe_target(CheckKind kind) const {
        return probe_targets[size_t(kind)];
    }
    int64_t interval_ms(CheckKind kind) const;
};

// The state machine's parameters for a listener's backends.
HealthParams health_params(const ListenerConfig& lc);

// Takes the listener's (new) config and the backend's: label, probe targets.
void configure_target(HealthTarget& t, std::shared_ptr<const ListenerRuntime> listener, const BackendConfig& config);

// Logs a transition and counts it (if any), then publishes.
void apply_transition(HealthTarget& t, std::optional<HealthTransition> transition, int64_t now_ms,
                      bool passive_recovery = false);
// Writes status, weight and healthy into the BackendState.
void publish(HealthTarget& t, int64_t now_ms);

// Every tick: passive trips seen by workers, fail_timeout over, the slow-start ramp.
void follow_time(HealthTarget& t, int64_t now_ms);
// A finished active check (tcp or http).
void record_check(HealthTarget& t, const ProbeResult& result, int64_t now_ms);
// A finished agent check: a reply line, or why there is none.
void record_agent(HealthTarget& t, const ProbeResult& result, int64_t now_ms);

}  // namespace ringlb
