// Unit tests for core/config/global_section: the [global] keys and their errors.
#include "core/config/global_section.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/unit/config/config_test_support.h"

namespace ringlb {
namespace {

using namespace config_test;

TEST(GlobalSection, WorkersIsAutoOrACount) {
    auto with_workers = [](const char* value) { return parse("[global]\nworkers = " + std::string(value) + "\n"); };
    EXPECT_EQ(with_workers("auto").config->global.workers, 0);
    EXPECT_EQ(with_workers("1").config->global.workers, 1);
    EXPECT_EQ(with_workers("256").config->global.workers, 256);
    EXPECT_FALSE(with_workers("257").ok());
    EXPECT_FALSE(with_workers("AUTO").ok());
}

TEST(GlobalSection, ControlSocketPathMustFitInSockaddrUn) {
    EXPECT_TRUE(parse("[global]\ncontrol_socket = /" + std::string(106, 'a') + "\n").ok());
    EXPECT_EQ(error_texts(parse("[global]\ncontrol_socket = /" + std::string(107, 'a') + "\n")),
              std::vector<std::string>{
                  "t.conf:2: global: control_socket path is 108 bytes long; a Unix socket path holds at most 107"});
    EXPECT_FALSE(parse("[global]\ncontrol_socket =\n").ok());
}

TEST(GlobalSection, EveryKeyIsReadIntoTheModel) {
    auto result = parse(lines({"[global]", "workers = 12", "control_socket = /tmp/r.sock", "metrics = [::1]:9650",
                               "log_level = warn", "access_log = /var/log/a.log", "shutdown_grace = 0"}));
    ASSERT_TRUE(result.ok()) << ::testing::PrintToString(error_texts(result));
    const GlobalConfig& global = result.config->global;
    EXPECT_EQ(global.workers, 12);
    EXPECT_EQ(global.control_socket, "/tmp/r.sock");
    EXPECT_EQ(global.metrics, addr("[::1]:9650"));
    EXPECT_EQ(global.log_level, "warn");
    EXPECT_EQ(global.access_log, "/var/log/a.log");
    EXPECT_EQ(global.shutdown_grace, Millis{0});
}

TEST(GlobalSection, EachLogLevelIsAcceptedAndAnUnknownOneListsThemAll) {
    for (const char* level : {"trace", "debug", "info", "warn", "error", "critical", "off"})
        EXPECT_EQ(parse("[global]\nlog_level = " + std::string(level) + "\n").config->global.log_level, level);
    EXPECT_EQ(error_texts(parse("[global]\nlog_level = INFO\n")),
              std::vector<std::string>{"t.conf:2: global: unknown log_level 'INFO' (expected trace, debug, info, "
                                       "warn, error, critical or off)"});
}

TEST(GlobalSection, ASecondGlobalIsReportedAndItsKeysAreStillCheckedButNotKept) {
    auto result = parse(lines({"[global]", "workers = 2", "[global]", "workers = 3", "log_level = loud"}));
    EXPECT_EQ(error_texts(result),
              (std::vector<std::string>{
                  "t.conf:3: duplicate section [global] (first at line 1)",
                  "t.conf:5: global: unknown log_level 'loud' (expected trace, debug, info, warn, error, critical "
                  "or off)",
              }));
}

}  // namespace
}  // namespace ringlb
