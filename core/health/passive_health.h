// The workers' side of passive health checks (nginx max_fails/fail_timeout):
// every backend connect result is reported here. Lock-free; the health checker
// thread logs the trips and brings backends back.
#pragma once

#include <cstdint>

#include "core/config/config.h"
#include "core/runtime/backend.h"

namespace ringlb {

// Called by a worker after each connect attempt to `backend` of `listener`:
// res is the connect CQE's result (0 connected, -errno failed, -ECANCELED when
// connect_timeout cut it). When max_fails failures fall within fail_timeout,
// the backend stops taking new connections at once (healthy = false); the
// health checker logs it and brings it back after `rise` passed checks, or,
// without active checks, fail_timeout after the trip (then one more failure
// trips it again, one success clears it). Does nothing when max_fails is 0 or
// the listener has a single backend (as nginx: marking the only backend down
// helps nobody). Any thread; a success on a backend without recorded failures
// costs one relaxed load.
void report_connect_result(const ListenerConfig& listener, BackendState& backend, int res, int64_t now_ms) noexcept;

}  // namespace ringlb
