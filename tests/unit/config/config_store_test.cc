// ConfigStore against real files in a temporary directory: load and reload, and
// the atomic write-back (temp file, rename, FILE.bak) with its refusals — a file
// changed on disk since it was loaded, a change the parser refuses, an apply that
// fails — each of which leaves the file as it was.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

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
    EXPECT_FALSE(exists(".tmp"));
    EXPECT_FALSE(exists(".bak.tmp"));
    const std::string written = read_text(path_);
    EXPECT_TRUE(written.starts_with(ConfigStore::header(path_))) << written;
    ConfigParseResult parsed = load_config_file(path_);
    ASSERT_TRUE(parsed.ok()) << written;
    EXPECT_EQ(parsed.config->listeners[0].backends[0].weight, 5u);
    ASSERT_EQ(applied_, 1);
    EXPECT_EQ(applied_config_->listeners[0].backends[0].weight, 5u);
}

TEST_F(ConfigStoreTest, WhileTheChangeIsAppliedTheNewTextWaitsInTheTempFileAndTheFileIsUnchanged) {
    std::string temp_during_apply, file_during_apply, backup_during_apply;
    on_apply_ = [&] {
        temp_during_apply = read_text(path_ + ".tmp");
        file_during_apply = read_text(path_);
        backup_during_apply = read_text(path_ + ".bak");
    };
    ASSERT_TRUE(update_weight(7).ok());
    EXPECT_EQ(file_during_apply, kConfig);
    EXPECT_EQ(backup_during_apply, kConfig);
    EXPECT_EQ(temp_during_apply, read_text(path_));
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
    EXPECT_FALSE(exists(".tmp"));
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
    EXPECT_FALSE(exists(".tmp"));

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
    EXPECT_FALSE(exists(".tmp"));
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

}  // namespace
}  // namespace ringlb
