// The control protocol: every request round-trips, every malformed line is an
// error that names what is wrong, and nothing throws.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "core/control/control_proto.h"

namespace ringlb {
namespace {

InetAddr addr(const char* text) { return *InetAddr::parse(text); }

// Designated initializers would trip -Wmissing-field-initializers.
Request make(CommandKind kind, std::string listener = "") {
    Request request;
    request.kind = kind;
    request.listener = std::move(listener);
    return request;
}

std::string error_of(std::string_view line) {
    Result<Request> parsed = parse_request(line);
    EXPECT_FALSE(parsed.ok()) << line.substr(0, 200);
    return parsed.ok() ? "" : parsed.error();
}

TEST(ControlProto, EveryCommandRoundTripsThroughItsJsonLine) {
    std::vector<Request> requests;
    requests.push_back(make(CommandKind::kStatus));
    requests.push_back(make(CommandKind::kListenerList));
    requests.push_back(make(CommandKind::kListenerShow, "web"));
    Request add = make(CommandKind::kListenerAdd, "web-2_b");
    add.bind = addr("192.0.2.100:80");
    add.scheduler = "source-hash";
    add.check = "http GET /health expect 200-399";
    add.backends = {{addr("10.0.1.11:8080"), 3, false}, {addr("[2001:db8::1]:80"), {}, true}};
    requests.push_back(add);
    requests.push_back(make(CommandKind::kListenerRemove, "web"));
    Request backend_add = make(CommandKind::kBackendAdd, "web");
    backend_add.address = addr("10.0.1.11:8080");
    backend_add.weight = 256;
    backend_add.backup = true;
    requests.push_back(backend_add);
    Request backend_remove = make(CommandKind::kBackendRemove, "web");
    backend_remove.address = addr("10.0.1.11:8080");
    requests.push_back(backend_remove);
    Request drain = make(CommandKind::kBackendSet, "web");
    drain.address = addr("10.0.1.11:8080");
    drain.state = BackendAdminState::kDrain;
    requests.push_back(drain);
    Request both = drain;
    both.weight = 7;
    both.state = BackendAdminState::kMaint;
    requests.push_back(both);
    requests.push_back(make(CommandKind::kStats));
    requests.push_back(make(CommandKind::kStats, "web"));
    requests.push_back(make(CommandKind::kVrrpStatus));
    requests.push_back(make(CommandKind::kReload));
    Request access = make(CommandKind::kListenerSet, "web");
    access.allow = *parse_prefix_list("10.0.0.0/8, 2001:db8::/32");
    access.deny.emplace();
    requests.push_back(access);
    Request drained_add = backend_add;
    drained_add.state = BackendAdminState::kDrain;
    requests.push_back(drained_add);
    for (const Request& request : requests) {
        std::string line = format_request(request);
        ASSERT_TRUE(line.ends_with("\n"));
        ASSERT_EQ(line.find('\n'), line.size() - 1) << "one line per request";
        line.pop_back();
        Result<Request> parsed = parse_request(line);
        ASSERT_TRUE(parsed.ok()) << line << ": " << parsed.error();
        EXPECT_EQ(*parsed, request) << line;
    }
}

TEST(ControlProto, AcceptsATrailingCarriageReturnAndSurroundingSpaces) {
    Result<Request> parsed = parse_request("  {\"command\": \"listener show\", \"listener\": \"web\"}  \r");
    ASSERT_TRUE(parsed.ok()) << parsed.error();
    EXPECT_EQ(parsed->kind, CommandKind::kListenerShow);
    EXPECT_EQ(parsed->listener, "web");
}

struct Malformed {
    std::string line;
    std::string expected;  // a part of the error message
};

TEST(ControlProto, MalformedRequestsAreErrorsThatSayWhatIsWrong) {
    const std::vector<Malformed> corpus = {
        {"", "empty request"},
        {"   ", "empty request"},
        {"{", "not valid JSON"},
        {"{\"command\":\"status\"", "not valid JSON"},
        {"{\"command\":\"stat", "not valid JSON"},
        {"{\"command\":\"status\"}}", "not valid JSON"},
        {"{\"command\":\"status\"} {\"command\":\"status\"}", "not valid JSON"},
        {"{'command':'status'}", "not valid JSON"},
        {"command=status", "not valid JSON"},
        {"{\"command\":\"status\",}", "not valid JSON"},
        {"{\"command\":\"sta\xff\xfeus\"}", "not valid JSON"},
        {"\xc3\x28", "not valid JSON"},
        {std::string("{\"command\":\"status\"}\x00garbage", 28), "byte 0x00 at offset 20"},
        {std::string("\x00\x01\x02\x03", 4), "byte 0x00 at offset 0"},
        {"{\"command\":\"st\x1b[31matus\"}", "byte 0x1b"},
        {"\x7f" "ELF", "byte 0x7f at offset 0"},
        {"null", "must be a JSON object, not null"},
        {"42", "must be a JSON object, not an integer"},
        {"\"status\"", "must be a JSON object, not a string"},
        {"[\"status\"]", "must be a JSON object, not an array"},
        {"{}", "missing 'command'"},
        {"{\"cmd\":\"status\"}", "missing 'command'"},
        {"{\"command\":null}", "'command' must be a string, not null"},
        {"{\"command\":7}", "'command' must be a string, not an integer"},
        {"{\"command\":[\"status\"]}", "'command' must be a string, not an array"},
        {"{\"command\":\"shutdown\"}", "unknown command 'shutdown' (expected status, listener list"},
        {"{\"command\":\"STATUS\"}", "unknown command 'STATUS'"},
        {"{\"command\":\"listener\"}", "unknown command 'listener'"},
        {"{\"command\":\"status\",\"verbose\":true}", "status: unknown field 'verbose'"},
        {"{\"command\":\"listener show\"}", "listener show: missing 'listener'"},
        {"{\"command\":\"listener show\",\"listener\":5}", "listener show: 'listener' must be a string, not an integer"},
        {"{\"command\":\"listener show\",\"listener\":\"\"}", "bad listener name ''"},
        {"{\"command\":\"listener show\",\"listener\":\"a b\"}", "bad listener name 'a b'"},
        {"{\"command\":\"listener show\",\"listener\":\"web]\\nbind = 1.2.3.4:5\"}", "bad listener name"},
        {"{\"command\":\"listener show\",\"listener\":\"" + std::string(65, 'a') + "\"}", "bad listener name"},
        {"{\"command\":\"listener add\",\"listener\":\"web\",\"backends\":[{\"address\":\"10.0.0.1:80\"}]}",
         "listener add: missing 'bind'"},
        {"{\"command\":\"listener add\",\"listener\":\"web\",\"bind\":\"1.2.3.4:80\"}", "listener add: missing 'backends'"},
        {"{\"command\":\"listener add\",\"listener\":\"web\",\"bind\":\"1.2.3.4:80\",\"backends\":[]}",
         "'backends' is empty"},
        {"{\"command\":\"listener add\",\"listener\":\"web\",\"bind\":\"1.2.3.4:80\",\"backends\":\"10.0.0.1:80\"}",
         "'backends' must be an array, not a string"},
        {"{\"command\":\"listener add\",\"listener\":\"web\",\"bind\":\"1.2.3.4:80\",\"backends\":[\"10.0.0.1:80\"]}",
         "backends[0] must be an object, not a string"},
        {"{\"command\":\"listener add\",\"listener\":\"web\",\"bind\":\"1.2.3.4:80\",\"backends\":[{\"weight\":2}]}",
         "backends[0]: missing 'address'"},
        {"{\"command\":\"listener add\",\"listener\":\"web\",\"bind\":\"1.2.3.4:80\",\"backends\":[{\"address\":\"10.0.0.1:80\"},"
         "{\"address\":\"10.0.0.2:80\",\"weight\":\"3\"}]}",
         "backends[1]: 'weight' must be a positive integer, not a string"},
        {"{\"command\":\"listener add\",\"listener\":\"web\",\"bind\":\"1.2.3.4:80\",\"backends\":[{\"address\":\"10.0.0.1:80\","
         "\"colour\":\"red\"}]}",
         "backends[0]: unknown field 'colour'"},
        {"{\"command\":\"listener add\",\"listener\":\"web\",\"bind\":\"1.2.3.4\",\"backends\":[{\"address\":\"10.0.0.1:80\"}]}",
         "bad address '1.2.3.4' for bind"},
        {"{\"command\":\"listener add\",\"listener\":\"web\",\"bind\":\"1.2.3.4:80\",\"check\":\"tcp # x\","
         "\"backends\":[{\"address\":\"10.0.0.1:80\"}]}",
         "'check' contains a control character or '#'"},
        {"{\"command\":\"listener add\",\"listener\":\"web\",\"bind\":\"1.2.3.4:80\",\"scheduler\":\"leastconn\\nbind = x\","
         "\"backends\":[{\"address\":\"10.0.0.1:80\"}]}",
         "'scheduler' contains a control character or '#'"},
        {"{\"command\":\"listener add\",\"listener\":\"web\",\"bind\":\"1.2.3.4:80\",\"scheduler\":\"\","
         "\"backends\":[{\"address\":\"10.0.0.1:80\"}]}",
         "'scheduler' is empty"},
        {"{\"command\":\"backend add\",\"listener\":\"web\"}", "backend add: missing 'address'"},
        {"{\"command\":\"backend add\",\"listener\":\"web\",\"address\":\"10.0.0.1:0\"}", "bad address '10.0.0.1:0'"},
        {"{\"command\":\"backend add\",\"listener\":\"web\",\"address\":\"10.0.0.1:65536\"}", "bad address"},
        {"{\"command\":\"backend add\",\"listener\":\"web\",\"address\":\"example.com:80\"}", "bad address 'example.com:80'"},
        {"{\"command\":\"backend add\",\"listener\":\"web\",\"address\":\"10.0.0.1:80\",\"weight\":0}",
         "'weight' must be a positive integer, not 0"},
        {"{\"command\":\"backend add\",\"listener\":\"web\",\"address\":\"10.0.0.1:80\",\"weight\":-3}",
         "'weight' must be a positive integer, not -3"},
        {"{\"command\":\"backend add\",\"listener\":\"web\",\"address\":\"10.0.0.1:80\",\"weight\":1.5}",
         "'weight' must be a positive integer, not 1.5"},
        {"{\"command\":\"backend add\",\"listener\":\"web\",\"address\":\"10.0.0.1:80\",\"weight\":99999999999}",
         "'weight' is too large"},
        {"{\"command\":\"backend add\",\"listener\":\"web\",\"address\":\"10.0.0.1:80\",\"weight\":1e400}",
         "not valid JSON"},
        {"{\"command\":\"backend add\",\"listener\":\"web\",\"address\":\"10.0.0.1:80\",\"backup\":\"yes\"}",
         "'backup' must be true or false, not a string"},
        {"{\"command\":\"backend add\",\"listener\":\"web\",\"address\":\"10.0.0.1:80\",\"state\":\"down\"}",
         "backend add: bad state 'down' (expected ready, drain or maint)"},
        {"{\"command\":\"listener set\",\"listener\":\"web\"}", "listener set: nothing to change"},
        {"{\"command\":\"listener set\",\"listener\":\"web\",\"allow\":[\"10.0.0.0/8\"]}",
         "'allow' must be a string of prefixes, not an array"},
        {"{\"command\":\"listener set\",\"listener\":\"web\",\"deny\":\"10.0.0.1/8\"}", "bad 'deny': "},
        {"{\"command\":\"listener set\",\"listener\":\"web\",\"allow\":\"\",\"weight\":1}",
         "listener set: unknown field 'weight'"},
        {"{\"command\":\"backend set\",\"listener\":\"web\",\"address\":\"10.0.0.1:80\"}", "backend set: nothing to change"},
        {"{\"command\":\"backend set\",\"listener\":\"web\",\"address\":\"10.0.0.1:80\",\"state\":\"down\"}",
         "bad state 'down' (expected ready, drain or maint)"},
        {"{\"command\":\"backend set\",\"listener\":\"web\",\"address\":\"10.0.0.1:80\",\"state\":1}",
         "'state' must be a string, not an integer"},
        {"{\"command\":\"backend remove\",\"listener\":\"web\",\"address\":{\"host\":\"10.0.0.1\"}}",
         "'address' must be a string, not an object"},
        {"{\"command\":\"stats\",\"listener\":null}", "'listener' must be a string, not null"},
        {"{\"command\":\"status\",\"x\":" + std::string(1000, '[') + std::string(1000, ']') + "}", "nested deeper than"},
        {std::string(100000, '['), "request longer than 65536 bytes"},
        {"{\"command\":\"status\",\"pad\":\"" + std::string(kMaxRequestBytes, 'x') + "\"}", "request longer than 65536 bytes"},
    };
    for (const Malformed& m : corpus) {
        std::string error = error_of(m.line);
        EXPECT_NE(error.find(m.expected), std::string::npos)
            << "line: " << m.line.substr(0, 120) << "\nerror: " << error << "\nexpected: " << m.expected;
        EXPECT_LE(error.size(), 600u) << "errors stay short: " << error.substr(0, 100);
    }
}

TEST(ControlProto, AQuotedPieceOfAHugeInputIsCut) {
    std::string name(5000, 'x');
    std::string error = error_of("{\"command\":\"" + name + "\"}");
    EXPECT_NE(error.find("unknown command 'xxxx"), std::string::npos);
    EXPECT_LT(error.size(), 400u);
}

TEST(ControlProto, ResponsesAreOneJsonLineWithOkFirst) {
    std::string ok = format_ok({{"listeners", nlohmann::json::array({"web"})}, {"count", 1}});
    EXPECT_EQ(ok, "{\"ok\":true,\"count\":1,\"listeners\":[\"web\"]}\n");
    EXPECT_EQ(format_ok(), "{\"ok\":true}\n");
    std::string error = format_error("listener 'web' not found\nsecond line \"quoted\"");
    EXPECT_EQ(error, "{\"ok\":false,\"error\":\"listener 'web' not found\\nsecond line \\\"quoted\\\"\"}\n");
    // Invalid UTF-8 in a message is replaced, not thrown on.
    std::string bad = format_error("bad \xff byte");
    EXPECT_TRUE(bad.ends_with("}\n"));
    EXPECT_EQ(nlohmann::json::parse(bad)["ok"], false);
}

TEST(ControlProto, EveryPrefixOfAValidRequestIsRefusedWithoutThrowing) {
    Request add = make(CommandKind::kListenerAdd, "web");
    add.bind = addr("192.0.2.100:80");
    add.check = "tcp";
    add.backends = {{addr("10.0.1.11:8080"), 3, true}};
    const std::string line = format_request(add);
    for (size_t n = 0; n + 1 < line.size(); ++n) {
        Result<Request> parsed = parse_request(std::string_view(line).substr(0, n));
        ASSERT_FALSE(parsed.ok()) << n;
        EXPECT_FALSE(parsed.error().empty()) << n;
    }
}

TEST(ControlProto, RandomBytesNeverParseAndNeverThrow) {
    uint64_t state = 0x9e3779b97f4a7c15ULL;
    for (int round = 0; round < 2000; ++round) {
        std::string line;
        size_t length = (state >> 7) % 200;
        for (size_t i = 0; i < length; ++i) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            line.push_back(char(state & 0xff));
        }
        Result<Request> parsed = parse_request(line);
        EXPECT_TRUE(parsed.ok() || !parsed.error().empty());
    }
}

}  // namespace
}  // namespace ringlb
