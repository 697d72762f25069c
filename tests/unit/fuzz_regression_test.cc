// Replays the fuzz targets' seed corpora and saved crash inputs (tests/fuzz/corpus/TARGET,
// tests/fuzz/regressions/TARGET) through the same check functions `make fuzz` runs under
// libFuzzer, so every crash the fuzzers found stays fixed in the ordinary unit tests.
#define RINGLB_FUZZ_REPLAY
#include "tests/fuzz/fuzz_config.cc"
#include "tests/fuzz/fuzz_control_request.cc"
#include "tests/fuzz/fuzz_proxy_header.cc"
#include "tests/fuzz/fuzz_vrrp_packet.cc"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace ringlb::fuzz {
namespace {

namespace fs = std::filesystem;

using CheckOne = int (*)(const uint8_t*, size_t);

// Relative to the repository root (tests/run's working directory), or found from
// build/unit_tests when run from elsewhere.
fs::path repo_path(const fs::path& relative) {
    if (fs::exists(relative)) return relative;
    std::error_code ec;
    const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    if (!ec) return exe.parent_path().parent_path() / relative;
    return relative;
}

std::vector<fs::path> files_in(const fs::path& dir) {
    std::vector<fs::path> files;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir, ec))
        if (entry.is_regular_file()) files.push_back(entry.path());
    std::sort(files.begin(), files.end());
    return files;
}

std::string read_bytes(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Runs every file of the target's corpus and regressions; returns how many ran.
size_t replay(const std::string& target, CheckOne check) {
    size_t count = 0;
    for (const char* kind : {"corpus", "regressions"}) {
        for (const fs::path& file : files_in(repo_path(fs::path("tests/fuzz") / kind / target))) {
            const std::string bytes = read_bytes(file);
            try {
                check(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
            } catch (const PropertyFailure& failure) {
                ADD_FAILURE() << file.string() << ":\n" << failure.what();
            } catch (const std::exception& error) {
                ADD_FAILURE() << file.string() << ": exception escaped: " << error.what();
            }
            ++count;
        }
    }
    return count;
}

TEST(FuzzRegression, ConfigCorpusAndCrashInputsKeepTheirProperties) {
    EXPECT_GE(replay("config", fuzz_config_one), 10u) << "seed corpus missing";
}

TEST(FuzzRegression, ControlRequestCorpusAndCrashInputsKeepTheirProperties) {
    EXPECT_GE(replay("control_request", fuzz_control_request_one), 10u) << "seed corpus missing";
}

TEST(FuzzRegression, VrrpPacketCorpusAndCrashInputsKeepTheirProperties) {
    EXPECT_GE(replay("vrrp_packet", fuzz_vrrp_packet_one), 5u) << "seed corpus missing";
}

TEST(FuzzRegression, ProxyHeaderCorpusAndCrashInputsKeepTheirProperties) {
    EXPECT_GE(replay("proxy_header", fuzz_proxy_header_one), 10u) << "seed corpus missing";
}

// The checks themselves must be able to fail, or the replay proves nothing.
TEST(FuzzRegression, ABrokenPropertyIsReportedNotSwallowed) {
    EXPECT_THROW(FUZZ_CHECK("self_test", 1 + 1 == 3, "arithmetic"), PropertyFailure);
}

}  // namespace
}  // namespace ringlb::fuzz
