// Unit tests for core/config/config_diff: every changed key, as the file writes it.
#include "core/config/config_diff.h"

#include <gtest/gtest.h>

#include "tests/unit/config/config_test_support.h"

namespace ringlb {
namespace {

using namespace config_test;
using Kind = ConfigKeyChange::Kind;

Config parsed(const std::string& text) {
    ConfigParseResult result = parse_config(text, "t.conf");
    EXPECT_TRUE(result.ok()) << (result.errors.empty() ? "" : result.errors.front().to_string());
    return result.ok() ? *result.config : Config{};
}

const std::string kBase = lines({"[global]", "workers = 2", "", "[listener.web]", "bind = 127.0.0.1:8080",
                                 "backend = 127.0.0.1:9000", "", "[vrrp.v]", "interface = eth0", "vrid = 7",
                                 "vip = 10.0.0.100/24"});

TEST(ConfigDiff, EqualConfigsDifferInNothingEvenWhenSectionsMoveLines) {
    EXPECT_TRUE(diff_configs(parsed(kBase), parsed(kBase)).empty());
    EXPECT_TRUE(diff_configs(parsed(kBase), parsed("\n\n# moved\n" + kBase)).empty());
}

TEST(ConfigDiff, AChangedKeyComesWithBothValuesAndADefaultIsEmpty) {
    const Config next = parsed(lines({"[global]", "workers = 4", "log_level = debug", "", "[listener.web]",
                                      "bind = 127.0.0.1:8080", "backend = 127.0.0.1:9000", "", "[vrrp.v]",
                                      "interface = eth0", "vrid = 7", "priority = 150", "vip = 10.0.0.100/24"}));
    EXPECT_EQ(diff_configs(parsed(kBase), next),
              (std::vector<ConfigKeyChange>{{Kind::kKeyChanged, "global", "workers", "2", "4"},
                                            {Kind::kKeyChanged, "global", "log_level", "", "debug"},
                                            {Kind::kKeyChanged, "vrrp.v", "priority", "100", "150"}}));
    // And back: the key set to its default is written as not set.
    EXPECT_EQ(diff_configs(next, parsed(kBase))[1], (ConfigKeyChange{Kind::kKeyChanged, "global", "log_level", "debug", ""}));
}

TEST(ConfigDiff, ARepeatedKeyComparesAsTheListOfItsValues) {
    std::string text = kBase + "vip = 10.0.0.101/32\n";
    EXPECT_EQ(diff_configs(parsed(kBase), parsed(text)),
              (std::vector<ConfigKeyChange>{
                  {Kind::kKeyChanged, "vrrp.v", "vip", "10.0.0.100/24", "10.0.0.100/24, 10.0.0.101/32"}}));
}

TEST(ConfigDiff, SectionsAddedThenRemovedAreWholeSectionChanges) {
    const std::string only_global = lines({"[global]", "workers = 2"});
    const std::string other = lines({"[global]", "workers = 2", "", "[vrrp.w]", "interface = eth1", "vrid = 8",
                                     "vip = 10.0.1.100/24"});
    EXPECT_EQ(diff_configs(parsed(kBase), parsed(other)),
              (std::vector<ConfigKeyChange>{{Kind::kSectionAdded, "vrrp.w", "", "", ""},
                                            {Kind::kSectionRemoved, "listener.web", "", "", ""},
                                            {Kind::kSectionRemoved, "vrrp.v", "", "", ""}}));
    EXPECT_EQ(diff_configs(parsed(only_global), parsed(only_global)).size(), 0u);
}

}  // namespace
}  // namespace ringlb
