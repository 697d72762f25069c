// Unit tests for core/config/listener_section: the [listener.NAME] keys, backends and health
// checks, and the checks across listeners, each error with its line.
#include "core/config/listener_section.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "tests/unit/config/config_test_support.h"

namespace ringlb {
namespace {

using namespace config_test;

TEST(ListenerSection, IPv6BindAndBackendsAreAccepted) {
    auto result = parse(lines({"[listener.v6]", "bind = [::1]:8080", "backend = [2001:db8::10]:80 weight=2",
                               "backend = 10.0.0.1:80"}));
    ASSERT_TRUE(result.ok()) << ::testing::PrintToString(error_texts(result));
    const ListenerConfig& listener = result.config->listeners.at(0);
    EXPECT_EQ(listener.bind.family(), AF_INET6);
    EXPECT_EQ(listener.bind.to_string(), "[::1]:8080");
    EXPECT_EQ(listener.backends.at(0).address.to_string(), "[2001:db8::10]:80");
    EXPECT_EQ(listener.backends.at(0).weight, 2u);
}

TEST(ListenerSection, UnknownSchedulerNamesTheListenerAndTheChoices) {
    std::string text = lines({"[global]", "workers = 4", "", "[listener.api]", "bind = 127.0.0.1:81",
                              "backend = 127.0.0.2:80", "", "[listener.web]", "bind = 127.0.0.1:80",
                              "backend = 127.0.0.3:80", "", "scheduler = fastest"});
    auto result = parse_config(text, "ringlb.conf");
    EXPECT_FALSE(result.ok());
    EXPECT_EQ(result.config, nullptr);
    EXPECT_EQ(error_texts(result),
              std::vector<std::string>{"ringlb.conf:12: listener 'web': unknown scheduler 'fastest' "
                                       "(expected leastconn, source-hash or roundrobin)"});
}

TEST(ListenerSection, EachSchedulerNameIsAccepted) {
    const std::pair<const char*, SchedulerKind> cases[] = {{"leastconn", SchedulerKind::kLeastConn},
                                                           {"source-hash", SchedulerKind::kSourceHash},
                                                           {"roundrobin", SchedulerKind::kRoundRobin}};
    for (auto [name, kind] : cases) {
        auto result = parse(lines({"[listener.a]", "bind = 127.0.0.1:1", "backend = 127.0.0.2:1"}) +
                            "scheduler = " + name + "\n");
        ASSERT_TRUE(result.ok()) << name;
        EXPECT_EQ(result.config->listeners[0].scheduler, kind);
    }
}

TEST(ListenerSection, DuplicateBindPointsAtTheSecondAndNamesTheFirst) {
    auto result = parse(lines({"[listener.a]", "bind = 127.0.0.1:80", "backend = 127.0.0.2:80", "",
                               "[listener.b]", "backend = 127.0.0.3:80", "bind = 127.0.0.1:80"}));
    EXPECT_EQ(error_texts(result),
              std::vector<std::string>{"t.conf:7: listener 'b': bind 127.0.0.1:80 is already used by "
                                       "listener 'a' at line 2"});
}

TEST(ListenerSection, SamePortOnDifferentAddressesIsNotADuplicateBind) {
    auto result = parse(lines({"[listener.a]", "bind = 127.0.0.1:80", "backend = 127.0.0.9:80",
                               "[listener.b]", "bind = 127.0.0.2:80", "backend = 127.0.0.9:80"}));
    EXPECT_TRUE(result.ok()) << ::testing::PrintToString(error_texts(result));
}

TEST(ListenerSection, ListenerWithoutBackendsIsReportedAtItsHeader) {
    auto result = parse(lines({"[global]", "", "[listener.empty]", "bind = 127.0.0.1:80", "rise = 3"}));
    EXPECT_EQ(error_texts(result),
              std::vector<std::string>{
                  "t.conf:3: listener 'empty': no backends (add 'backend = ADDR:PORT')"});
}

TEST(ListenerSection, MissingBindIsReportedAtTheHeader) {
    auto result = parse(lines({"[listener.web]", "backend = 127.0.0.2:80"}));
    EXPECT_EQ(error_texts(result), std::vector<std::string>{"t.conf:1: listener 'web': missing bind"});
}

TEST(ListenerSection, WeightOutsideOneTo256IsReported) {
    auto result = parse(lines({"[listener.web]", "bind = 127.0.0.1:80", "backend = 127.0.0.2:80 weight=0",
                               "backend = 127.0.0.3:80 weight=257", "backend = 127.0.0.4:80 weight=256",
                               "backend = 127.0.0.5:80 weight=1"}));
    EXPECT_EQ(error_texts(result),
              (std::vector<std::string>{
                  "t.conf:3: listener 'web': backend 127.0.0.2:80: bad weight '0' (expected a number 1..256)",
                  "t.conf:4: listener 'web': backend 127.0.0.3:80: bad weight '257' (expected a number "
                  "1..256)",
              }));
}

TEST(ListenerSection, BadBackendOptionsAreReported) {
    auto result = parse(lines({"[listener.web]", "bind = 127.0.0.1:80", "backend = 127.0.0.2:80 weight=x",
                               "backend = 127.0.0.3:80 weight = 3", "backend = 127.0.0.4:80 backup backup",
                               "backend = 127.0.0.5:80 weight=2 weight=3", "backend = 127.0.0.6:80 backup weight=4"}));
    EXPECT_EQ(error_texts(result),
              (std::vector<std::string>{
                  "t.conf:3: listener 'web': backend 127.0.0.2:80: bad weight 'x' (expected a number 1..256)",
                  "t.conf:4: listener 'web': backend 127.0.0.3:80: unknown option 'weight' (expected "
                  "weight=N, backup or state=ready|drain|maint)",
                  "t.conf:5: listener 'web': backend 127.0.0.4:80: backup given twice",
                  "t.conf:6: listener 'web': backend 127.0.0.5:80: weight given twice",
              }));
}

TEST(ListenerSection, DuplicateBackendWithinAListenerNamesTheFirstLine) {
    auto result = parse(lines({"[listener.web]", "bind = 127.0.0.1:80", "backend = 127.0.0.2:80",
                               "backend = 127.0.0.3:80", "backend = 127.0.0.2:80 weight=2",
                               "[listener.other]", "bind = 127.0.0.1:81", "backend = 127.0.0.2:80"}));
    EXPECT_EQ(error_texts(result),
              std::vector<std::string>{
                  "t.conf:5: listener 'web': duplicate backend 127.0.0.2:80 (first at line 3)"});
}

TEST(ListenerSection, TwentyThousandBackendsKeepTheirOrderAndEveryRepeatNamesTheFirstLine) {
    std::vector<std::string> text{"[listener.web]", "bind = 127.0.0.1:80"};
    auto address = [](int i) { return "10.0." + std::to_string(i / 256) + "." + std::to_string(i % 256) + ":80"; };
    for (int i = 0; i < 20000; ++i) text.push_back("backend = " + address(i));
    text.push_back("backend = " + address(7));       // line 20003: a repeat of line 10
    text.push_back("backend = " + address(19999));   // line 20004: a repeat of line 20002
    text.push_back("backend = " + address(7));       // line 20005: a third time
    auto result = parse(lines(text));
    EXPECT_EQ(error_texts(result),
              (std::vector<std::string>{
                  "t.conf:20003: listener 'web': duplicate backend 10.0.0.7:80 (first at line 10)",
                  "t.conf:20004: listener 'web': duplicate backend 10.0.78.31:80 (first at line 20002)",
                  "t.conf:20005: listener 'web': duplicate backend 10.0.0.7:80 (first at line 10)",
              }));
}

TEST(ListenerSection, TwentyThousandDistinctBackendsParseInFileOrder) {
    std::vector<std::string> text{"[listener.web]", "bind = 127.0.0.1:80"};
    for (int i = 0; i < 20000; ++i)
        text.push_back("backend = 10.1." + std::to_string(i / 256) + "." + std::to_string(i % 256) + ":80");
    auto result = parse(lines(text));
    ASSERT_TRUE(result.errors.empty()) << error_texts(result).front();
    const auto& backends = result.config->listeners.at(0).backends;
    ASSERT_EQ(backends.size(), 20000u);
    for (int i : {0, 1, 9999, 19999}) {
        EXPECT_EQ(backends[size_t(i)].line, i + 3);
        EXPECT_EQ(backends[size_t(i)].address.to_string(),
                  "10.1." + std::to_string(i / 256) + "." + std::to_string(i % 256) + ":80");
    }
}

TEST(ListenerSection, HealthCheckSpecsOfEveryKind) {
    struct Case {
        const char* text;
        HealthCheckSpec expected;
    };
    const Case cases[] = {
        {"none", HealthCheckSpec{}},
        {"tcp", HealthCheckSpec{HealthCheckKind::kTcp, "GET", "/", 200, 200, ""}},
        {"http GET /health expect 200", HealthCheckSpec{HealthCheckKind::kHttp, "GET", "/health", 200, 200, ""}},
        {"http   HEAD /  expect 200-399", HealthCheckSpec{HealthCheckKind::kHttp, "HEAD", "/", 200, 399, ""}},
        {"http GET /status?full=1 expect 204 host api.example.com",
         HealthCheckSpec{HealthCheckKind::kHttp, "GET", "/status?full=1", 204, 204, "api.example.com"}},
    };
    for (const Case& c : cases) {
        auto result = parse(lines({"[listener.a]", "bind = 127.0.0.1:1", "backend = 127.0.0.2:1"}) +
                            "check = " + c.text + "\n");
        ASSERT_TRUE(result.ok()) << c.text << ": " << ::testing::PrintToString(error_texts(result));
        EXPECT_EQ(result.config->listeners[0].check, c.expected) << c.text;
    }
}

TEST(ListenerSection, MalformedHealthChecksAreReported) {
    const std::pair<const char*, const char*> cases[] = {
        {"ping", "bad check 'ping' (expected none, tcp or 'http METHOD PATH expect STATUS [host NAME]')"},
        {"http GET /", "bad check 'http GET /' (expected none, tcp or 'http METHOD PATH expect STATUS [host NAME]')"},
        {"http get / expect 200", "bad check method 'get' (expected upper case, e.g. GET or HEAD)"},
        {"http GET health expect 200", "bad check path 'health' (expected it to start with '/')"},
        {"http GET / want 200", "bad check 'http GET / want 200' (expected none, tcp or 'http METHOD PATH "
                                "expect STATUS [host NAME]')"},
        {"http GET / expect 2xx", "bad check status '2xx' (expected a status 100..599 or a range such as 200-399)"},
        {"http GET / expect 399-200", "bad check status '399-200' (expected a status 100..599 or a range such "
                                      "as 200-399)"},
        {"http GET / expect 200 vhost a", "bad check 'http GET / expect 200 vhost a' (expected none, tcp or "
                                          "'http METHOD PATH expect STATUS [host NAME]')"},
        {"tcp 80", "bad check 'tcp 80' (expected none, tcp or 'http METHOD PATH expect STATUS [host NAME]')"},
    };
    for (auto [text, message] : cases) {
        auto result = parse(lines({"[listener.a]", "bind = 127.0.0.1:1", "backend = 127.0.0.2:1"}) +
                            "check = " + text + "\n");
        EXPECT_EQ(error_texts(result), std::vector<std::string>{"t.conf:4: listener 'a': " + std::string(message)});
    }
}

TEST(ListenerSection, HashTableSizeMustBeAPrimeInRange) {
    auto with_size = [](const char* size) {
        return parse(lines({"[listener.a]", "bind = 127.0.0.1:1", "backend = 127.0.0.2:1"}) +
                     "hash_table_size = " + size + "\n");
    };
    auto prime = with_size("655373");
    ASSERT_TRUE(prime.ok()) << ::testing::PrintToString(error_texts(prime));
    EXPECT_EQ(prime.config->listeners[0].hash_table_size, 655373u);
    EXPECT_TRUE(with_size("1009").ok());
    EXPECT_TRUE(with_size("10000019").ok());
    EXPECT_EQ(error_texts(with_size("65536")),
              std::vector<std::string>{
                  "t.conf:4: listener 'a': hash_table_size 65536 is not a prime (e.g. 65537 or 655373)"});
    EXPECT_EQ(error_texts(with_size("1007")),
              std::vector<std::string>{
                  "t.conf:4: listener 'a': bad hash_table_size '1007' (expected a number 1009..10000019)"});
    EXPECT_FALSE(with_size("10000079").ok());  // prime, but above the limit
}


TEST(ListenerSection, CheckAndAgentPortsAreUnsetByDefaultAndOneTo65535WhenGiven) {
    auto with = [](std::string_view keys) {
        return parse(lines({"[listener.a]", "bind = 127.0.0.1:1", "backend = 127.0.0.2:1"}) + std::string(keys));
    };
    auto unset = with("");
    ASSERT_TRUE(unset.ok());
    EXPECT_EQ(unset.config->listeners[0].check_port, std::nullopt);
    EXPECT_EQ(unset.config->listeners[0].agent_port, std::nullopt);
    auto set = with("check_port = 1\nagent_port = 65535\n");
    ASSERT_TRUE(set.ok()) << ::testing::PrintToString(error_texts(set));
    EXPECT_EQ(set.config->listeners[0].check_port, uint16_t{1});
    EXPECT_EQ(set.config->listeners[0].agent_port, uint16_t{65535});
    EXPECT_EQ(error_texts(with("check_port = 65536\nagent_port = 0\n")),
              (std::vector<std::string>{
                  "t.conf:4: listener 'a': bad check_port '65536' (expected a number 1..65535)",
                  "t.conf:5: listener 'a': bad agent_port '0' (expected a number 1..65535)",
              }));
}

}  // namespace
}  // namespace ringlb
