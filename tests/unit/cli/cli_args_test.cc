// ringlbctl's command line: every command becomes the request ringlbd is sent,
// global options stand anywhere, and every wrong command line fails with the
// message ringlbctl prints (and exits 1 for, kExitRefused).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cli/cli_args.h"

namespace ringlb {
namespace {

InetAddr addr(const char* text) { return *InetAddr::parse(text); }

Request parse_ok(const std::vector<std::string>& args) {
    Result<CliInvocation> parsed = parse_cli(args);
    EXPECT_TRUE(parsed.ok()) << parsed.error();
    return parsed.ok() ? parsed->request : Request{};
}

std::string error_of(const std::vector<std::string>& args) {
    Result<CliInvocation> parsed = parse_cli(args);
    EXPECT_FALSE(parsed.ok()) << format_request(parsed->request);
    return parsed.ok() ? "" : parsed.error();
}

Request expected(CommandKind kind, std::string listener = "") {
    Request request;
    request.kind = kind;
    request.listener = std::move(listener);
    return request;
}

TEST(CliArgs, CommandsWithoutArgumentsBecomeTheirRequest) {
    EXPECT_EQ(parse_ok({"status"}), expected(CommandKind::kStatus));
    EXPECT_EQ(parse_ok({"reload"}), expected(CommandKind::kReload));
    EXPECT_EQ(parse_ok({"listener", "list"}), expected(CommandKind::kListenerList));
    EXPECT_EQ(parse_ok({"vrrp", "status"}), expected(CommandKind::kVrrpStatus));
    EXPECT_EQ(parse_ok({"stats"}), expected(CommandKind::kStats));
}

TEST(CliArgs, StatsListenerShowAndRemoveTakeAListenerName) {
    EXPECT_EQ(parse_ok({"stats", "web"}), expected(CommandKind::kStats, "web"));
    EXPECT_EQ(parse_ok({"listener", "show", "web-2_b"}), expected(CommandKind::kListenerShow, "web-2_b"));
    EXPECT_EQ(parse_ok({"listener", "remove", "web"}), expected(CommandKind::kListenerRemove, "web"));
}

TEST(CliArgs, ListenerAddTakesBindSchedulerCheckAndBackendsWithTheirOptions) {
    Request want = expected(CommandKind::kListenerAdd, "api");
    want.bind = addr("192.0.2.100:80");
    want.scheduler = "roundrobin";
    want.check = "http GET /health expect 200";
    want.backends = {{addr("10.0.3.1:80"), 2, false}, {addr("[2001:db8::1]:80"), {}, true},
                     {addr("10.0.3.3:80"), 5, true}};
    EXPECT_EQ(parse_ok({"listener", "add", "api", "--bind", "192.0.2.100:80", "--scheduler", "roundrobin", "--check",
                        "http GET /health expect 200", "--backend", "10.0.3.1:80,weight=2", "--backend",
                        "[2001:db8::1]:80,backup", "--backend=10.0.3.3:80,backup,weight=5"}),
              want);
}

TEST(CliArgs, BackendAddRemoveAndSetTakeListenerAddressAndTheirFlags) {
    Request add = expected(CommandKind::kBackendAdd, "web");
    add.address = addr("10.0.1.13:8080");
    add.weight = 5;
    add.backup = true;
    EXPECT_EQ(parse_ok({"backend", "add", "web", "10.0.1.13:8080", "--weight", "5", "--backup"}), add);

    Request remove = expected(CommandKind::kBackendRemove, "web");
    remove.address = addr("10.0.1.13:8080");
    EXPECT_EQ(parse_ok({"backend", "remove", "web", "10.0.1.13:8080"}), remove);

    Request set = expected(CommandKind::kBackendSet, "web");
    set.address = addr("10.0.1.13:8080");
    set.state = BackendAdminState::kDrain;
    EXPECT_EQ(parse_ok({"backend", "set", "web", "10.0.1.13:8080", "--state=drain"}), set);
    set.weight = 7;
    set.state = BackendAdminState::kMaint;
    EXPECT_EQ(parse_ok({"backend", "set", "web", "10.0.1.13:8080", "--weight=7", "--state", "maint"}), set);

    Request drained = expected(CommandKind::kBackendAdd, "web");
    drained.address = addr("10.0.1.13:8080");
    drained.state = BackendAdminState::kDrain;
    EXPECT_EQ(parse_ok({"backend", "add", "web", "10.0.1.13:8080", "--state", "drain"}), drained);
}

TEST(CliArgs, ListenerSetTakesAllowAndDenyListsThatAddUpAndAnEmptyOneClears) {
    Request set = expected(CommandKind::kListenerSet, "web");
    set.allow = *parse_prefix_list("10.0.0.0/8, 2001:db8::/32, 192.0.2.7");
    EXPECT_EQ(parse_ok({"listener", "set", "web", "--allow", "10.0.0.0/8,2001:db8::/32", "--allow=192.0.2.7"}), set);
    Request clear = expected(CommandKind::kListenerSet, "web");
    clear.allow.emplace();
    clear.deny = *parse_prefix_list("10.1.0.0/16");
    EXPECT_EQ(parse_ok({"listener", "set", "web", "--allow", "", "--deny", "10.1.0.0/16"}), clear);
}

TEST(CliArgs, GlobalOptionsStandAnywhereInBothSpellings) {
    Result<CliInvocation> parsed =
        parse_cli({"listener", "--json", "show", "--socket=/tmp/a.sock", "web", "--timeout", "2.5"});
    ASSERT_TRUE(parsed.ok()) << parsed.error();
    EXPECT_TRUE(parsed->json);
    EXPECT_EQ(parsed->socket, "/tmp/a.sock");
    EXPECT_DOUBLE_EQ(parsed->timeout_s, 2.5);
    EXPECT_EQ(parsed->request, expected(CommandKind::kListenerShow, "web"));

    parsed = parse_cli({"-s", "/tmp/b.sock", "-j", "status", "--timeout=1"});
    ASSERT_TRUE(parsed.ok()) << parsed.error();
    EXPECT_EQ(parsed->socket, "/tmp/b.sock");
    EXPECT_TRUE(parsed->json);
    EXPECT_DOUBLE_EQ(parsed->timeout_s, 1);
}

TEST(CliArgs, DefaultsAreTheDocumentedSocketTableOutputAndThirtySeconds) {
    Result<CliInvocation> parsed = parse_cli({"status"});
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(parsed->socket, "/run/ringlb/ringlbd.sock");
    EXPECT_FALSE(parsed->json);
    EXPECT_DOUBLE_EQ(parsed->timeout_s, 30);
    EXPECT_FALSE(parsed->help);
    EXPECT_FALSE(parsed->version);
}

TEST(CliArgs, HelpAndVersionNeedNoCommandAndIgnoreABrokenOne) {
    Result<CliInvocation> help = parse_cli({"-h"});
    ASSERT_TRUE(help.ok());
    EXPECT_TRUE(help->help);
    Result<CliInvocation> version = parse_cli({"--version", "frobnicate"});
    ASSERT_TRUE(version.ok());
    EXPECT_TRUE(version->version);
    EXPECT_NE(cli_usage().find("Exit status: 0 done, 1 refused"), std::string::npos);
}

TEST(CliArgs, MissingAndUnknownWordsAreNamed) {
    EXPECT_EQ(error_of({}), "missing a command (see --help)");
    EXPECT_EQ(error_of({"frob"}), "unknown command 'frob' (see --help)");
    EXPECT_EQ(error_of({"vrrp"}), "missing 'status' after 'vrrp'");
    EXPECT_EQ(error_of({"vrrp", "foo"}), "unknown command 'vrrp foo' (expected 'vrrp status')");
    EXPECT_EQ(error_of({"listener"}), "missing list, show, add, remove or set after 'listener'");
    EXPECT_EQ(error_of({"listener", "frob"}),
              "unknown command 'listener frob' (expected list, show, add, remove or set)");
    EXPECT_EQ(error_of({"backend", "frob", "web", "10.0.0.1:80"}),
              "unknown command 'backend frob' (expected add, remove or set)");
    EXPECT_EQ(error_of({"listener", "show"}), "missing the listener's name");
    EXPECT_EQ(error_of({"listener", "show", "--bind"}), "missing the listener's name (before --bind)");
    EXPECT_EQ(error_of({"backend", "add", "web"}), "missing the backend's ADDR:PORT");
    EXPECT_EQ(error_of({"stats", "--x"}), "missing a listener (before --x)");
    EXPECT_EQ(error_of({"listener", "list", "extra"}), "unexpected 'extra'");
    EXPECT_EQ(error_of({"stats", "web", "db"}), "unexpected 'db'");
}

TEST(CliArgs, BadValuesAreQuotedWithWhatWasExpected) {
    EXPECT_EQ(error_of({"stats", "bad!name"}),
              "bad listener name 'bad!name' (letters, digits, '-' and '_', at most 64)");
    EXPECT_EQ(error_of({"backend", "add", "web", "nonsense"}),
              "bad backend address 'nonsense' (expected IPV4:PORT or [IPV6]:PORT)");
    EXPECT_EQ(error_of({"listener", "add", "web", "--bind", "nonsense", "--backend", "10.0.0.1:80"}),
              "bad --bind 'nonsense' (expected IPV4:PORT or [IPV6]:PORT)");
    EXPECT_EQ(error_of({"listener", "add", "web", "--bind", "1.2.3.4:80", "--backend", "10.0.0.1"}),
              "bad --backend address '10.0.0.1' (expected IPV4:PORT or [IPV6]:PORT)");
    EXPECT_EQ(error_of({"listener", "add", "web", "--bind", "1.2.3.4:80", "--backend", "10.0.0.1:80,weight=0"}),
              "bad weight '0' (expected a positive number)");
    EXPECT_EQ(error_of({"listener", "add", "web", "--bind", "1.2.3.4:80", "--backend", "10.0.0.1:80,foo"}),
              "bad --backend option 'foo' (expected weight=N or backup)");
    EXPECT_EQ(error_of({"backend", "set", "web", "10.0.0.1:80", "--weight=x"}),
              "bad weight 'x' (expected a positive number)");
    EXPECT_EQ(error_of({"backend", "set", "web", "10.0.0.1:80", "--state", "down"}),
              "bad --state 'down' (expected ready, drain or maint)");
    EXPECT_EQ(error_of({"status", "--timeout", "0"}), "bad --timeout '0' (expected seconds, more than 0)");
    EXPECT_EQ(error_of({"status", "--timeout=abc"}), "bad --timeout 'abc' (expected seconds, more than 0)");
    EXPECT_EQ(error_of({"status", "--timeout=86401"}), "bad --timeout '86401' (expected seconds, more than 0)");
}

TEST(CliArgs, FlagsAreCheckedPerCommand) {
    EXPECT_EQ(error_of({"listener", "add", "web"}), "listener add: --bind ADDR:PORT is required");
    EXPECT_EQ(error_of({"listener", "add", "web", "--bind", "1.2.3.4:80"}),
              "listener add: give at least one --backend ADDR:PORT");
    EXPECT_EQ(error_of({"listener", "add", "web", "--bind", "1.2.3.4:80", "--bind", "1.2.3.4:81"}),
              "--bind given twice");
    EXPECT_EQ(error_of({"listener", "add", "web", "--check", "tcp", "--check", "none"}), "--check given twice");
    EXPECT_EQ(error_of({"listener", "add", "web", "--bind", "1.2.3.4:80", "--backend", "10.0.0.1:80", "--frob", "1"}),
              "unknown option --frob for 'listener add'");
    EXPECT_EQ(error_of({"listener", "add", "web", "--bind"}), "--bind needs a value");
    EXPECT_EQ(error_of({"backend", "add", "web", "10.0.0.1:80", "--backup=yes"}), "--backup takes no value");
    EXPECT_EQ(error_of({"backend", "remove", "web", "10.0.0.1:80", "--state", "drain"}),
              "unknown option --state for 'backend remove'");
    EXPECT_EQ(error_of({"listener", "set", "web"}), "listener set: give --allow CIDR,... and/or --deny CIDR,...");
    EXPECT_EQ(error_of({"listener", "set", "web", "--weight", "2"}), "unknown option --weight for 'listener set'");
    EXPECT_EQ(error_of({"listener", "set", "web", "--allow", "10.0.0.1/8"}).rfind("bad --allow: ", 0), 0u);
    EXPECT_EQ(error_of({"backend", "remove", "web", "10.0.0.1:80", "--weight", "3"}),
              "unknown option --weight for 'backend remove'");
    EXPECT_EQ(error_of({"backend", "set", "web", "10.0.0.1:80", "--backup"}),
              "unknown option --backup for 'backend set'");
    EXPECT_EQ(error_of({"backend", "set", "web", "10.0.0.1:80"}), "backend set: give --weight N and/or --state S");
    EXPECT_EQ(error_of({"status", "--socket"}), "--socket needs a value");
    EXPECT_EQ(error_of({"status", "-s"}), "-s needs a value");
}

TEST(CliArgs, EveryParsedCommandIsARequestRinglbdAccepts) {
    const std::vector<std::vector<std::string>> commands = {
        {"status"},
        {"listener", "list"},
        {"listener", "show", "web"},
        {"listener", "add", "web", "--bind", "1.2.3.4:80", "--check", "tcp", "--backend", "10.0.0.1:80,weight=2,backup"},
        {"listener", "remove", "web"},
        {"backend", "add", "web", "10.0.0.1:80", "--weight", "3", "--backup"},
        {"backend", "add", "web", "10.0.0.1:80", "--state", "drain"},
        {"listener", "set", "web", "--allow", "10.0.0.0/8, ::1", "--deny", "10.9.0.0/16"},
        {"listener", "set", "web", "--allow", ""},
        {"backend", "remove", "web", "10.0.0.1:80"},
        {"backend", "set", "web", "10.0.0.1:80", "--state", "maint"},
        {"stats", "web"},
        {"vrrp", "status"},
        {"reload"},
    };
    for (const auto& args : commands) {
        Request request = parse_ok(args);
        std::string line = format_request(request);
        line.pop_back();
        Result<Request> received = parse_request(line);
        ASSERT_TRUE(received.ok()) << line << ": " << received.error();
        EXPECT_EQ(*received, request) << line;
    }
}

}  // namespace
}  // namespace ringlb
