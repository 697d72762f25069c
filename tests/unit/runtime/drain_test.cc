// drain_timeout's decisions: which backends drain, when their connections end,
// and how the daemon marks them from snapshots (kept, drained, back, removed).
#include "core/runtime/drain.h"

#include <gtest/gtest.h>

#include <memory>

namespace ringlb {
namespace {

TEST(Drain, DrainIsTheOperatorsOrTheAgentsWordNotHealth) {
    EXPECT_TRUE(is_draining(BackendAdminState::kDrain, false));
    EXPECT_TRUE(is_draining(BackendAdminState::kReady, true)) << "the agent's drain";
    EXPECT_FALSE(is_draining(BackendAdminState::kReady, false));
    EXPECT_FALSE(is_draining(BackendAdminState::kMaint, false));
}

TEST(Drain, ExpiresAtTheTimeoutNotBefore) {
    EXPECT_FALSE(drain_expired(1000, 5000, 5999));
    EXPECT_TRUE(drain_expired(1000, 5000, 6000));
    EXPECT_TRUE(drain_expired(1000, 5000, 100000));
    EXPECT_FALSE(drain_expired(0, 5000, 100000)) << "not draining";
    EXPECT_FALSE(drain_expired(1000, 0, 100000)) << "0 waits forever";
}

std::shared_ptr<RuntimeSnapshot> snapshot_of(std::vector<std::shared_ptr<BackendState>> states) {
    auto runtime = std::make_shared<ListenerRuntime>();
    for (auto& state : states) runtime->backends.push_back({BackendConfig{}, state});
    auto snapshot = std::make_shared<RuntimeSnapshot>();
    snapshot->listeners.push_back({runtime, nullptr});
    return snapshot;
}

TEST(Drain, FollowDrainsMarksOnceUnmarksAndMarksRemovedBackends) {
    const int64_t before = draining_backend_count().load();
    auto a = std::make_shared<BackendState>(InetAddr{});
    auto b = std::make_shared<BackendState>(InetAddr{});
    auto both = snapshot_of({a, b});
    follow_drains(*both, nullptr, 100);
    EXPECT_EQ(a->drain_since_ms.load(), 0);
    EXPECT_EQ(draining_backend_count().load(), before);

    a->admin.store(BackendAdminState::kDrain);
    follow_drains(*both, nullptr, 200);
    follow_drains(*both, nullptr, 400);
    EXPECT_EQ(a->drain_since_ms.load(), 200) << "the first time it was seen draining";
    EXPECT_EQ(draining_backend_count().load(), before + 1);

    a->admin.store(BackendAdminState::kReady);
    follow_drains(*both, nullptr, 500);
    EXPECT_EQ(a->drain_since_ms.load(), 0);
    EXPECT_EQ(draining_backend_count().load(), before);

    auto only_a = snapshot_of({a});
    follow_drains(*only_a, both.get(), 600);
    EXPECT_EQ(b->drain_since_ms.load(), 600) << "removed from the config";
    EXPECT_EQ(a->drain_since_ms.load(), 0);
    EXPECT_EQ(draining_backend_count().load(), before + 1);
    both.reset();
    b.reset();  // its last connection gone
    EXPECT_EQ(draining_backend_count().load(), before);
}

}  // namespace
}  // namespace ringlb
