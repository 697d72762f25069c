// Unit tests for core/config/config_writer: format_config writes only what differs from
// the defaults, and what it writes parses back to an equal Config.
#include "core/config/config_writer.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "tests/unit/config/config_test_support.h"

namespace ringlb {
namespace {

using namespace config_test;

// Every key set away from its default, so the round trip exercises every writer.
constexpr std::string_view kEveryKey = R"([global]
workers = 8
control_socket = /tmp/ringlb.sock
metrics = [::1]:9650
log_level = debug
access_log = /var/log/ringlb/access.log
shutdown_grace = 90s

[listener.web]
bind = 192.0.2.100:443
scheduler = source-hash
backend = 10.0.1.11:8443 weight=3
backend = [2001:db8::12]:8443 weight=256 backup
backend = 10.0.1.13:8443 backup
check = http HEAD /ready expect 200-299 host web.example
check_port = 8081
check_interval = 500ms
check_timeout = 250ms
rise = 5
fall = 1
connect_timeout = 1500ms
idle_timeout = 1h
half_close_timeout = 10s
queue_timeout = 0
splice = never
retries = 0
max_connections = 1000
proxy_protocol = v2
hash_table_size = 655373

[listener.plain]
bind = 127.0.0.1:9000
scheduler = roundrobin
backend = 127.0.0.2:9000
check = tcp
)";

TEST(ConfigWriter, FormattedConfigParsesBackToAnEqualConfig) {
    for (std::string_view text : {kEveryKey, kDesignExampleWithoutVrrp}) expect_round_trip(text);
}

TEST(ConfigWriter, RoundTripNoticesAChangedValue) {
    // Guards the round-trip test: equality must see a difference in any field.
    auto parsed = parse(kEveryKey);
    ASSERT_TRUE(parsed.ok());
    Config changed = *parsed.config;
    changed.listeners[0].backends[1].backup = false;
    auto reparsed = parse(format_config(changed));
    ASSERT_TRUE(reparsed.ok());
    EXPECT_NE(without_positions(*reparsed.config), without_positions(*parsed.config));
    EXPECT_EQ(without_positions(*reparsed.config), without_positions(changed));
}

TEST(ConfigWriter, FormatWritesOnlyKeysThatDifferFromDefaults) {
    auto parsed = parse(kDesignExampleWithoutVrrp);
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(format_config(*parsed.config),
              "[global]\n"
              "metrics = 127.0.0.1:9650\n"
              "access_log = /var/log/ringlb/access.log\n"
              "\n"
              "[listener.web]\n"
              "bind = 192.0.2.100:80\n"
              "scheduler = leastconn\n"
              "backend = 10.0.1.11:8080 weight=3\n"
              "backend = 10.0.1.12:8080\n"
              "backend = 10.0.1.13:8080 backup\n"
              "check = http GET /health expect 200\n"
              "check_port = 8081\n");
}

TEST(ConfigWriter, FormatOfAConfigBuiltInCodeReadsBack) {
    // The control socket builds configs without parsing; they must persist too.
    Config config;
    ListenerConfig listener;
    listener.name = "db";
    listener.bind = addr("[::]:5432");
    listener.scheduler = SchedulerKind::kRoundRobin;
    listener.backends = {BackendConfig{addr("10.0.2.1:5432"), 7, false, 0},
                         BackendConfig{addr("10.0.2.2:5432"), 1, true, 0}};
    listener.idle_timeout = Millis{2 * 3600 * 1000};
    listener.check.kind = HealthCheckKind::kTcp;
    config.listeners.push_back(listener);
    config.global.workers = 3;
    auto parsed = parse(format_config(config));
    ASSERT_TRUE(parsed.ok()) << ::testing::PrintToString(error_texts(parsed));
    EXPECT_EQ(without_positions(*parsed.config), config);
}

}  // namespace
}  // namespace ringlb
