// The health-check thread: one io_uring runs every active check (tcp, http)
// and agent check of every backend in the current snapshot — never a thread
// per check — feeds each backend's HealthFsm, logs and counts every status
// change, and publishes verdicts and weights into BackendState for the workers.
#pragma once

#include <cstdint>
#include <memory>
#include <thread>

namespace ringlb {

class SnapshotHolder;
struct RuntimeSnapshot;

// Publishes every backend's operator state (config `state=`) into its shared
// BackendState, taking drained and maintained backends out of the candidates at
// once; the checker's state machine follows on its next pass (within a tick), and
// brings a backend set back to ready in again. Call before `snapshot` is stored.
void publish_admin_states(const RuntimeSnapshot& snapshot);

struct HealthCheckerOptions {
    int64_t tick_ms = 100;       // snapshot polling, passive recoveries, slow-start ramps
    int64_t batch_slack_ms = 20;  // checks due this close together start in one wakeup
};

class HealthChecker {
public:
    // Reads `snapshots` (which must outlive it) every tick and follows its changes.
    explicit HealthChecker(const SnapshotHolder& snapshots, HealthCheckerOptions options = {});
    ~HealthChecker();  // stops the thread
    HealthChecker(const HealthChecker&) = delete;
    HealthChecker& operator=(const HealthChecker&) = delete;

    // Starts the thread, which sets its ring up itself (SINGLE_ISSUER ties a ring
    // to its creator). Throws std::runtime_error when that fails.
    void start();
    // Thread-safe and idempotent: cancels checks in flight, returns once the thread ended.
    void stop();

private:
    class Loop;
    std::unique_ptr<Loop> loop_;
    std::thread thread_;
};

}  // namespace ringlb
