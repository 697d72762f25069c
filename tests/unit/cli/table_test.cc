// ringlbctl's human output: the Table layout, the rendering of each reply ringlbd
// sends (literal replies of the shape control_commands builds), and what
// ringlbctl prints and exits with for an answer, refused or not.
#include <gtest/gtest.h>

#include <string>

#include <nlohmann/json.hpp>

#include "cli/table.h"

namespace ringlb {
namespace {

using nlohmann::json;

TEST(Table, ColumnsAreAlignedNumbersRightTrailingSpacesCut) {
    Table t({"NAME", "COUNT", "NOTE"});
    t.numeric({1});
    t.add({"a", "5", "x"});
    t.add({"longer", "12345", ""});
    t.add({"short"});  // missing cells are empty
    EXPECT_EQ(t.render(),
              "NAME    COUNT  NOTE\n"
              "a           5  x\n"
              "longer  12345\n"
              "short\n");
    EXPECT_FALSE(t.empty());
    EXPECT_TRUE(Table({"A"}).empty());
}

TEST(Table, UptimeShowsTheTwoLargestUnits) {
    EXPECT_EQ(format_uptime(0), "0s");
    EXPECT_EQ(format_uptime(59999), "59s");
    EXPECT_EQ(format_uptime(61000), "1m 1s");
    EXPECT_EQ(format_uptime((2 * 3600 + 5 * 60 + 9) * 1000), "2h 5m");
    EXPECT_EQ(format_uptime(int64_t(3 * 86400 + 4 * 3600 + 59) * 1000), "3d 4h");
    EXPECT_EQ(format_uptime(-5), "0s");
}

TEST(Table, StatusIsAHeadlineAndKeyValueRows) {
    json reply = json::parse(R"({"ok":true,"version":"1.2.3","pid":42,"uptime_ms":3723000,"workers":2,
        "config":"/etc/ringlb/ringlb.conf","listeners":2,"listeners_bound":1,
        "vrrp":[{"name":"vip1","state":"master","priority":150,"master":""},
                {"name":"vip2","state":"backup","priority":100,"master":"192.0.2.3"}],
        "access_log":{"path":"/var/log/ringlb/access.log","lines":10,"dropped":1}})");
    EXPECT_EQ(render_response(CommandKind::kStatus, reply),
              "ringlbd 1.2.3 (pid 42), up 1h 2m\n"
              "workers     2\n"
              "config      /etc/ringlb/ringlb.conf\n"
              "listeners   2 (1 bound)\n"
              "access log  /var/log/ringlb/access.log (10 lines, 1 dropped)\n"
              "vrrp vip1   master, priority 150\n"
              "vrrp vip2   backup, priority 100, master 192.0.2.3\n");
}

TEST(Table, StatusWithoutAnAccessLogSaysOff) {
    json reply = json::parse(R"({"ok":true,"version":"1","pid":1,"uptime_ms":0,"workers":1,"config":"c",
        "listeners":0,"listeners_bound":0,"vrrp":[],"access_log":{"path":"","lines":0,"dropped":0}})");
    EXPECT_EQ(render_response(CommandKind::kStatus, reply),
              "ringlbd 1 (pid 1), up 0s\n"
              "workers     1\n"
              "config      c\n"
              "listeners   0 (0 bound)\n"
              "access log  off\n");
}

TEST(Table, ListenerListCountsBackendsAndThoseUp) {
    json reply = json::parse(R"({"ok":true,"listeners":[
        {"name":"web","bind":"127.0.0.1:8080","scheduler":"leastconn","check":"tcp","bound":true,
         "backends":[{"address":"10.0.1.11:8080","status":"up"},{"address":"10.0.1.12:8080","status":"down"}]},
        {"name":"db","bind":"127.0.0.1:5432","scheduler":"source-hash","check":"none","bound":false,
         "backends":[{"address":"10.0.2.1:5432","status":"unknown"}]}]})");
    EXPECT_EQ(render_response(CommandKind::kListenerList, reply),
              "NAME  BIND            SCHEDULER    CHECK  BACKENDS  UP  BOUND\n"
              "web   127.0.0.1:8080  leastconn    tcp           2   1  yes\n"
              "db    127.0.0.1:5432  source-hash  none          1   0  no\n");
    EXPECT_EQ(render_response(CommandKind::kListenerList, json::parse(R"({"ok":true,"listeners":[]})")),
              "no listeners\n");
}

TEST(Table, ListenerShowListsSettingsInReferenceOrderThenStatsThenBackends) {
    json reply = json::parse(R"({"ok":true,"listener":{"name":"web","bind":"127.0.0.1:8080","scheduler":"leastconn",
        "check":"tcp","bound":false,
        "settings":{"zzz_new":"x","rise":2,"check_port":null,"connect_timeout":"3s"},
        "stats":{"connections_total":7,"active":1,"connections_refused":0,"queue_timeouts":0,
                 "rejected_conn_limit":2,"rejected_rate":3,"source_untracked":4,"bytes_in":1000,"bytes_out":20},
        "backends":[{"address":"10.0.1.11:8080","weight":3,"backup":false,"state":"ready","status":"up","active":1,
                     "connections_total":7,"connect_errors":2,"last_check":"ok 1 ms"},
                    {"address":"10.0.1.12:8080","weight":1,"backup":true,"state":"drain","status":"drain",
                     "active":0,"connections_total":0,"connect_errors":0}]}})");
    EXPECT_EQ(render_response(CommandKind::kListenerShow, reply),
              "listener web\n"
              "  bind             127.0.0.1:8080 (not bound)\n"
              "  scheduler        leastconn\n"
              "  check            tcp\n"
              "  check_port       -\n"
              "  rise             2\n"
              "  connect_timeout  3s\n"
              "  zzz_new          x\n"
              "  connections      7 total, 1 active, 0 refused, 0 queue timeouts\n"
              "  rejected         2 over max_conn_per_source, 3 over rate_per_source; 4 let through untracked "
              "(source table full)\n"
              "  bytes            1000 in, 20 out\n"
              "\n"
              "BACKEND         WEIGHT  BACKUP  STATE  STATUS  ACTIVE  CONNECTIONS  ERRORS  LAST_CHECK\n"
              "10.0.1.11:8080       3  no      ready  up           1            7       2  ok 1 ms\n"
              "10.0.1.12:8080       1  yes     drain  drain        0            0       0  -\n");
}

TEST(Table, StatsIsAListenerTableAndABackendTable) {
    json reply = json::parse(R"({"ok":true,"listeners":[{"name":"web","active":1,"connections_total":100,
        "connections_refused":0,"queue_timeouts":0,"rejected_conn_limit":0,"rejected_rate":0,"bytes_in":12345,
        "bytes_out":5,"backends":[{"address":"10.0.1.11:8080","state":"ready","status":"up","active":1,
        "connections_total":100,"connect_errors":0}]}]})");
    EXPECT_EQ(render_response(CommandKind::kStats, reply),
              "LISTENER  ACTIVE  CONNECTIONS  REFUSED  QUEUE_TIMEOUTS  REJECTED_CONN  REJECTED_RATE  BYTES_IN  "
              "BYTES_OUT\n"
              "web            1          100        0               0              0              0     12345  "
              "        5\n"
              "\n"
              "LISTENER  BACKEND         STATE  STATUS  ACTIVE  CONNECTIONS  ERRORS\n"
              "web       10.0.1.11:8080  ready  up           1          100       0\n");
    EXPECT_EQ(render_response(CommandKind::kStats, json::parse(R"({"ok":true,"listeners":[]})")), "no listeners\n");
}

TEST(Table, VrrpStatusHasAColumnPerKeyAndDropsAsReasonCounts) {
    json reply = json::parse(R"({"ok":true,"instances":[
        {"name":"vip1","state":"master","priority":150,"adverts_dropped":{}},
        {"name":"vip2","state":"backup","priority":100,"adverts_dropped":{"bad_ttl":3,"bad_vrid":1},
         "master":"192.0.2.3"}]})");
    EXPECT_EQ(render_response(CommandKind::kVrrpStatus, reply),
              "ADVERTS_DROPPED       NAME  PRIORITY  STATE   MASTER\n"
              "-                     vip1  150       master  -\n"
              "bad_ttl=3 bad_vrid=1  vip2  100       backup  192.0.2.3\n");
    EXPECT_EQ(render_response(CommandKind::kVrrpStatus, json::parse(R"({"ok":true,"instances":[]})")),
              "no vrrp instances\n");
}

TEST(Table, ChangesPrintTheirMessage) {
    json reply = json::parse(R"({"ok":true,"message":"backend 10.0.1.13:8080 added to web","listener":{}})");
    EXPECT_EQ(render_response(CommandKind::kBackendAdd, reply), "backend 10.0.1.13:8080 added to web\n");
    EXPECT_EQ(render_response(CommandKind::kReload, json::parse(R"({"ok":true})")), "done\n");
}

TEST(Table, AnAcceptedAnswerIsPrintedAsATableAndExitsZero) {
    CliOutput output = present_answer(CommandKind::kReload, false, R"j({"ok":true,"message":"reloaded x: 1 listener(s)"})j");
    EXPECT_EQ(output.exit_status, kExitDone);
    EXPECT_EQ(output.out, "reloaded x: 1 listener(s)\n");
    EXPECT_EQ(output.err, "");
}

TEST(Table, ReloadListsEveryChangedSettingWithWhatWasDone) {
    json reply = json::parse(R"({"ok":true,"message":"reloaded x: 1 listener(s); 2 setting(s) changed, 1 applied, 1 need a restart",
        "needs_restart":1,"changes":[
        {"setting":"global.workers","from":"1","to":"2","result":"needs_restart","detail":"not applied: 1 worker"},
        {"setting":"vrrp.v.vip","from":"10.0.0.1/24","to":"","result":"applied","detail":"applied"}]})");
    EXPECT_EQ(render_response(CommandKind::kReload, reply),
              "reloaded x: 1 listener(s); 2 setting(s) changed, 1 applied, 1 need a restart\n"
              "SETTING         FROM         TO  RESULT         DETAIL\n"
              "global.workers  1            2   needs_restart  not applied: 1 worker\n"
              "vrrp.v.vip      10.0.0.1/24  -   applied        applied\n");
}

TEST(Table, ARefusedAnswerGoesToStderrAndExitsOne) {
    CliOutput output = present_answer(CommandKind::kListenerShow, false, R"({"ok":false,"error":"listener 'x' not found"})");
    EXPECT_EQ(output.exit_status, kExitRefused);
    EXPECT_EQ(output.out, "");
    EXPECT_EQ(output.err, "ringlbctl: listener 'x' not found\n");
    EXPECT_EQ(present_answer(CommandKind::kStatus, false, R"({"ok":false})").err, "ringlbctl: refused\n");
}

TEST(Table, JsonOutputIsTheAnswerLineAsItIsWithTheSameExitStatus) {
    const std::string accepted = R"({"ok":true,"listeners":[]})";
    CliOutput output = present_answer(CommandKind::kStats, true, accepted);
    EXPECT_EQ(output.exit_status, kExitDone);
    EXPECT_EQ(output.out, accepted + "\n");
    const std::string refused = R"({"ok":false,"error":"vrrp not configured"})";
    output = present_answer(CommandKind::kVrrpStatus, true, refused);
    EXPECT_EQ(output.exit_status, kExitRefused);
    EXPECT_EQ(output.out, refused + "\n");
    EXPECT_EQ(output.err, "");
}

TEST(Table, AnythingButARinglbdAnswerExitsTwo) {
    for (const char* line : {"", "HTTP/1.0 200 OK", "[1,2]", R"({"error":"no ok field"})", "{\"ok\":"}) {
        CliOutput output = present_answer(CommandKind::kStatus, false, line);
        EXPECT_EQ(output.exit_status, kExitUnreachable) << line;
        EXPECT_EQ(output.err, "ringlbctl: not a ringlbd answer: " + std::string(line) + "\n");
    }
    EXPECT_EQ(present_answer(CommandKind::kStatus, false, std::string(300, 'x')).err,
              "ringlbctl: not a ringlbd answer: " + std::string(200, 'x') + "\n");
}

}  // namespace
}  // namespace ringlb
