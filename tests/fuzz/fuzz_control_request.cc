// Fuzz target: parse_request on one control-socket line: never throws; a request or a short
// error that makes a one-line JSON response; an accepted request holds no control byte in
// any string and round-trips through format_request to an equal request and the same line.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <exception>
#include <string>
#include <string_view>

#include "core/control/control_proto.h"
#include "tests/fuzz/targets.h"

namespace ringlb::fuzz {
namespace control_request_target {

constexpr const char* kTarget = "fuzz_control_request";
// Errors quote at most 64 bytes of input, so a response stays short whatever came in.
constexpr size_t kMaxErrorLength = 1024;

Result<Request> parse_or_fail(std::string_view line, std::string_view stage) {
    std::string escaped;
    try {
        return parse_request(line);
    } catch (const std::exception& error) {
        escaped = error.what();
    } catch (...) {
        escaped = "(not a std::exception)";
    }
    fuzz_property_failed(kTarget, "parse_request does not throw", __FILE__, __LINE__,
                         std::string(stage) + ": " + escaped);
}

bool is_one_line(const std::string& text) {
    return !text.empty() && text.back() == '\n' && text.find('\n') == text.size() - 1;
}

void check_error_response(const std::string& error) {
    FUZZ_CHECK(kTarget, !error.empty(), "");
    FUZZ_CHECK(kTarget, error.size() <= kMaxErrorLength, error.substr(0, 300) + "...");
    const std::string response = format_error(error);
    FUZZ_CHECK(kTarget, is_one_line(response), response);
    bool parsed = false;
    try {
        const nlohmann::json document = nlohmann::json::parse(response);
        parsed = document.is_object() && document.value("ok", true) == false && document.contains("error");
    } catch (const nlohmann::json::exception&) {
    }
    FUZZ_CHECK(kTarget, parsed, "the error response is not {\"ok\":false,\"error\":...}: " + response);
}

bool has_control_byte(const std::string& text) {
    return std::any_of(text.begin(), text.end(),
                       [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

// A JSON string may spell any byte as \u00XX, so the line's own check for control
// bytes does not cover what the strings hold. No field of an accepted request may hold
// one: each ends up in a config line or a C API (inet_pton) that would stop at a NUL.
void check_strings_printable(const nlohmann::json& value, const std::string& line) {
    if (value.is_string()) {
        FUZZ_CHECK(kTarget, !has_control_byte(value.get_ref<const std::string&>()),
                   "accepted a string with a control byte: " + line);
    } else if (value.is_object()) {
        for (const auto& [key, item] : value.items()) {
            FUZZ_CHECK(kTarget, !has_control_byte(key), "accepted a key with a control byte: " + line);
            check_strings_printable(item, line);
        }
    } else if (value.is_array()) {
        for (const auto& item : value) check_strings_printable(item, line);
    }
}

}  // namespace control_request_target

int fuzz_control_request_one(const uint8_t* data, size_t size) {
    using namespace control_request_target;
    const std::string_view line(reinterpret_cast<const char*>(data), size);
    const Result<Request> parsed = parse_or_fail(line, "input");
    if (!parsed) {
        check_error_response(parsed.error());
        return 0;
    }
    check_strings_printable(nlohmann::json::parse(line), std::string(line));

    const std::string sent = format_request(*parsed);
    FUZZ_CHECK(kTarget, is_one_line(sent), sent);
    const Result<Request> again = parse_or_fail(std::string_view(sent).substr(0, sent.size() - 1), "formatted request");
    FUZZ_CHECK(kTarget, again.ok(), "formatted: " + sent + "error: " + again.error());
    FUZZ_CHECK(kTarget, *again == *parsed, "formatted: " + sent + "reformatted: " + format_request(*again));
    FUZZ_CHECK(kTarget, format_request(*again) == sent, sent);
    return 0;
}

}  // namespace ringlb::fuzz

FUZZ_ENTRY_POINT(ringlb::fuzz::fuzz_control_request_one)
