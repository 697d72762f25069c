// ConfigStore against real files in a temporary directory: load and reload, and
// the atomic write-back (temp file, rename, FILE.bak) with its refusals — a file
// changed on disk since it was loaded, a change the parser refuses, an apply that
// fails — each of which leaves the file as it was; symlinks planted at the names it
// uses, and an owner it cannot keep.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/config/config_parse.h"
#include "core/config/config_store.h"

namespace ringlb {
namespace {

const char* kConfig = R"(# operator's comment
[listener.web]
bind = 127.0.0.1:8080
backend = 10.0.1.11:8080 weight=3
backend = 10.0.1.12:8080
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

ino_t inode_of(const std::string& path) {
    struct stat st{};
    EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
    return st.st_ino;
}

// The names in `dir`, sorted.
std::vector<std::string> names_in(const std::string& dir) {
    std::vector<std::string> names;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) names.push_back(entry.path().filename());
    std::sort(names.begin(), names.end());
    return names;
}

// The temporary files of the write-back in `dir`: NAME.tmp-<16 hex digits>.
std::vector<std::string> temp_files_in(const std::string& dir) {
    std::vector<std::string> temps;
    for (const std::string& name : names_in(dir))
        if (name.starts_with("ringlb.conf.tmp-")) temps.push_back(dir + "/" + name);
    return temps;
}

Result<void> set_first_weight(Config& config, uint32_t weight) {
    config.listeners.at(0).backends.at(0).weight = weight;
    return {};
}

class ConfigStoreTest : public ::testing::Test {
protected:
    void SetUp() override {
        char pattern[] = "/tmp/ringlb-store-test-XXXXXX";
        ASSERT_NE(mkdtemp(pattern), nullptr);
        dir_ = pattern;
        path_ = dir_ + "/ringlb.conf";
        write_text(path_, kConfig);
        store_ = std::make_unique<ConfigStore>(path_);
        ASSERT_TRUE(store_->load().ok());
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }

    // Records what it was given; fails with apply_error_ when that is set.
    ConfigStore::Apply apply() {
        return [this](std::shared_ptr<const Config> next) -> Result<void> {
            ++applied_;
            if (on_apply_) on_apply_();
            if (!apply_error_.empty()) return fail(apply_error_);
            applied_config_ = std::move(next);
            return {};
        };
    }

    Result<void> update_weight(uint32_t weight) {
        return store_->update([weight](Config& config) { return set_first_weight(config, weight); }, apply());
    }

    bool exists(const std::string& suffix) const { return std::filesystem::exists(path_ + suffix); }

    std::string dir_, path_;
    std::unique_ptr<ConfigStore> store_;
    int applied_ = 0;
    std::string apply_error_;
    std::function<void()> on_apply_;
    std::shared_ptr<const Config> applied_config_;
};

TEST_F(ConfigStoreTest, AFileThatCannotBeReadIsAnErrorAtLineZero) {
    ConfigStore missing(dir_ + "/missing.conf");
    ConfigParseResult loaded = missing.load();
    ASSERT_EQ(loaded.errors.size(), 1u);
    EXPECT_EQ(loaded.errors[0].to_string(), dir_ + "/missing.conf:0: cannot read: No such file or directory");
    Result<void> updated = missing.update([](Config&) -> Result<void> { return {}; }, apply());
    ASSERT_FALSE(updated.ok());
    EXPECT_EQ(updated.error(), "no configuration loaded");
}

TEST_F(ConfigStoreTest, AnUpdateReplacesTheFileByRenameAndKeepsThePreviousContentAsBak) {
    const ino_t before = inode_of(path_);
    const std::string old_link = dir_ + "/old-inode";
    ASSERT_EQ(::link(path_.c_str(), old_link.c_str()), 0);

    ASSERT_TRUE(update_weight(5).ok());

    // A new inode renamed into place: the old one was never written to.
    EXPECT_NE(inode_of(path_), before);
    EXPECT_EQ(read_text(old_link), kConfig);
    EXPECT_EQ(read_text(path_ + ".bak"), kConfig);
    EXPECT_EQ(names_in(dir_), (std::vector<std::string>{"old-inode", "ringlb.conf", "ringlb.conf.bak"}));
    const std::string written = read_text(path_);
    EXPECT_TRUE(written.starts_with(ConfigStore::header(path_))) << written;
    ConfigParseResult parsed = load_config_file(path_);
    ASSERT_TRUE(parsed.ok()) << written;
    EXPECT_EQ(parsed.config->listeners[0].backends[0].weight, 5u);
    ASSERT_EQ(applied_, 1);
    EXPECT_EQ(applied_config_->listeners[0].backends[0].weight, 5u);
}

TEST_F(ConfigStoreTest, WhileTheChangeIsAppliedTheNewTextWaitsInARandomlyNamedTempFileAndNothingElseChanged) {
    std::vector<std::string> temps_during_apply;
    std::string temp_during_apply, file_during_apply;
    bool backup_during_apply = true;
    on_apply_ = [&] {
        temps_during_apply = temp_files_in(dir_);
        if (temps_during_apply.size() == 1) temp_during_apply = read_text(temps_during_apply[0]);
        file_during_apply = read_text(path_);
        backup_during_apply = exists(".bak");
    };
    ASSERT_TRUE(update_weight(7).ok());
    ASSERT_EQ(temps_during_apply.size(), 1u);
    // ringlb.conf.tmp- and 16 hex digits: a name nobody could have prepared.
    const std::string suffix = temps_during_apply[0].substr(temps_during_apply[0].rfind('-') + 1);
    EXPECT_EQ(suffix.size(), 16u);
    EXPECT_EQ(suffix.find_first_not_of("0123456789abcdef"), std::string::npos) << suffix;
    EXPECT_EQ(file_during_apply, kConfig);
    EXPECT_FALSE(backup_during_apply) << "FILE.bak is written only once the change is applied";
    EXPECT_EQ(temp_during_apply, read_text(path_));
    EXPECT_TRUE(temp_files_in(dir_).empty());
}

TEST_F(ConfigStoreTest, TheHeaderNamesTheBackupFile) {
    EXPECT_EQ(ConfigStore::header("/etc/ringlb/ringlb.conf"),
              "# ringlb configuration. ringlbd writes ringlbctl's changes back to this file\n"
              "# (comments are not kept; the previous version is ringlb.conf.bak).\n\n");
}

TEST_F(ConfigStoreTest, AFileChangedOnDiskSinceLoadIsRefusedWithTheReloadMessage) {
    const std::string edited = std::string(kConfig) + "# edited by hand\n";
    write_text(path_, edited);
    Result<void> updated = update_weight(5);
    ASSERT_FALSE(updated.ok());
    EXPECT_EQ(updated.error(), path_ + " changed on disk since it was loaded; run 'ringlbctl reload'");
    EXPECT_EQ(applied_, 0);
    EXPECT_EQ(read_text(path_), edited);
    EXPECT_TRUE(temp_files_in(dir_).empty());
    EXPECT_FALSE(exists(".bak"));
}

TEST_F(ConfigStoreTest, AFileRemovedSinceLoadIsRefusedWithTheReloadMessageAndWhy) {
    std::filesystem::remove(path_);
    Result<void> updated = update_weight(5);
    ASSERT_FALSE(updated.ok());
    EXPECT_EQ(updated.error(), path_ +
                                   " changed on disk since it was loaded; run 'ringlbctl reload' (cannot read it: No "
                                   "such file or directory)");
    EXPECT_EQ(applied_, 0);
    EXPECT_FALSE(exists(""));
}

TEST_F(ConfigStoreTest, AnApplyThatFailsLeavesTheFileUntouchedAndTheNextUpdateWorks) {
    const ino_t before = inode_of(path_);
    apply_error_ = "listener api: bind 127.0.0.1:9000: Address already in use";
    Result<void> updated = update_weight(5);
    ASSERT_FALSE(updated.ok());
    EXPECT_EQ(updated.error(), apply_error_);
    EXPECT_EQ(applied_, 1);
    EXPECT_EQ(read_text(path_), kConfig);
    EXPECT_EQ(inode_of(path_), before);
    EXPECT_TRUE(temp_files_in(dir_).empty());
    EXPECT_FALSE(exists(".bak"));

    apply_error_.clear();
    ASSERT_TRUE(update_weight(6).ok());
    EXPECT_EQ(load_config_file(path_).config->listeners[0].backends[0].weight, 6u);
}

TEST_F(ConfigStoreTest, AChangeThatFailsOrThatTheParserRefusesIsNeitherAppliedNorWritten) {
    Result<void> refused = store_->update([](Config&) -> Result<void> { return fail("listener 'x' not found"); }, apply());
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.error(), "listener 'x' not found");

    // Validated as the file would be, without FILE:LINE (the lines are the generated text's).
    Result<void> invalid = update_weight(300);
    ASSERT_FALSE(invalid.ok());
    EXPECT_EQ(invalid.error(), "listener 'web': backend 10.0.1.11:8080: bad weight '300' (expected a number 1..256)");

    EXPECT_EQ(applied_, 0);
    EXPECT_EQ(read_text(path_), kConfig);
    EXPECT_TRUE(temp_files_in(dir_).empty());
    EXPECT_FALSE(exists(".bak"));
}

TEST_F(ConfigStoreTest, ReloadAppliesTheFileAndMakesItTheReferenceForTheNextUpdate) {
    const std::string edited = std::string(kConfig) + "backend = 10.0.1.13:8080\n";
    write_text(path_, edited);
    ASSERT_TRUE(store_->reload(apply()).ok());
    ASSERT_EQ(applied_, 1);
    EXPECT_EQ(applied_config_->listeners[0].backends.size(), 3u);

    ASSERT_TRUE(update_weight(2).ok());
    EXPECT_EQ(read_text(path_ + ".bak"), edited);
    EXPECT_EQ(load_config_file(path_).config->listeners[0].backends.size(), 3u);
}

TEST_F(ConfigStoreTest, ABrokenFileIsRefusedWithEveryFileLineErrorAndStaysUnapplied) {
    write_text(path_, "[global]\nworkers = lots\n[listener.x]\nbind = nonsense\n");
    Result<void> reloaded = store_->reload(apply());
    ASSERT_FALSE(reloaded.ok());
    const std::string& why = reloaded.error();
    EXPECT_TRUE(why.starts_with(path_ + ":2: ")) << why;
    EXPECT_NE(why.find("\n" + path_ + ":4: "), std::string::npos) << why;
    EXPECT_EQ(applied_, 0);
    // The reference is still the file as loaded, which is no longer what is on disk.
    Result<void> updated = update_weight(5);
    ASSERT_FALSE(updated.ok());
    EXPECT_EQ(updated.error(), path_ + " changed on disk since it was loaded; run 'ringlbctl reload'");
}

TEST_F(ConfigStoreTest, AReloadWhoseApplyFailsKeepsThePreviousReference) {
    const std::string edited = std::string(kConfig) + "backend = 10.0.1.13:8080\n";
    write_text(path_, edited);
    apply_error_ = "listener web: bind 127.0.0.1:8080: Address already in use";
    Result<void> reloaded = store_->reload(apply());
    ASSERT_FALSE(reloaded.ok());
    EXPECT_EQ(reloaded.error(), apply_error_);
    apply_error_.clear();
    EXPECT_FALSE(update_weight(5).ok());  // the edit was not taken as the reference
    EXPECT_EQ(read_text(path_), edited);
}

TEST_F(ConfigStoreTest, ARefusedChangeKeepsThePreviousBak) {
    ASSERT_TRUE(update_weight(5).ok());
    const std::string first_file = read_text(path_);
    ASSERT_EQ(read_text(path_ + ".bak"), kConfig);

    apply_error_ = "listener api: bind 127.0.0.1:9000: Address already in use";
    ASSERT_FALSE(update_weight(6).ok());
    EXPECT_EQ(read_text(path_ + ".bak"), kConfig) << "a refused change must not replace FILE.bak";
    EXPECT_EQ(read_text(path_), first_file);
    EXPECT_TRUE(temp_files_in(dir_).empty());
}

TEST_F(ConfigStoreTest, SymlinksPlantedAtEveryFixedNameAreNeitherFollowedNorWrittenThrough) {
    // What a local user who could write the directory would plant: the names the
    // write-back used to take (FILE.tmp, FILE.bak.tmp) and FILE.bak, pointing at
    // files the daemon may write.
    char other[] = "/tmp/ringlb-store-victims-XXXXXX";
    ASSERT_NE(mkdtemp(other), nullptr);
    const std::string victims = other;
    const std::vector<std::string> planted = {".tmp", ".bak.tmp", ".bak"};
    for (const std::string& suffix : planted) {
        const std::string victim = victims + "/victim" + suffix;
        write_text(victim, "precious " + suffix + "\n");
        ASSERT_EQ(::symlink(victim.c_str(), (path_ + suffix).c_str()), 0) << suffix;
    }

    ASSERT_TRUE(update_weight(5).ok());
    ASSERT_TRUE(update_weight(6).ok());

    for (const std::string& suffix : planted)
        EXPECT_EQ(read_text(victims + "/victim" + suffix), "precious " + suffix + "\n") << suffix;
    // The old fixed names are not used at all; FILE.bak was replaced by rename, the
    // link itself and not its target.
    EXPECT_TRUE(std::filesystem::is_symlink(path_ + ".tmp"));
    EXPECT_TRUE(std::filesystem::is_symlink(path_ + ".bak.tmp"));
    EXPECT_FALSE(std::filesystem::is_symlink(path_ + ".bak"));
    EXPECT_TRUE(std::filesystem::is_regular_file(path_ + ".bak"));
    EXPECT_EQ(load_config_file(path_ + ".bak").config->listeners[0].backends[0].weight, 5u);
    EXPECT_EQ(load_config_file(path_).config->listeners[0].backends[0].weight, 6u);
    EXPECT_TRUE(temp_files_in(dir_).empty());
    std::filesystem::remove_all(victims);
}

TEST_F(ConfigStoreTest, AConfigThatIsASymlinkIsReplacedWhereItPointsAndTheLinkStays) {
    char other[] = "/tmp/ringlb-store-real-XXXXXX";
    ASSERT_NE(mkdtemp(other), nullptr);
    const std::string real_dir = other;
    const std::string real = real_dir + "/ringlb.conf";
    write_text(real, kConfig);
    std::filesystem::remove(path_);
    ASSERT_EQ(::symlink(real.c_str(), path_.c_str()), 0);
    ConfigStore linked(path_);
    ASSERT_TRUE(linked.load().ok());

    ASSERT_TRUE(linked.update([](Config& config) { return set_first_weight(config, 9); }, apply()).ok());

    EXPECT_TRUE(std::filesystem::is_symlink(path_));
    EXPECT_EQ(load_config_file(real).config->listeners[0].backends[0].weight, 9u);
    EXPECT_EQ(read_text(real + ".bak"), kConfig);
    EXPECT_EQ(names_in(dir_), (std::vector<std::string>{"ringlb.conf"}));
    std::filesystem::remove_all(real_dir);
}

TEST_F(ConfigStoreTest, TheFileKeepsItsOwnerAndModeAndSoDoesTheBak) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to give the file another owner";
    ASSERT_EQ(::chown(path_.c_str(), 65534, 65534), 0);
    ASSERT_EQ(::chmod(path_.c_str(), 0604), 0);
    ASSERT_TRUE(update_weight(5).ok());
    for (const std::string& file : {path_, path_ + ".bak"}) {
        struct stat st{};
        ASSERT_EQ(::stat(file.c_str(), &st), 0);
        EXPECT_EQ(st.st_uid, 65534u) << file;
        EXPECT_EQ(st.st_gid, 65534u) << file;
        EXPECT_EQ(st.st_mode & 07777, 0604u) << file;
    }
}

TEST_F(ConfigStoreTest, AnOwnerTheDaemonCannotGiveIsRefusedLoudlyAndNothingIsWritten) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to run the store as another user";
    // The file is root's; the store runs as nobody in a directory nobody may write:
    // a new file would be nobody's, so the write-back must refuse, not change the owner.
    ASSERT_EQ(::chmod(dir_.c_str(), 0777), 0);
    ASSERT_EQ(::chmod(path_.c_str(), 0644), 0);
    int out[2];
    ASSERT_EQ(::pipe(out), 0);
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        ::close(out[0]);
        if (::setresgid(65534, 65534, 65534) != 0 || ::setresuid(65534, 65534, 65534) != 0) ::_exit(2);
        ConfigStore store(path_);
        if (!store.load().ok()) ::_exit(3);
        Result<void> updated =
            store.update([](Config& config) { return set_first_weight(config, 5); },
                         [](std::shared_ptr<const Config>) -> Result<void> { return {}; });
        const std::string said = updated ? std::string("written") : updated.error();
        ssize_t ignored = ::write(out[1], said.data(), said.size());
        (void)ignored;
        ::_exit(0);
    }
    ::close(out[1]);
    std::string said;
    char buffer[4096];
    for (ssize_t n; (n = ::read(out[0], buffer, sizeof(buffer))) > 0;) said.append(buffer, size_t(n));
    ::close(out[0]);
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
    EXPECT_NE(said.find("cannot keep the owner of " + path_ + " (uid 0, gid 0): ringlbd runs as uid 65534"),
              std::string::npos)
        << said;
    EXPECT_EQ(read_text(path_), kConfig);
    struct stat st{};
    ASSERT_EQ(::stat(path_.c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, 0u);
    EXPECT_EQ(names_in(dir_), (std::vector<std::string>{"ringlb.conf"}));
}

}  // namespace
}  // namespace ringlb
