// The fuzz targets' check functions, shared by the libFuzzer binaries (clang, `make fuzz`)
// and the replay in tests/unit/fuzz_regression_test.cc (g++). A broken property aborts
// under libFuzzer (a crash it saves) and throws PropertyFailure in the replay.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>

namespace ringlb::fuzz {

// Each returns 0 (libFuzzer's "keep going"); a broken property does not return.
int fuzz_config_one(const uint8_t* data, size_t size);           // fuzz_config.cc
int fuzz_control_request_one(const uint8_t* data, size_t size);  // fuzz_control_request.cc
int fuzz_vrrp_packet_one(const uint8_t* data, size_t size);      // fuzz_vrrp_packet.cc
int fuzz_proxy_header_one(const uint8_t* data, size_t size);     // fuzz_proxy_header.cc

// Thrown by the replay build only, so one bad corpus file fails one test, not the binary.
struct PropertyFailure : std::runtime_error {
    using std::runtime_error::runtime_error;
};

[[noreturn]] inline void fuzz_property_failed(const char* target, const char* condition, const char* file,
                                              int line, const std::string& detail) {
    std::string message = std::string(target) + ": property broken at " + file + ":" + std::to_string(line) +
                          ": " + condition;
    if (!detail.empty()) message += "\n  " + detail;
#ifdef RINGLB_FUZZ_REPLAY
    throw PropertyFailure(message);
#else
    // libFuzzer treats the abort as a crash and saves the input as crash-<sha1>.
    std::fprintf(stderr, "%s\n", message.c_str());
    std::abort();
#endif
}

}  // namespace ringlb::fuzz

// FUZZ_CHECK(target, condition, detail): `detail` (a std::string expression) is only
// evaluated when `condition` is false, so it may be as costly as a formatted dump.
#define FUZZ_CHECK(target, condition, detail)                                                          \
    do {                                                                                               \
        if (!(condition)) ::ringlb::fuzz::fuzz_property_failed(target, #condition, __FILE__, __LINE__, \
                                                               std::string(detail));                   \
    } while (false)

// Each target file ends with FUZZ_ENTRY_POINT(its check function); the replay build
// defines RINGLB_FUZZ_REPLAY and includes all four files into one test binary.
#ifdef RINGLB_FUZZ_REPLAY
#define FUZZ_ENTRY_POINT(check)
#else
#define FUZZ_ENTRY_POINT(check)                                                   \
    extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {     \
        return check(data, size);                                                 \
    }
#endif
