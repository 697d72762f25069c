// Unit tests for core/config/config_names: each enum's spellings both ways, and the
// text of a health check as the check key spells it.
#include "core/config/config_names.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace ringlb {
namespace {

// Every table: names unique, values unique, and find_by_name/name_of inverse of each other.
template <class E>
void expect_one_to_one(std::span<const NamedValue<E>> names) {
    std::set<std::string_view> seen_names;
    std::set<E> seen_values;
    for (const NamedValue<E>& named : names) {
        EXPECT_TRUE(seen_names.insert(named.name).second) << named.name;
        EXPECT_TRUE(seen_values.insert(named.value).second) << named.name;
        EXPECT_EQ(find_by_name<E>(names, named.name), named.value);
        EXPECT_EQ(name_of<E>(names, named.value), named.name);
    }
}

TEST(ConfigNames, EveryTableIsOneToOne) {
    expect_one_to_one<SchedulerKind>(kSchedulerNames);
    expect_one_to_one<SpliceMode>(kSpliceModeNames);
    expect_one_to_one<ProxyProtocol>(kProxyProtocolNames);
    expect_one_to_one<BackendAdminState>(kBackendStateNames);
}

TEST(ConfigNames, FormattersUseTheConfigFilesSpelling) {
    EXPECT_EQ(format_scheduler(SchedulerKind::kSourceHash), "source-hash");
    EXPECT_EQ(format_scheduler(SchedulerKind::kLeastConn), "leastconn");
    EXPECT_EQ(format_splice_mode(SpliceMode::kNever), "never");
    EXPECT_EQ(format_proxy_protocol(ProxyProtocol::kV2), "v2");
    EXPECT_EQ(format_backend_state(BackendAdminState::kMaint), "maint");
}

TEST(ConfigNames, BackendStateParsesOnlyTheExactLowerCaseWords) {
    EXPECT_EQ(parse_backend_state("drain"), BackendAdminState::kDrain);
    EXPECT_EQ(parse_backend_state("ready"), BackendAdminState::kReady);
    EXPECT_EQ(parse_backend_state("Drain"), std::nullopt);
    EXPECT_EQ(parse_backend_state(" drain"), std::nullopt);
    EXPECT_EQ(parse_backend_state(""), std::nullopt);
}

TEST(ConfigNames, AValueMissingFromATableIsAQuestionMark) {
    constexpr NamedValue<SpliceMode> only_auto[] = {{"auto", SpliceMode::kAuto}};
    EXPECT_EQ(name_of<SpliceMode>(only_auto, SpliceMode::kNever), "?");
    EXPECT_EQ(find_by_name<SpliceMode>(only_auto, "never"), std::nullopt);
}

TEST(ConfigNames, HealthCheckTextOfEveryKind) {
    EXPECT_EQ(format_health_check(HealthCheckSpec{}), "none");
    EXPECT_EQ(format_health_check(HealthCheckSpec{HealthCheckKind::kTcp, "GET", "/", 200, 200, ""}), "tcp");
    EXPECT_EQ(format_health_check(HealthCheckSpec{HealthCheckKind::kHttp, "GET", "/health", 200, 200, ""}),
              "http GET /health expect 200");
    EXPECT_EQ(format_health_check(HealthCheckSpec{HealthCheckKind::kHttp, "HEAD", "/", 200, 399, "a.example"}),
              "http HEAD / expect 200-399 host a.example");
}

}  // namespace
}  // namespace ringlb
