// Unit tests for core/daemon/reload_plan: every changed setting is applied, needs a
// restart, or restarts its VRRP instance, and says so.
#include "core/daemon/reload_plan.h"

#include <gtest/gtest.h>

#include "core/config/config_parse.h"

namespace ringlb {
namespace {

Config config_of(const std::string& global, const std::string& rest = "") {
    ConfigParseResult result = parse_config("[global]\n" + global + rest, "t.conf");
    EXPECT_TRUE(result.ok()) << (result.errors.empty() ? "" : result.errors.front().to_string());
    return result.ok() ? *result.config : Config{};
}

RestartOnlySettings started_as(const Config& config, int workers) { return {workers, config.global}; }

const std::string kVrrp = "\n[vrrp.v]\ninterface = eth0\nvrid = 7\nvip = 10.0.0.100/24\n";

TEST(ReloadPlan, WorkersControlSocketAndMetricsNeedARestartAndSaySoEveryTime) {
    const Config started = config_of("workers = 2\n");
    const Config edited = config_of("workers = 4\ncontrol_socket = /tmp/x.sock\nmetrics = 127.0.0.1:9999\n");
    const ReloadPlan plan = plan_reload(started, edited, started_as(started, 2));
    ASSERT_EQ(plan.items.size(), 3u);
    EXPECT_EQ(plan.count(ReloadOutcome::kNeedsRestart), 3u);
    EXPECT_EQ(plan.items[0].setting, "global.workers");
    EXPECT_EQ(plan.items[0].from, "2");
    EXPECT_EQ(plan.items[0].to, "4");
    EXPECT_NE(plan.items[0].detail.find("keeps running 2 worker(s)"), std::string::npos) << plan.items[0].detail;
    EXPECT_EQ(plan.items[1].setting, "global.control_socket");
    EXPECT_EQ(plan.items[2].setting, "global.metrics");
    // The same file again: still not applied, still reported.
    EXPECT_EQ(plan_reload(edited, edited, started_as(started, 2)).count(ReloadOutcome::kNeedsRestart), 3u);
    // The file back at the running values: nothing to report.
    EXPECT_TRUE(plan_reload(edited, started, started_as(started, 2)).items.empty());
}

TEST(ReloadPlan, WorkersAutoAtStartAndTheSameCountInTheFileIsNoChange) {
    const Config started = config_of("workers = auto\n");
    EXPECT_TRUE(plan_reload(started, config_of("workers = 3\n"), started_as(started, 3)).items.empty());
    EXPECT_EQ(plan_reload(started, config_of("workers = 4\n"), started_as(started, 3)).items.size(), 1u);
}

TEST(ReloadPlan, LiveGlobalsAndListenerChangesAreApplied) {
    const std::string listener = "\n[listener.web]\nbind = 127.0.0.1:80\nbackend = 127.0.0.1:81\n";
    const Config before = config_of("workers = 1\n", listener);
    const Config after = config_of("workers = 1\nlog_level = debug\nshutdown_grace = 5s\n",
                                   "\n[listener.web]\nbind = 127.0.0.1:80\nbackend = 127.0.0.1:82\n"
                                   "\n[listener.api]\nbind = 127.0.0.1:90\nbackend = 127.0.0.1:91\n");
    const ReloadPlan plan = plan_reload(before, after, started_as(before, 1));
    ASSERT_EQ(plan.items.size(), 4u);
    EXPECT_EQ(plan.count(ReloadOutcome::kApplied), 4u);
    EXPECT_EQ(plan.items[0].setting, "global.log_level");
    EXPECT_EQ(plan.items[1].setting, "global.shutdown_grace");
    EXPECT_EQ(plan.items[2].setting, "listener.web.backend");
    EXPECT_EQ(plan.items[3].setting, "listener.api");
    EXPECT_EQ(plan.items[3].to, "added");
}

TEST(ReloadPlan, VrrpKeysApplyLiveAndAnInterfaceOrVridChangeRestartsTheInstance) {
    const Config before = config_of("", kVrrp);
    const Config priority = config_of("", kVrrp + "priority = 200\nvip = 10.0.0.101/32\n");
    ReloadPlan plan = plan_reload(before, priority, started_as(before, 1));
    ASSERT_EQ(plan.items.size(), 2u);
    EXPECT_EQ(plan.count(ReloadOutcome::kApplied), 2u);
    EXPECT_EQ(plan.items[0].setting, "vrrp.v.priority");
    EXPECT_EQ(plan.items[1].setting, "vrrp.v.vip");
    EXPECT_EQ(plan.items[1].to, "10.0.0.100/24, 10.0.0.101/32");

    const Config moved = config_of("", "\n[vrrp.v]\ninterface = eth1\nvrid = 7\nvip = 10.0.0.100/24\npreempt = false\n");
    plan = plan_reload(before, moved, started_as(before, 1));
    ASSERT_EQ(plan.items.size(), 2u);
    EXPECT_EQ(plan.count(ReloadOutcome::kInstanceRestarted), 2u);  // the other key rides along
    EXPECT_EQ(plan.items[0].setting, "vrrp.v.interface");
    EXPECT_NE(plan.items[0].detail.find("instance v restarted"), std::string::npos) << plan.items[0].detail;
    EXPECT_EQ(to_label(plan.items[0].outcome), std::string("restarted"));
}

TEST(ReloadPlan, AVrrpSectionAddedStartsInBackupAndOneRemovedStops) {
    const Config none = config_of("");
    const Config one = config_of("", kVrrp);
    ReloadPlan plan = plan_reload(none, one, started_as(none, 1));
    ASSERT_EQ(plan.items.size(), 1u);
    EXPECT_EQ(plan.items[0].setting, "vrrp.v");
    EXPECT_NE(plan.items[0].detail.find("started in BACKUP"), std::string::npos);
    plan = plan_reload(one, none, started_as(none, 1));
    ASSERT_EQ(plan.items.size(), 1u);
    EXPECT_NE(plan.items[0].detail.find("stopped (priority 0 sent if it was master"), std::string::npos);
}

TEST(ReloadPlan, JsonAndLogLinesCarryEveryItem) {
    const Config started = config_of("workers = 2\n");
    const ReloadPlan plan = plan_reload(started, config_of("workers = 3\nlog_level = warn\n"), started_as(started, 2));
    const nlohmann::json items = reload_plan_json(plan);
    ASSERT_EQ(items.size(), 2u);
    EXPECT_EQ(items[0]["setting"], "global.workers");
    EXPECT_EQ(items[0]["result"], "needs_restart");
    EXPECT_EQ(items[1]["result"], "applied");
    const std::vector<std::string> lines = reload_plan_lines(plan);
    EXPECT_EQ(lines[1], "global.log_level (default) -> warn: applied: logging at warn now");
    EXPECT_TRUE(lines[0].starts_with("global.workers 2 -> 3: not applied: ")) << lines[0];
}

}  // namespace
}  // namespace ringlb
