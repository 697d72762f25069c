// Unit tests for core/config/config_parse: ringlb.conf → Config through every stage
// (reader, section kinds, section parsers), every error with its line and in line
// order, and load_config_file.
#include "core/config/config_parse.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "tests/unit/config/config_test_support.h"

namespace ringlb {
namespace {

using namespace config_test;

TEST(ConfigParse, DesignExampleParsesToTheDocumentedValues) {
    auto result = parse_config(kDesignExampleWithoutVrrp, "ringlb.conf");
    ASSERT_TRUE(result.ok()) << ::testing::PrintToString(error_texts(result));
    const Config& config = *result.config;
    EXPECT_EQ(config.source_file, "ringlb.conf");

    EXPECT_EQ(config.global.workers, 0);
    EXPECT_EQ(config.global.control_socket, "/run/ringlb/ringlbd.sock");
    ASSERT_TRUE(config.global.metrics);
    EXPECT_EQ(*config.global.metrics, addr("127.0.0.1:9650"));
    EXPECT_EQ(config.global.log_level, "info");
    EXPECT_EQ(config.global.access_log, "/var/log/ringlb/access.log");
    EXPECT_EQ(config.global.shutdown_grace, Millis{30000});

    ASSERT_EQ(config.listeners.size(), 1u);
    const ListenerConfig& web = config.listeners[0];
    EXPECT_EQ(web.name, "web");
    EXPECT_EQ(web.line, 8);
    EXPECT_EQ(web.bind, addr("192.0.2.100:80"));
    EXPECT_EQ(web.scheduler, SchedulerKind::kLeastConn);
    ASSERT_EQ(web.backends.size(), 3u);
    EXPECT_EQ(web.backends[0], (BackendConfig{addr("10.0.1.11:8080"), 3, false, 11}));
    EXPECT_EQ(web.backends[1], (BackendConfig{addr("10.0.1.12:8080"), 1, false, 12}));
    EXPECT_EQ(web.backends[2], (BackendConfig{addr("10.0.1.13:8080"), 1, true, 13}));
    EXPECT_EQ(web.check, (HealthCheckSpec{HealthCheckKind::kHttp, "GET", "/health", 200, 200, ""}));
    EXPECT_EQ(web.check_port, uint16_t{8081});
    EXPECT_EQ(web.check_interval, Millis{2000});
    EXPECT_EQ(web.check_timeout, Millis{1000});
    EXPECT_EQ(web.rise, 2);
    EXPECT_EQ(web.fall, 3);
    EXPECT_EQ(web.connect_timeout, Millis{3000});
    EXPECT_EQ(web.idle_timeout, Millis{15 * 60 * 1000});
    EXPECT_EQ(web.half_close_timeout, Millis{30000});
    EXPECT_EQ(web.queue_timeout, Millis{5000});
    EXPECT_EQ(web.splice, SpliceMode::kAuto);
    EXPECT_EQ(web.retries, 2);
    EXPECT_EQ(web.max_connections, 0u);
    EXPECT_EQ(web.proxy_protocol, ProxyProtocol::kOff);
    EXPECT_EQ(web.hash_table_size, 65537u);
    EXPECT_EQ(config.find_listener("web"), &web);
}

TEST(ConfigParse, OmittedKeysTakeTheDefaultsOfTheModel) {
    auto result = parse(lines({"[listener.a]", "bind = 127.0.0.1:1000", "backend = 127.0.0.2:80"}));
    ASSERT_TRUE(result.ok()) << ::testing::PrintToString(error_texts(result));
    ListenerConfig expected;
    expected.name = "a";
    expected.line = 1;
    expected.bind = addr("127.0.0.1:1000");
    expected.backends = {BackendConfig{addr("127.0.0.2:80"), 1, false, 3}};
    EXPECT_EQ(result.config->global, GlobalConfig{});
    ASSERT_EQ(result.config->listeners.size(), 1u);
    EXPECT_EQ(result.config->listeners[0], expected);
}

TEST(ConfigParse, AnEmptyFileIsAValidConfigWithoutListeners) {
    auto result = parse("# nothing yet\n\n");
    ASSERT_TRUE(result.ok());
    EXPECT_TRUE(result.config->listeners.empty());
}

TEST(ConfigParse, InlineCommentsAndCarriageReturnsAreStripped) {
    auto result = parse("[global]  # the daemon\r\n"
                        "access_log = /var/log/a.log# no space before the comment\r\n"
                        "   # an indented comment line\r\n"
                        "[listener.web]\r\n"
                        "bind = 127.0.0.1:80 # the VIP\r\n"
                        "backend = 127.0.0.2:80 backup   # spare\r\n"
                        "backend = 127.0.0.3:80");  // no final newline
    ASSERT_TRUE(result.ok()) << ::testing::PrintToString(error_texts(result));
    EXPECT_EQ(result.config->global.access_log, "/var/log/a.log");
    const ListenerConfig& web = result.config->listeners.at(0);
    EXPECT_EQ(web.bind, addr("127.0.0.1:80"));
    ASSERT_EQ(web.backends.size(), 2u);
    EXPECT_TRUE(web.backends[0].backup);
    EXPECT_EQ(web.backends[1].line, 7);
}

TEST(ConfigParse, SectionsKeepFileOrderAndSpacesInsideBracketsAreIgnored) {
    auto result = parse(lines({"[listener.b]", "bind = 127.0.0.1:2", "backend = 127.0.0.9:1",
                               "[ listener.a ]", "bind = 127.0.0.1:1", "backend = 127.0.0.9:1"}));
    ASSERT_TRUE(result.ok()) << ::testing::PrintToString(error_texts(result));
    ASSERT_EQ(result.config->listeners.size(), 2u);
    EXPECT_EQ(result.config->listeners[0].name, "b");
    EXPECT_EQ(result.config->listeners[1].name, "a");
    EXPECT_EQ(result.config->listeners[1].line, 4);
}

TEST(ConfigParse, UnknownSectionIsReportedAtItsHeaderAndItsKeysAreSkipped) {
    auto result = parse(lines({"[global]", "workers = 2", "[backend.b1]", "interface = eth0", "vrid = 51",
                               "[listener.web]", "bind = 127.0.0.1:80", "backend = 127.0.0.2:80"}));
    EXPECT_EQ(error_texts(result),
              std::vector<std::string>{
                  "t.conf:3: unknown section [backend.b1] (expected [global], [listener.NAME] or [vrrp.NAME])"});
}

TEST(ConfigParse, MalformedSectionHeadersAreReported) {
    auto result = parse(lines({"[listener]", "bind = 127.0.0.1:1", "[global.main]", "[listener.we b]",
                               "[listener.a.b]", "[Global]"}));
    EXPECT_EQ(error_texts(result),
              (std::vector<std::string>{
                  "t.conf:1: section [listener] needs a name: [listener.NAME]",
                  "t.conf:3: section [global] takes no name, found [global.main]",
                  "t.conf:4: bad listener name 'we b' (letters, digits, '-' and '_' only)",
                  "t.conf:5: bad listener name 'a.b' (letters, digits, '-' and '_' only)",
                  "t.conf:6: unknown section [Global] (expected [global], [listener.NAME] or [vrrp.NAME])",
              }));
}

TEST(ConfigParse, UnknownKeyIsReportedInTheSectionItIsIn) {
    auto result = parse(lines({"[global]", "worker = 2", "[listener.web]", "bind = 127.0.0.1:80",
                               "backend = 127.0.0.2:80", "bnid = 127.0.0.1:81"}));
    EXPECT_EQ(error_texts(result), (std::vector<std::string>{"t.conf:2: global: unknown key 'worker'",
                                                             "t.conf:6: listener 'web': unknown key 'bnid'"}));
}

TEST(ConfigParse, BadAddressesAndPortsAreReportedWithTheirLines) {
    auto result = parse(lines({"[global]", "metrics = localhost:9650", "[listener.web]",
                               "bind = 127.0.0.1:65536", "backend = 10.0.0.300:80", "backend = 10.0.0.1",
                               "check_port = 0"}));
    EXPECT_EQ(error_texts(result),
              (std::vector<std::string>{
                  "t.conf:2: global: bad address 'localhost:9650' for metrics (expected IPV4:PORT or "
                  "[IPV6]:PORT, port 1..65535)",
                  "t.conf:4: listener 'web': bad address '127.0.0.1:65536' for bind (expected IPV4:PORT or "
                  "[IPV6]:PORT, port 1..65535)",
                  "t.conf:5: listener 'web': bad address '10.0.0.300:80' for backend (expected IPV4:PORT or "
                  "[IPV6]:PORT, port 1..65535)",
                  "t.conf:6: listener 'web': bad address '10.0.0.1' for backend (expected IPV4:PORT or "
                  "[IPV6]:PORT, port 1..65535)",
                  "t.conf:7: listener 'web': bad check_port '0' (expected a number 1..65535)",
              }));
}

TEST(ConfigParse, BadDurationsAreReported) {
    auto result = parse(lines({"[global]", "shutdown_grace = 30", "[listener.web]", "bind = 127.0.0.1:80",
                               "backend = 127.0.0.2:80", "connect_timeout = 1.5s", "idle_timeout = 0",
                               "queue_timeout = 0"}));
    EXPECT_EQ(error_texts(result),
              (std::vector<std::string>{
                  "t.conf:2: global: bad duration '30' for shutdown_grace (expected a whole number with ms, "
                  "s, m or h, e.g. 500ms, 3s, 15m, 1h)",
                  "t.conf:6: listener 'web': bad duration '1.5s' for connect_timeout (expected a whole "
                  "number with ms, s, m or h, e.g. 500ms, 3s, 15m, 1h)",
                  "t.conf:7: listener 'web': idle_timeout must be greater than 0",
              }));
}

TEST(ConfigParse, BadNumbersAreReportedWithTheirRange) {
    auto result = parse(lines({"[global]", "workers = 0", "[listener.web]", "bind = 127.0.0.1:80",
                               "backend = 127.0.0.2:80", "retries = 17", "rise = 0", "fall = three",
                               "max_connections = -1", "max_connections2 = 1"}));
    EXPECT_EQ(error_texts(result),
              (std::vector<std::string>{
                  "t.conf:2: global: bad workers '0' (expected auto or a number 1..256)",
                  "t.conf:6: listener 'web': bad retries '17' (expected a number 0..16)",
                  "t.conf:7: listener 'web': bad rise '0' (expected a number 1..100)",
                  "t.conf:8: listener 'web': bad fall 'three' (expected a number 1..100)",
                  "t.conf:9: listener 'web': bad max_connections '-1' (expected a number 0..4294967295)",
                  "t.conf:10: listener 'web': unknown key 'max_connections2'",
              }));
}

TEST(ConfigParse, EnumeratedValuesListTheirChoices) {
    auto result = parse(lines({"[global]", "log_level = verbose", "[listener.web]", "bind = 127.0.0.1:80",
                               "backend = 127.0.0.2:80", "splice = sometimes", "proxy_protocol = v3"}));
    EXPECT_EQ(error_texts(result),
              (std::vector<std::string>{
                  "t.conf:2: global: unknown log_level 'verbose' (expected trace, debug, info, warn, error, "
                  "critical or off)",
                  "t.conf:6: listener 'web': unknown splice 'sometimes' (expected auto, always or never)",
                  "t.conf:7: listener 'web': unknown proxy_protocol 'v3' (expected off, v1 or v2)",
              }));
}

TEST(ConfigParse, RepeatedSingleValuedKeyNamesBothLines) {
    auto result = parse(lines({"[global]", "workers = 2", "workers = 3", "[listener.web]",
                               "bind = 127.0.0.1:80", "scheduler = leastconn", "backend = 127.0.0.2:80",
                               "scheduler = roundrobin"}));
    EXPECT_EQ(error_texts(result),
              (std::vector<std::string>{"t.conf:3: global: workers given twice (lines 2 and 3)",
                                        "t.conf:8: listener 'web': scheduler given twice (lines 6 and 8)"}));
}

TEST(ConfigParse, DuplicateSectionsAreReportedAtTheSecondHeader) {
    auto result = parse(lines({"[global]", "[listener.web]", "bind = 127.0.0.1:80", "backend = 127.0.0.2:80",
                               "[global]", "workers = x", "[listener.web]", "bind = 127.0.0.1:81",
                               "backend = 127.0.0.2:80"}));
    EXPECT_EQ(error_texts(result),
              (std::vector<std::string>{
                  "t.conf:5: duplicate section [global] (first at line 1)",
                  "t.conf:6: global: bad workers 'x' (expected auto or a number 1..256)",
                  "t.conf:7: duplicate listener 'web' (first at line 2)",
              }));
}

TEST(ConfigParse, SyntaxErrorsAreAllReportedAndStopBeforeKeysAreChecked) {
    auto result = parse(lines({"workers = 2", "[global]", "workers", "[]", "[listener.web]",
                               "bind = 127.0.0.1:80", "= 5", "; old = comment", "[listener.x", "nonsense = 1"}));
    // "nonsense" would be an unknown key, but keys are not looked at while the
    // file does not even tokenize.
    EXPECT_EQ(error_texts(result),
              (std::vector<std::string>{
                  "t.conf:1: key 'workers' comes before any section (expected [global], [listener.NAME] or "
                  "[vrrp.NAME] first)",
                  "t.conf:3: expected '[section]' or 'key = value', found 'workers'",
                  "t.conf:4: empty section name '[]'",
                  "t.conf:7: missing key before '='",
                  "t.conf:8: ';' does not start a comment; use '#'",
                  "t.conf:9: expected '[section]' or 'key = value', found '[listener.x'",
              }));
}

TEST(ConfigParse, EveryErrorIsReportedInLineOrder) {
    auto result = parse(lines({
        "[global]",                          // 1
        "workers = many",                    // 2
        "[listener.web]",                    // 3  (no backends)
        "bind = 127.0.0.1:80",               // 4
        "scheduler = fastest",               // 5
        "connect_timeout = 3",               // 6
        "[listener.api]",                    // 7
        "bind = 127.0.0.1:80",               // 8  duplicate bind
        "backend = 127.0.0.2:80 weight=999", // 9  (counts as a backend: no "no backends" noise)
        "colour = blue",                     // 10
        "[backend.b1]",                      // 11
    }));
    EXPECT_EQ(error_texts(result),
              (std::vector<std::string>{
                  "t.conf:2: global: bad workers 'many' (expected auto or a number 1..256)",
                  "t.conf:3: listener 'web': no backends (add 'backend = ADDR:PORT')",
                  "t.conf:5: listener 'web': unknown scheduler 'fastest' (expected leastconn, source-hash or "
                  "roundrobin)",
                  "t.conf:6: listener 'web': bad duration '3' for connect_timeout (expected a whole number "
                  "with ms, s, m or h, e.g. 500ms, 3s, 15m, 1h)",
                  "t.conf:8: listener 'api': bind 127.0.0.1:80 is already used by listener 'web' at line 4",
                  "t.conf:9: listener 'api': backend 127.0.0.2:80: bad weight '999' (expected a number 1..256)",
                  "t.conf:10: listener 'api': unknown key 'colour'",
                  "t.conf:11: unknown section [backend.b1] (expected [global], [listener.NAME] or [vrrp.NAME])",
              }));
    EXPECT_EQ(result.config, nullptr);
}

TEST(ConfigParse, LoadReportsAnUnreadableFileAsOneErrorAtLineZero) {
    std::string path = ::testing::TempDir() + "ringlb-config-test-does-not-exist.conf";
    std::remove(path.c_str());
    auto result = load_config_file(path);
    EXPECT_EQ(error_texts(result), std::vector<std::string>{path + ":0: cannot read: No such file or directory"});
    EXPECT_EQ(result.config, nullptr);
}

TEST(ConfigParse, LoadReadsTheFileAndNamesItInErrorsAndTheConfig) {
    std::string path = ::testing::TempDir() + "ringlb-config-test.conf";
    {
        std::ofstream out(path);
        out << "[listener.web]\nbind = 127.0.0.1:80\nbackend = 127.0.0.2:80\n";
    }
    auto good = load_config_file(path);
    ASSERT_TRUE(good.ok()) << ::testing::PrintToString(error_texts(good));
    EXPECT_EQ(good.config->source_file, path);
    {
        std::ofstream out(path);
        out << "[listener.web]\nbind = 127.0.0.1:80\n";
    }
    EXPECT_EQ(error_texts(load_config_file(path)),
              std::vector<std::string>{path + ":1: listener 'web': no backends (add 'backend = ADDR:PORT')"});
    std::remove(path.c_str());
}

TEST(ConfigParse, ReadingADirectoryIsACannotReadError) {
    auto result = load_config_file(::testing::TempDir());
    ASSERT_EQ(result.errors.size(), 1u);
    EXPECT_EQ(result.errors[0].line, 0);
    EXPECT_NE(result.errors[0].message.find("cannot read: "), std::string::npos) << result.errors[0].message;
}

}  // namespace
}  // namespace ringlb
