// Control commands over a real ConfigStore (files in a temporary directory)
// and a fake daemon: what each command answers, what it writes, and that a
// refused or failed change leaves both the file and the running config alone.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "core/config/config_parse.h"
#include "core/config/config_store.h"
#include "core/control/control_commands.h"

namespace ringlb {
namespace {

using nlohmann::json;

const char* kConfig = R"(# operator's comment
[global]
workers = 2
control_socket = /tmp/x.sock

[listener.web]
bind = 127.0.0.1:8080
backend = 10.0.1.11:8080 weight=3
backend = 10.0.1.12:8080

[listener.db]
bind = 127.0.0.1:5432
scheduler = source-hash
backend = 10.0.2.1:5432
)";

std::string read_text(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream out;
    out << in.rdbuf();
    return out.str();
}

void write_text(const std::string& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
}

// A runtime snapshot for `config` with no sockets: what the commands read.
std::shared_ptr<const RuntimeSnapshot> fake_snapshot(const std::shared_ptr<const Config>& config,
                                                     const RuntimeSnapshot* previous) {
    auto snapshot = std::make_shared<RuntimeSnapshot>();
    snapshot->config = config;
    for (const ListenerConfig& lc : config->listeners) {
        auto runtime = std::make_shared<ListenerRuntime>();
        runtime->config = lc;
        const ListenerEntry* old = previous ? previous->find(lc.name) : nullptr;
        runtime->stats = old ? old->runtime->stats : std::make_shared<ListenerStats>(2);
        for (const BackendConfig& bc : lc.backends) {
            std::shared_ptr<BackendState> state;
            if (old)
                for (const BackendRef& ref : old->runtime->backends)
                    if (ref.config.address == bc.address) state = ref.state;
            runtime->backends.push_back({bc, state ? state : std::make_shared<BackendState>(bc.address)});
        }
        snapshot->listeners.push_back({runtime, std::make_shared<ListenerSockets>()});
    }
    return snapshot;
}

class ControlCommands : public ::testing::Test {
protected:
    void SetUp() override {
        // Changes are logged as an audit trail; not needed in test output.
        log_level_ = spdlog::get_level();
        spdlog::set_level(spdlog::level::off);
        char pattern[] = "/tmp/ringlb-ctl-test-XXXXXX";
        ASSERT_NE(mkdtemp(pattern), nullptr);
        dir_ = pattern;
        path_ = dir_ + "/ringlb.conf";
        write_text(path_, kConfig);
        store_ = std::make_unique<ConfigStore>(path_);
        ConfigParseResult loaded = store_->load();
        ASSERT_TRUE(loaded.ok());
        running_ = loaded.config;
        snapshot_ = fake_snapshot(running_, nullptr);
        context_.config = [this] { return running_; };
        context_.snapshot = [this] { return snapshot_; };
        context_.status = [] { return json{{"version", "test"}}; };
        context_.update = [this](const ConfigStore::Change& change) { return store_->update(change, apply()); };
        context_.reload = [this]() -> Result<json> {
            if (Result<void> reloaded = store_->reload(apply()); !reloaded) return fail(reloaded.error());
            return reload_reply_;
        };
        context_.vrrp_status = [] { return json::array(); };
    }
    void TearDown() override {
        std::filesystem::remove_all(dir_);
        spdlog::set_level(log_level_);
    }

    json reload_reply_ = json{{"changes", json::array()}, {"needs_restart", 0}};

    ConfigStore::Apply apply() {
        return [this](std::shared_ptr<const Config> next) -> Result<void> {
            ++applied_;
            if (!apply_error_.empty()) return fail(apply_error_);
            running_ = next;
            snapshot_ = fake_snapshot(next, snapshot_.get());
            return {};
        };
    }

    json call(const std::string& line) {
        std::string response = handle_control_line(line, context_);
        EXPECT_TRUE(response.ends_with("\n"));
        EXPECT_EQ(response.find('\n'), response.size() - 1);
        return json::parse(response);
    }

    std::shared_ptr<const Config> file_config() {
        ConfigParseResult parsed = load_config_file(path_);
        EXPECT_TRUE(parsed.ok()) << read_text(path_);
        return parsed.config;
    }

    std::string dir_, path_;
    std::unique_ptr<ConfigStore> store_;
    std::shared_ptr<const Config> running_;
    std::shared_ptr<const RuntimeSnapshot> snapshot_;
    ControlContext context_;
    std::string apply_error_;
    int applied_ = 0;
    spdlog::level::level_enum log_level_ = spdlog::level::info;
};

TEST_F(ControlCommands, ListenerListShowsEveryListenerWithItsBackends) {
    json r = call(R"({"command":"listener list"})");
    ASSERT_TRUE(r["ok"]) << r;
    ASSERT_EQ(r["listeners"].size(), 2u);
    EXPECT_EQ(r["listeners"][0]["name"], "web");
    EXPECT_EQ(r["listeners"][0]["bind"], "127.0.0.1:8080");
    EXPECT_EQ(r["listeners"][0]["scheduler"], "leastconn");
    EXPECT_EQ(r["listeners"][0]["check"], "none");
    EXPECT_EQ(r["listeners"][0]["bound"], true);
    EXPECT_EQ(r["listeners"][0]["backends"][0],
              (json{{"address", "10.0.1.11:8080"}, {"weight", 3}, {"backup", false}, {"state", "ready"},
                    {"status", "up"}}));
    EXPECT_EQ(r["listeners"][1]["scheduler"], "source-hash");
}

TEST_F(ControlCommands, ListenerShowOfAnUnknownListenerSaysSo) {
    json r = call(R"({"command":"listener show","listener":"nope"})");
    EXPECT_EQ(r, (json{{"ok", false}, {"error", "listener 'nope' not found"}}));
}

TEST_F(ControlCommands, ListenerShowHasSettingsAndCounters) {
    auto& stats = snapshot_->find("web")->runtime->stats->worker(1);
    bump(stats.connections_total, 7);
    bump(stats.bytes_in, 1000);
    snapshot_->find("web")->runtime->backends[0].state->connect_errors.store(2);
    json r = call(R"({"command":"listener show","listener":"web"})");
    ASSERT_TRUE(r["ok"]) << r;
    EXPECT_EQ(r["listener"]["settings"]["connect_timeout"], "3s");
    EXPECT_EQ(r["listener"]["settings"]["idle_timeout"], "15m");
    EXPECT_EQ(r["listener"]["stats"]["connections_total"], 7);
    EXPECT_EQ(r["listener"]["stats"]["bytes_in"], 1000);
    EXPECT_EQ(r["listener"]["backends"][0]["connect_errors"], 2);
}

TEST_F(ControlCommands, StatsSumsTheWorkersCounters) {
    auto runtime = snapshot_->find("db")->runtime;
    bump(runtime->stats->worker(0).connections_total, 40);
    bump(runtime->stats->worker(1).connections_total, 60);
    bump(runtime->stats->worker(0).bytes_out, 5);
    runtime->backends[0].state->active.store(3);
    json r = call(R"({"command":"stats","listener":"db"})");
    ASSERT_TRUE(r["ok"]) << r;
    ASSERT_EQ(r["listeners"].size(), 1u);
    EXPECT_EQ(r["listeners"][0]["connections_total"], 100);
    EXPECT_EQ(r["listeners"][0]["bytes_out"], 5);
    EXPECT_EQ(r["listeners"][0]["backends"][0]["active"], 3);
    EXPECT_EQ(call(R"({"command":"stats"})")["listeners"].size(), 2u);
    EXPECT_EQ(call(R"({"command":"stats","listener":"x"})")["error"], "listener 'x' not found");
}

TEST_F(ControlCommands, BackendAddIsAppliedAndWrittenToTheFile) {
    json r = call(R"({"command":"backend add","listener":"web","address":"10.0.1.13:8080","weight":5,"backup":true})");
    ASSERT_TRUE(r["ok"]) << r;
    EXPECT_EQ(r["message"], "backend 10.0.1.13:8080 added to web");
    EXPECT_EQ(r["listener"]["backends"].size(), 3u);
    EXPECT_EQ(applied_, 1);
    auto file = file_config();  // keeps the parsed config alive while web points into it
    const ListenerConfig* web = file->find_listener("web");
    ASSERT_EQ(web->backends.size(), 3u);
    EXPECT_EQ(web->backends[2].address.to_string(), "10.0.1.13:8080");
    EXPECT_EQ(web->backends[2].weight, 5u);
    EXPECT_TRUE(web->backends[2].backup);
    EXPECT_EQ(running_->find_listener("web")->backends.size(), 3u);
    // The previous file, comments and all, is the .bak.
    EXPECT_EQ(read_text(path_ + ".bak"), kConfig);
    EXPECT_FALSE(std::filesystem::exists(path_ + ".tmp"));
    EXPECT_NE(read_text(path_).find("# ringlb configuration"), std::string::npos);
}

TEST_F(ControlCommands, ChangesKeepTheRestOfTheConfigurationIntact) {
    Config before = *file_config();
    ASSERT_TRUE(call(R"({"command":"backend set","listener":"db","address":"10.0.2.1:5432","weight":9})")["ok"]);
    Config after = *file_config();
    after.listeners[1].backends[0].weight = 1;
    // Only line numbers may differ.
    auto strip_lines = [](Config& c) {
        for (auto& l : c.listeners) {
            l.line = 0;
            for (auto& b : l.backends) b.line = 0;
        }
    };
    strip_lines(before);
    strip_lines(after);
    EXPECT_EQ(before.global, after.global);
    EXPECT_EQ(before.listeners, after.listeners);
}

TEST_F(ControlCommands, UnknownBackendAndUnknownListenerErrorsNameThem) {
    EXPECT_EQ(call(R"({"command":"backend remove","listener":"web","address":"10.0.1.99:80"})")["error"],
              "10.0.1.99:80 is not a backend of web");
    EXPECT_EQ(call(R"({"command":"backend set","listener":"web","address":"10.0.1.99:80","state":"drain"})")["error"],
              "10.0.1.99:80 is not a backend of web");
    EXPECT_EQ(call(R"({"command":"backend add","listener":"api","address":"10.0.1.99:80"})")["error"],
              "listener 'api' not found");
    EXPECT_EQ(call(R"({"command":"listener remove","listener":"api"})")["error"], "listener 'api' not found");
    EXPECT_EQ(call(R"({"command":"backend add","listener":"web","address":"10.0.1.11:8080"})")["error"],
              "10.0.1.11:8080 is already a backend of web");
    EXPECT_EQ(applied_, 0);
    EXPECT_EQ(read_text(path_), kConfig);
}

TEST_F(ControlCommands, TheLastBackendCannotBeRemoved) {
    json r = call(R"({"command":"backend remove","listener":"db","address":"10.0.2.1:5432"})");
    EXPECT_EQ(r["error"], "cannot remove 10.0.2.1:5432: it is the last backend of db (remove the listener instead)");
}

TEST_F(ControlCommands, BackendSetDrainIsStoredAsStateInTheBackendLine) {
    json r = call(R"({"command":"backend set","listener":"web","address":"10.0.1.12:8080","state":"drain"})");
    ASSERT_TRUE(r["ok"]) << r;
    EXPECT_EQ(r["message"], "backend 10.0.1.12:8080 of web: state drain");
    EXPECT_NE(read_text(path_).find("backend = 10.0.1.12:8080 state=drain\n"), std::string::npos) << read_text(path_);
    EXPECT_EQ(file_config()->find_listener("web")->backends[1].state, BackendAdminState::kDrain);
    EXPECT_EQ(running_->find_listener("web")->backends[1].state, BackendAdminState::kDrain);
    ASSERT_TRUE(call(R"({"command":"backend set","listener":"web","address":"10.0.1.12:8080","state":"ready"})")["ok"]);
    EXPECT_NE(read_text(path_).find("backend = 10.0.1.12:8080\n"), std::string::npos);
}

TEST_F(ControlCommands, AWeightTheParserRefusesIsRefusedWithItsMessage) {
    json r = call(R"({"command":"backend set","listener":"web","address":"10.0.1.12:8080","weight":300})");
    EXPECT_EQ(r["error"], "listener 'web': backend 10.0.1.12:8080: bad weight '300' (expected a number 1..256)");
    EXPECT_EQ(applied_, 0);
}

TEST_F(ControlCommands, ListenerAddParsesSchedulerAndCheckLikeTheFile) {
    json r = call(R"({"command":"listener add","listener":"api","bind":"127.0.0.1:9000","scheduler":"roundrobin",)"
                  R"("check":"http GET /health expect 200","backends":[{"address":"10.0.3.1:80","weight":2},)"
                  R"({"address":"10.0.3.2:80","backup":true}]})");
    ASSERT_TRUE(r["ok"]) << r;
    auto file = file_config();
    const ListenerConfig* api = file->find_listener("api");
    ASSERT_NE(api, nullptr);
    EXPECT_EQ(api->scheduler, SchedulerKind::kRoundRobin);
    EXPECT_EQ(api->check.kind, HealthCheckKind::kHttp);
    EXPECT_EQ(api->check.http_path, "/health");
    ASSERT_EQ(api->backends.size(), 2u);
    EXPECT_TRUE(api->backends[1].backup);
    EXPECT_EQ(r["listener"]["check"], "http GET /health expect 200");

    EXPECT_EQ(call(R"({"command":"listener add","listener":"x","bind":"127.0.0.1:9001","scheduler":"random",)"
                   R"("backends":[{"address":"10.0.3.1:80"}]})")["error"],
              "listener 'x': unknown scheduler 'random' (expected leastconn, source-hash or roundrobin)");
    EXPECT_EQ(call(R"({"command":"listener add","listener":"x","bind":"127.0.0.1:9001","check":"ping",)"
                   R"("backends":[{"address":"10.0.3.1:80"}]})")["error"],
              "listener 'x': bad check 'ping' (expected none, tcp or 'http METHOD PATH expect STATUS [host NAME]')");
    EXPECT_EQ(call(R"({"command":"listener add","listener":"web","bind":"127.0.0.1:9001",)"
                   R"("backends":[{"address":"10.0.3.1:80"}]})")["error"],
              "listener 'web' already exists");
    EXPECT_EQ(call(R"({"command":"listener add","listener":"x","bind":"127.0.0.1:8080",)"
                   R"("backends":[{"address":"10.0.3.1:80"}]})")["error"],
              "bind 127.0.0.1:8080 is already used by listener 'web'");
    EXPECT_EQ(call(R"({"command":"listener add","listener":"x","bind":"127.0.0.1:9001",)"
                   R"("backends":[{"address":"10.0.3.1:80"},{"address":"10.0.3.1:80","weight":2}]})")["error"],
              "backend 10.0.3.1:80 given twice");
}

TEST_F(ControlCommands, ListenerRemoveTakesItOutOfFileAndRunningConfig) {
    ASSERT_TRUE(call(R"({"command":"listener remove","listener":"db"})")["ok"]);
    EXPECT_EQ(file_config()->listeners.size(), 1u);
    EXPECT_EQ(running_->find_listener("db"), nullptr);
}

TEST_F(ControlCommands, AFileEditedOnDiskIsNotOverwritten) {
    std::string edited = std::string(kConfig) + "# edited by hand\n";
    write_text(path_, edited);
    json r = call(R"({"command":"backend add","listener":"web","address":"10.0.1.13:8080"})");
    EXPECT_EQ(r["error"], path_ + " changed on disk since it was loaded; run 'ringlbctl reload'");
    EXPECT_EQ(read_text(path_), edited);
    EXPECT_EQ(applied_, 0);
    // After a reload the edit is the new reference and changes go through again.
    ASSERT_TRUE(call(R"({"command":"reload"})")["ok"]);
    ASSERT_TRUE(call(R"({"command":"backend add","listener":"web","address":"10.0.1.13:8080"})")["ok"]);
    EXPECT_EQ(read_text(path_ + ".bak"), edited);
}

TEST_F(ControlCommands, AFailedApplyLeavesTheFileAndTheRunningConfigAsTheyWere) {
    apply_error_ = "listener api: bind 127.0.0.1:9000: Address already in use";
    auto before = running_;
    json r = call(R"({"command":"listener add","listener":"api","bind":"127.0.0.1:9000","backends":[{"address":"10.0.3.1:80"}]})");
    EXPECT_EQ(r, (json{{"ok", false}, {"error", apply_error_}}));
    EXPECT_EQ(read_text(path_), kConfig);
    for (const auto& entry : std::filesystem::directory_iterator(dir_))
        EXPECT_FALSE(entry.path().filename().string().starts_with("ringlb.conf.tmp")) << entry.path();
    EXPECT_EQ(running_, before);
    // And the store still considers the file unchanged: the next change works.
    apply_error_.clear();
    ASSERT_TRUE(call(R"({"command":"backend add","listener":"web","address":"10.0.1.13:8080"})")["ok"]);
}

TEST_F(ControlCommands, ATempFileThatCannotBeWrittenRefusesTheChangeBeforeApplying) {
    // A file size limit below the config's: write() fails even for root.
    rlimit before{};
    ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &before), 0);
    auto old_handler = signal(SIGXFSZ, SIG_IGN);
    rlimit tiny = before;
    tiny.rlim_cur = 16;
    ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &tiny), 0);
    json r = call(R"({"command":"backend add","listener":"web","address":"10.0.1.13:8080"})");
    setrlimit(RLIMIT_FSIZE, &before);
    signal(SIGXFSZ, old_handler);
    const std::string error = r["error"];
    EXPECT_TRUE(error.starts_with("cannot write " + path_ + ".tmp-") && error.ends_with(": File too large")) << error;
    for (const auto& entry : std::filesystem::directory_iterator(dir_))
        EXPECT_FALSE(entry.path().filename().string().starts_with("ringlb.conf.tmp")) << entry.path();
    EXPECT_EQ(applied_, 0);
    EXPECT_EQ(read_text(path_), kConfig);
    EXPECT_EQ(running_->find_listener("web")->backends.size(), 2u);
}

TEST_F(ControlCommands, TheFileKeepsItsModeAndASymlinkKeepsPointingAtIt) {
    std::string real = dir_ + "/real.conf";
    std::filesystem::rename(path_, real);
    std::filesystem::create_symlink(real, path_);
    ASSERT_EQ(chmod(real.c_str(), 0600), 0);
    ASSERT_TRUE(call(R"({"command":"backend add","listener":"web","address":"10.0.1.13:8080"})")["ok"]);
    EXPECT_TRUE(std::filesystem::is_symlink(path_));
    struct stat st{};
    ASSERT_EQ(stat(real.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    EXPECT_EQ(file_config()->find_listener("web")->backends.size(), 3u);
    EXPECT_TRUE(std::filesystem::exists(real + ".bak"));
}

TEST_F(ControlCommands, ReloadWithABrokenFileReportsFileAndLineAndChangesNothing) {
    write_text(path_, "[global]\nworkers = lots\n");
    json r = call(R"({"command":"reload"})");
    EXPECT_EQ(r["ok"], false);
    EXPECT_NE(r["error"].get<std::string>().find(path_ + ":2: "), std::string::npos) << r;
    EXPECT_EQ(running_->listeners.size(), 2u);
    EXPECT_EQ(applied_, 0);
}

TEST_F(ControlCommands, ReloadAnswersWithEveryChangedSettingAndCountsWhatNeedsARestart) {
    const json changes = json::array(
        {{{"setting", "global.workers"}, {"from", "1"}, {"to", "2"}, {"result", "needs_restart"}, {"detail", "d"}},
         {{"setting", "global.log_level"}, {"from", ""}, {"to", "debug"}, {"result", "applied"}, {"detail", "d"}}});
    reload_reply_ = json{{"changes", changes}, {"needs_restart", 1}};
    json r = call(R"({"command":"reload"})");
    ASSERT_EQ(r["ok"], true) << r;
    EXPECT_EQ(r["changes"], changes);
    EXPECT_EQ(r["message"], "reloaded " + path_ + ": 2 listener(s); 2 setting(s) changed, 1 applied, 1 need a restart");
    reload_reply_ = json{{"changes", json::array()}, {"needs_restart", 0}};
    EXPECT_EQ(call(R"({"command":"reload"})")["message"], "reloaded " + path_ + ": 2 listener(s); nothing changed");
}

TEST_F(ControlCommands, VrrpStatusWithoutInstancesSaysVrrpIsNotConfigured) {
    EXPECT_EQ(call(R"({"command":"vrrp status"})"), (json{{"ok", false}, {"error", "vrrp not configured"}}));
}

TEST_F(ControlCommands, VrrpStatusAnswersWithTheInstancesTheDaemonReports) {
    write_text(path_, std::string(kConfig) + "\n[vrrp.v]\ninterface = eth0\nvrid = 7\nvip = 10.0.0.100/24\n");
    ASSERT_TRUE(call(R"({"command":"reload"})")["ok"]);
    const json instances = json::array({{{"name", "v"}, {"state", "backup"}}});
    context_.vrrp_status = [&] { return instances; };
    EXPECT_EQ(call(R"({"command":"vrrp status"})"), (json{{"ok", true}, {"instances", instances}}));
}

TEST_F(ControlCommands, MalformedLinesGetTheProtocolError) {
    EXPECT_EQ(call("{\"command\":\"frobnicate\"}")["ok"], false);
    EXPECT_EQ(call("\x01\x02")["error"], "request is not text: byte 0x01 at offset 0");
}

TEST(ConfigBackendState, StateIsReadFromTheBackendLineAndWrittenBack) {
    ConfigParseResult parsed = parse_config(
        "[listener.web]\nbind = 127.0.0.1:80\nbackend = 10.0.0.1:80 state=drain weight=2\n"
        "backend = 10.0.0.2:80 backup state=maint\nbackend = 10.0.0.3:80 state=ready\n",
        "t.conf");
    ASSERT_TRUE(parsed.ok()) << parsed.errors[0].to_string();
    const auto& backends = parsed.config->listeners[0].backends;
    EXPECT_EQ(backends[0].state, BackendAdminState::kDrain);
    EXPECT_EQ(backends[0].weight, 2u);
    EXPECT_EQ(backends[1].state, BackendAdminState::kMaint);
    EXPECT_EQ(backends[2].state, BackendAdminState::kReady);
    std::string text = format_config(*parsed.config);
    EXPECT_NE(text.find("backend = 10.0.0.1:80 weight=2 state=drain\n"), std::string::npos) << text;
    EXPECT_NE(text.find("backend = 10.0.0.2:80 backup state=maint\n"), std::string::npos) << text;
    EXPECT_NE(text.find("backend = 10.0.0.3:80\n"), std::string::npos) << text;
}

TEST(ConfigBackendState, UnknownOrRepeatedStatesAreErrors) {
    ConfigParseResult parsed = parse_config(
        "[listener.web]\nbind = 127.0.0.1:80\nbackend = 10.0.0.1:80 state=down\n"
        "backend = 10.0.0.2:80 state=drain state=maint\n",
        "t.conf");
    ASSERT_EQ(parsed.errors.size(), 2u);
    EXPECT_EQ(parsed.errors[0].to_string(),
              "t.conf:3: listener 'web': backend 10.0.0.1:80: bad state 'down' (expected ready, drain or maint)");
    EXPECT_EQ(parsed.errors[1].to_string(), "t.conf:4: listener 'web': backend 10.0.0.2:80: state given twice");
}

}  // namespace
}  // namespace ringlb
