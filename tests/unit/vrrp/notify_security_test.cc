// Notify scripts (vrrp/notify_security.h, vrrp/notify_script.h): refused unless the
// script and every directory above it are root's and writable only by root; run with
// no capabilities, no_new_privs, a fixed environment and optionally as notify_user.
// Real files under /run (root-owned, 0755) and real child processes; needs root.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "vrrp/notify_script.h"
#include "vrrp/notify_security.h"

namespace ringlb {
namespace {

namespace fs = std::filesystem;

TEST(NotifySecurity, OnlyRootOwnedAndRootWritableIsTrusted) {
    EXPECT_EQ(untrusted_because(0, S_IFREG | 0755), std::nullopt);
    EXPECT_EQ(untrusted_because(0, S_IFDIR | 0700), std::nullopt);
    EXPECT_EQ(untrusted_because(1000, S_IFREG | 0700), "owned by uid 1000, not root");
    EXPECT_EQ(untrusted_because(0, S_IFDIR | 0775), "writable by group (mode 0775)");
    EXPECT_EQ(untrusted_because(0, S_IFDIR | 01777), "writable by group and others (mode 1777)");
    EXPECT_EQ(untrusted_because(0, S_IFREG | 0757), "writable by others (mode 0757)");
}

// A directory of root's, mode 0755, under /run (itself root's, 0755): a trusted home
// for scripts. Removed with everything in it.
class TrustedDir : public ::testing::Test {
protected:
    void SetUp() override {
        if (::geteuid() != 0) GTEST_SKIP() << "needs root (files owned by root and by others)";
        char name[] = "/run/ringlb-notify-test-XXXXXX";
        ASSERT_NE(::mkdtemp(name), nullptr);
        dir_ = name;
        ASSERT_EQ(::chmod(name, 0755), 0);
    }
    void TearDown() override {
        if (!dir_.empty()) fs::remove_all(dir_);
    }
    std::string script(const std::string& name, const std::string& body, mode_t mode = 0755) {
        const std::string path = dir_ + "/" + name;
        std::ofstream(path) << "#!/bin/sh\n" << body;
        ::chmod(path.c_str(), mode);
        return path;
    }
    std::string dir_;
};

TEST_F(TrustedDir, ARootOwnedScriptInRootOwnedDirectoriesIsAccepted) {
    EXPECT_TRUE(check_notify_script(script("ok.sh", "exit 0\n")));
}

TEST_F(TrustedDir, AGroupWritableScriptIsRefusedWithTheReason) {
    Result<void> checked = check_notify_script(script("gw.sh", "exit 0\n", 0775));
    ASSERT_FALSE(checked);
    EXPECT_NE(checked.error().find("is writable by group (mode 0775)"), std::string::npos) << checked.error();
}

TEST_F(TrustedDir, AScriptOwnedBySomeoneElseIsRefused) {
    const std::string path = script("theirs.sh", "exit 0\n");
    ASSERT_EQ(::chown(path.c_str(), 65534, 65534), 0);
    Result<void> checked = check_notify_script(path);
    ASSERT_FALSE(checked);
    EXPECT_NE(checked.error().find("owned by uid 65534, not root"), std::string::npos) << checked.error();
}

TEST_F(TrustedDir, AWritableDirectoryAboveTheScriptIsRefusedByName) {
    const std::string sub = dir_ + "/shared";
    ASSERT_EQ(::mkdir(sub.c_str(), 0755), 0);
    ASSERT_EQ(::chmod(sub.c_str(), 0775), 0);
    std::ofstream(sub + "/s.sh") << "#!/bin/sh\n";
    ::chmod((sub + "/s.sh").c_str(), 0755);
    Result<void> checked = check_notify_script(sub + "/s.sh");
    ASSERT_FALSE(checked);
    EXPECT_NE(checked.error().find("directory " + sub + " is writable by group (mode 0775)"), std::string::npos)
        << checked.error();
}

TEST_F(TrustedDir, ALinkToAScriptInAWorldWritableDirectoryIsRefused) {
    char name[] = "/tmp/ringlb-notify-target-XXXXXX";
    ASSERT_NE(::mkdtemp(name), nullptr);
    const std::string target = std::string(name) + "/t.sh";
    std::ofstream(target) << "#!/bin/sh\n";
    ::chmod(target.c_str(), 0755);
    ::chmod(name, 0755);
    const std::string link = dir_ + "/link.sh";
    ASSERT_EQ(::symlink(target.c_str(), link.c_str()), 0);
    Result<void> checked = check_notify_script(link);
    fs::remove_all(name);
    ASSERT_FALSE(checked);
    EXPECT_NE(checked.error().find("directory /tmp is writable by group and others"), std::string::npos)
        << checked.error();
}

// Runs `path` for one state change and waits (bounded) until it is over.
void run_once(NotifyScript& notify) {
    notify.queue(VrrpState::kMaster);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (notify.busy() && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        notify.poll();
    }
    ASSERT_FALSE(notify.busy()) << "the notify script was still running after 20 s";
}

std::string read_file(const std::string& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

// What the script sees of its privileges, written where `user` may write.
constexpr const char* kReport =
    "out=\"${0%/*}/out/$1-$2\"\n"
    "grep -E '^(Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs|Uid):' /proc/self/status > \"$out\"\n"
    "env | grep -v '^PWD=' | sort >> \"$out\"\n";

class NotifyRun : public TrustedDir {
protected:
    void SetUp() override {
        TrustedDir::SetUp();
        if (IsSkipped()) return;
        out_ = dir_ + "/out";
        ASSERT_EQ(::mkdir(out_.c_str(), 0755), 0);
        // Root without capabilities writes only where the mode lets anyone write.
        ASSERT_EQ(::chmod(out_.c_str(), 0777), 0);
        ::setenv("RINGLB_TEST_SECRET", "the daemon's environment", 1);
    }
    std::string out_;
};

TEST_F(NotifyRun, TheScriptRunsWithNoCapabilitiesNoNewPrivilegesAndOnlyTheFixedEnvironment) {
    NotifyScript notify(script("report.sh", kReport), "vi1");
    run_once(notify);
    const std::string seen = read_file(out_ + "/vi1-MASTER");
    for (const char* set : {"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"})
        EXPECT_NE(seen.find(std::string(set) + ":\t0000000000000000"), std::string::npos) << set << "\n" << seen;
    EXPECT_NE(seen.find("NoNewPrivs:\t1"), std::string::npos) << seen;
    EXPECT_NE(seen.find("Uid:\t0\t0\t0\t0"), std::string::npos) << seen;
    const std::string env = seen.substr(seen.find("HOME="));
    EXPECT_EQ(env, "HOME=/\nLANG=C\nPATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\nSHELL=/bin/sh\n");
}

TEST_F(NotifyRun, WithNotifyUserTheScriptRunsAsThatUser) {
    NotifyScript notify(script("report.sh", kReport), "vi2", "nobody");
    run_once(notify);
    const std::string seen = read_file(out_ + "/vi2-MASTER");
    EXPECT_NE(seen.find("Uid:\t65534\t65534\t65534\t65534"), std::string::npos) << seen;
    EXPECT_NE(seen.find("CapBnd:\t0000000000000000"), std::string::npos) << seen;
}

TEST_F(NotifyRun, AScriptMadeGroupWritableAfterStartIsNotRun) {
    const std::string path = script("report.sh", kReport);
    NotifyScript notify(path, "vi3");
    ::chmod(path.c_str(), 0775);
    run_once(notify);
    EXPECT_FALSE(fs::exists(out_ + "/vi3-MASTER"));
}

}  // namespace
}  // namespace ringlb
