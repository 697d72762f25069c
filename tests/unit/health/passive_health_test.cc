// The workers' side of passive health (report_connect_result) and the daemon's
// publish_admin_states: atomics on BackendState, no sockets, time passed in.
#include <gtest/gtest.h>

#include <cerrno>
#include <thread>
#include <vector>

#include "core/health/health_checker.h"
#include "core/health/health_fsm.h"
#include "core/health/passive_health.h"
#include "core/runtime/runtime.h"

namespace ringlb {
namespace {

ListenerConfig two_backends(uint32_t max_fails, int64_t fail_timeout_ms) {
    ListenerConfig listener;
    listener.name = "web";
    for (const char* address : {"10.0.1.11:8080", "10.0.1.12:8080"}) {
        BackendConfig backend;
        backend.address = *InetAddr::parse(address);
        listener.backends.push_back(backend);
    }
    listener.max_fails = max_fails;
    listener.fail_timeout = Millis(fail_timeout_ms);
    return listener;
}

TEST(PassiveHealth, MaxFailsWithinFailTimeoutTakesTheBackendOutAtOnce) {
    const ListenerConfig listener = two_backends(3, 10000);
    BackendState backend(listener.backends[0].address);
    report_connect_result(listener, backend, -ECONNREFUSED, 1000);
    report_connect_result(listener, backend, 0, 1500);  // successes in between still count the failures
    report_connect_result(listener, backend, -ECANCELED, 2000);
    EXPECT_TRUE(backend.healthy.load());
    EXPECT_EQ(backend.passive_trips.load(), 0u);
    report_connect_result(listener, backend, -ECONNREFUSED, 3000);
    EXPECT_FALSE(backend.healthy.load());
    EXPECT_EQ(backend.passive_trips.load(), 1u);
    EXPECT_EQ(backend.passive_trip_ms.load(), 3000);
    EXPECT_EQ(backend.passive_errno.load(), ECONNREFUSED);
}

TEST(PassiveHealth, ASuccessWithNothingRecordedChangesNothing) {
    const ListenerConfig listener = two_backends(1, 10000);
    BackendState backend(listener.backends[0].address);
    report_connect_result(listener, backend, 0, 1000);
    EXPECT_EQ(backend.passive_window.load(), 0u);
    EXPECT_TRUE(backend.healthy.load());
}

TEST(PassiveHealth, ZeroMaxFailsOrASingleBackendIsNeverTakenOut) {
    ListenerConfig off = two_backends(0, 10000);
    BackendState a(off.backends[0].address);
    for (int i = 0; i < 10; ++i) report_connect_result(off, a, -ECONNREFUSED, i);
    EXPECT_TRUE(a.healthy.load());

    ListenerConfig single = two_backends(1, 10000);
    single.backends.pop_back();
    BackendState b(single.backends[0].address);
    for (int i = 0; i < 10; ++i) report_connect_result(single, b, -ECONNREFUSED, i);
    EXPECT_TRUE(b.healthy.load());
    EXPECT_EQ(b.passive_trips.load(), 0u);
}

TEST(PassiveHealth, WorkersFailingAtOnceTripItExactlyOnce) {
    const ListenerConfig listener = two_backends(5, 60000);
    BackendState backend(listener.backends[0].address);
    std::vector<std::thread> workers;
    for (int w = 0; w < 4; ++w)
        workers.emplace_back([&] {
            for (int i = 0; i < 1000; ++i) report_connect_result(listener, backend, -ECONNREFUSED, 1000 + i % 7);
        });
    for (auto& worker : workers) worker.join();
    EXPECT_EQ(backend.passive_trips.load(), 1u);
    EXPECT_FALSE(backend.healthy.load());
    EXPECT_EQ(PassiveWindow::unpack(backend.passive_window.load()).fails, 4000u);
}

TEST(PublishAdminStates, DrainAndMaintTakeABackendOutBeforeTheSnapshotIsSeen) {
    auto runtime = std::make_shared<ListenerRuntime>();
    runtime->config = two_backends(1, 10000);
    runtime->config.backends[0].state = BackendAdminState::kDrain;
    runtime->config.backends[1].state = BackendAdminState::kReady;
    for (const BackendConfig& config : runtime->config.backends)
        runtime->backends.push_back({config, std::make_shared<BackendState>(config.address)});
    RuntimeSnapshot snapshot;
    snapshot.listeners.push_back({runtime, nullptr});

    publish_admin_states(snapshot);
    EXPECT_EQ(runtime->backends[0].state->admin.load(), BackendAdminState::kDrain);
    EXPECT_FALSE(runtime->backends[0].state->healthy.load());
    EXPECT_EQ(runtime->backends[1].state->admin.load(), BackendAdminState::kReady);
    EXPECT_TRUE(runtime->backends[1].state->healthy.load());
}

TEST(EffectiveWeight, IsTheConfiguredWeightInThousandthsScaledByTheCheckersPermille) {
    BackendState backend(*InetAddr::parse("10.0.1.11:8080"));
    EXPECT_EQ(effective_weight(3, backend), 3000u);
    backend.weight_permille.store(500);  // agent said 50%
    EXPECT_EQ(effective_weight(3, backend), 1500u);
    backend.weight_permille.store(1);  // first instant of slow start
    EXPECT_EQ(effective_weight(1, backend), 1u);
    backend.weight_permille.store(0);  // never 0: a scheduler divides by it
    EXPECT_EQ(effective_weight(1, backend), 1u);
    backend.weight_permille.store(256000);  // agent said 25600%
    EXPECT_EQ(effective_weight(256, backend), kMaxEffectiveWeight);
}

}  // namespace
}  // namespace ringlb
