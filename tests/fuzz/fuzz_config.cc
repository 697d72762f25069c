// Fuzz target: parse_config on arbitrary text: never throws; a config or FILE:LINE errors
// in line order; an accepted file holds no NUL and survives format_config → parse_config
// unchanged. A rejected file is retried without the lines its errors name.
#include <algorithm>
#include <exception>
#include <string>
#include <string_view>
#include <vector>

#include "core/config/config_parse.h"
#include "tests/config_positions.h"
#include "tests/fuzz/targets.h"

namespace ringlb::fuzz {
namespace config_target {

constexpr const char* kTarget = "fuzz_config";
const std::string kFileName = "fuzz.conf";
constexpr int kRepairAttempts = 4;

std::string errors_text(const ConfigParseResult& result) {
    std::string text;
    for (const ConfigError& error : result.errors) text += error.to_string() + "\n  ";
    return text;
}

ConfigParseResult parse_or_fail(std::string_view text, std::string_view stage) {
    std::string escaped;
    try {
        return parse_config(text, kFileName);
    } catch (const std::exception& error) {
        escaped = error.what();
    } catch (...) {
        escaped = "(not a std::exception)";
    }
    fuzz_property_failed(kTarget, "parse_config does not throw", __FILE__, __LINE__,
                         std::string(stage) + ": " + escaped);
}

void check_result_shape(const ConfigParseResult& result, std::string_view text) {
    FUZZ_CHECK(kTarget, (result.config != nullptr) == result.errors.empty(),
               "a config comes back exactly when there is no error; errors: " + errors_text(result));
    const int lines = static_cast<int>(std::count(text.begin(), text.end(), '\n')) + 1;
    for (const ConfigError& error : result.errors) {
        FUZZ_CHECK(kTarget, error.file == kFileName, error.to_string());
        FUZZ_CHECK(kTarget, error.line >= 0 && error.line <= lines, error.to_string());
        FUZZ_CHECK(kTarget, !error.message.empty(), error.to_string());
    }
    FUZZ_CHECK(kTarget,
               std::is_sorted(result.errors.begin(), result.errors.end(),
                              [](const ConfigError& a, const ConfigError& b) { return a.line < b.line; }),
               errors_text(result));
    if (result.config) FUZZ_CHECK(kTarget, result.config->source_file == kFileName, result.config->source_file);
}

// format_config's contract: what it writes parses back to the same config, and writing
// that again gives the same text.
void check_round_trip(const ConfigParseResult& first) {
    const std::string formatted = format_config(*first.config);
    const ConfigParseResult second = parse_or_fail(formatted, "formatted config");
    FUZZ_CHECK(kTarget, second.ok(),
               "formatted text:\n" + formatted + "\nerrors: " + errors_text(second));
    check_result_shape(second, formatted);
    using config_test::without_positions;
    FUZZ_CHECK(kTarget, without_positions(*second.config) == without_positions(*first.config),
               "formatted text:\n" + formatted + "\nreformatted:\n" + format_config(*second.config));
    const std::string reformatted = format_config(*second.config);
    FUZZ_CHECK(kTarget, reformatted == formatted, "formatted:\n" + formatted + "\nreformatted:\n" + reformatted);
}

// The text without the lines `result`'s errors name; empty when no error names a line.
std::string drop_error_lines(std::string_view text, const ConfigParseResult& result) {
    std::vector<int> bad;
    for (const ConfigError& error : result.errors)
        if (error.line > 0) bad.push_back(error.line);
    if (bad.empty()) return {};
    std::string kept;
    int line = 1;
    size_t pos = 0;
    while (pos <= text.size()) {
        size_t end = text.find('\n', pos);
        if (end == std::string_view::npos) end = text.size();
        if (std::find(bad.begin(), bad.end(), line) == bad.end())
            kept.append(text.substr(pos, end - pos)).append("\n");
        pos = end + 1;
        ++line;
    }
    return kept;
}

}  // namespace config_target

int fuzz_config_one(const uint8_t* data, size_t size) {
    using namespace config_target;
    // Most mutated files have a bad line or two, and a file with any error never reaches
    // format_config. Parsing again without the lines the errors name (a few times: a
    // dropped header moves its keys under the section before) gets there far more often.
    std::string text(reinterpret_cast<const char*>(data), size);
    for (int attempt = 0; attempt < kRepairAttempts; ++attempt) {
        const ConfigParseResult result = parse_or_fail(text, attempt == 0 ? "input" : "input without bad lines");
        check_result_shape(result, text);
        if (result.ok()) {
            // Values reach C APIs (inet_pton, paths, interface names) that stop at a NUL,
            // so a file holding one must be refused, not read as its truncated self.
            FUZZ_CHECK(kTarget, text.find('\0') == std::string::npos, "accepted a file with a NUL byte");
            check_round_trip(result);
            break;
        }
        text = drop_error_lines(text, result);
        if (text.empty()) break;
    }
    return 0;
}

}  // namespace ringlb::fuzz

FUZZ_ENTRY_POINT(ringlb::fuzz::fuzz_config_one)
