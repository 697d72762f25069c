// Control protocol: request validation table and JSON line formatting.
#include "core/control/control_proto.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <initializer_list>

#include "core/config/config_names.h"

namespace ringlb {

namespace {

using nlohmann::json;

constexpr int kMaxDepth = 8;             // {"backends":[{...}]} needs 3
constexpr size_t kMaxEcho = 64;          // longest piece of input quoted back in an error
constexpr size_t kMaxNameLength = 64;
constexpr size_t kMaxBackends = 1024;

enum class Field { kListener, kBind, kScheduler, kCheck, kBackends, kAddress, kWeight, kBackup, kState };

constexpr std::array<std::string_view, 9> kFieldNames = {"listener", "bind",   "scheduler", "check", "backends",
                                                         "address",  "weight", "backup",    "state"};

struct CommandSpec {
    CommandKind kind;
    std::string_view name;
    std::initializer_list<Field> required;
    std::initializer_list<Field> optional;
};

const CommandSpec kCommands[] = {
    {CommandKind::kStatus, "status", {}, {}},
    {CommandKind::kListenerList, "listener list", {}, {}},
    {CommandKind::kListenerShow, "listener show", {Field::kListener}, {}},
    {CommandKind::kListenerAdd, "listener add", {Field::kListener, Field::kBind, Field::kBackends},
     {Field::kScheduler, Field::kCheck}},
    {CommandKind::kListenerRemove, "listener remove", {Field::kListener}, {}},
    {CommandKind::kBackendAdd, "backend add", {Field::kListener, Field::kAddress}, {Field::kWeight, Field::kBackup}},
    {CommandKind::kBackendRemove, "backend remove", {Field::kListener, Field::kAddress}, {}},
    {CommandKind::kBackendSet, "backend set", {Field::kListener, Field::kAddress}, {Field::kWeight, Field::kState}},
    {CommandKind::kStats, "stats", {}, {Field::kListener}},
    {CommandKind::kVrrpStatus, "vrrp status", {}, {}},
    {CommandKind::kReload, "reload", {}, {}},
};

std::string_view field_name(Field field) { return kFieldNames[size_t(field)]; }

// Input quoted back in a message: cut, and with control bytes shown as '?'.
std::string echo(std::string_view text) {
    std::string out(text.substr(0, kMaxEcho));
    for (char& c : out)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
    if (text.size() > kMaxEcho) out += "...";
    return out;
}

const char* type_name(const json& value) {
    switch (value.type()) {
        case json::value_t::null: return "null";
        case json::value_t::object: return "an object";
        case json::value_t::array: return "an array";
        case json::value_t::string: return "a string";
        case json::value_t::boolean: return "a boolean";
        case json::value_t::number_integer:
        case json::value_t::number_unsigned: return "an integer";
        case json::value_t::number_float: return "a number with a fraction";
        default: return "something else";
    }
}

// Thrown inside this file only, caught by parse_request.
struct BadRequest {
    std::string message;
};

[[noreturn]] void fail(std::string message) { throw BadRequest{std::move(message)}; }

// Printable text that can sit in a config line: no control bytes, no '#'.
std::string get_config_text(const json& value, std::string_view what) {
    if (!value.is_string()) fail("'" + std::string(what) + "' must be a string, not " + type_name(value));
    const std::string& text = value.get_ref<const std::string&>();
    if (text.empty()) fail("'" + std::string(what) + "' is empty");
    for (char c : text)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f || c == '#')
            fail("'" + std::string(what) + "' contains a control character or '#': '" + echo(text) + "'");
    return text;
}

std::string get_listener_name(const json& value) {
    if (!value.is_string()) fail("'listener' must be a string, not " + std::string(type_name(value)));
    const std::string& name = value.get_ref<const std::string&>();
    if (!is_valid_listener_name(name))
        fail("bad listener name '" + echo(name) + "' (letters, digits, '-' and '_', 1 to " +
             std::to_string(kMaxNameLength) + " characters)");
    return name;
}

InetAddr get_address(const json& value, std::string_view what) {
    if (!value.is_string()) fail("'" + std::string(what) + "' must be a string, not " + type_name(value));
    const std::string& text = value.get_ref<const std::string&>();
    // InetAddr::parse gives the host to inet_pton as a C string, which stops at a NUL:
    // "10.0.0.1\u0000junk:80" would pass as 10.0.0.1:80 (found by tests/fuzz).
    const bool printable = std::none_of(text.begin(), text.end(), [](char c) {
        return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
    });
    auto address = printable ? InetAddr::parse(text) : std::nullopt;
    if (!address)
        fail("bad address '" + echo(text) + "' for " + std::string(what) +
             " (expected IPV4:PORT or [IPV6]:PORT, port 1..65535)");
    return *address;
}

uint32_t get_weight(const json& value) {
    if (value.is_number_unsigned() && value.get<uint64_t>() > UINT32_MAX) fail("'weight' is too large");
    if (!value.is_number_integer() || value.get<int64_t>() < 1)
        fail("'weight' must be a positive integer, not " + (value.is_number() ? value.dump() : type_name(value)));
    return uint32_t(value.get<int64_t>());
}

bool get_bool(const json& value, std::string_view what) {
    if (!value.is_boolean()) fail("'" + std::string(what) + "' must be true or false, not " + type_name(value));
    return value.get<bool>();
}

BackendSpec get_backend_spec(const json& value, size_t index) {
    const std::string where = "backends[" + std::to_string(index) + "]";
    if (!value.is_object()) fail(where + " must be an object, not " + type_name(value));
    BackendSpec spec;
    bool have_address = false;
    for (const auto& [key, item] : value.items()) {
        try {
            if (key == "address") {
                spec.address = get_address(item, "address");
                have_address = true;
            } else if (key == "weight") {
                spec.weight = get_weight(item);
            } else if (key == "backup") {
                spec.backup = get_bool(item, "backup");
            } else {
                fail("unknown field '" + echo(key) + "' (expected address, weight or backup)");
            }
        } catch (BadRequest& error) {
            fail(where + ": " + error.message);
        }
    }
    if (!have_address) fail(where + ": missing 'address'");
    return spec;
}

void set_field(Request& request, Field field, const json& value) {
    switch (field) {
        case Field::kListener: request.listener = get_listener_name(value); return;
        case Field::kBind: request.bind = get_address(value, "bind"); return;
        case Field::kScheduler: request.scheduler = get_config_text(value, "scheduler"); return;
        case Field::kCheck: request.check = get_config_text(value, "check"); return;
        case Field::kAddress: request.address = get_address(value, "address"); return;
        case Field::kWeight: request.weight = get_weight(value); return;
        case Field::kBackup: request.backup = get_bool(value, "backup"); return;
        case Field::kState: {
            if (!value.is_string()) fail("'state' must be a string, not " + std::string(type_name(value)));
            auto state = parse_backend_state(value.get_ref<const std::string&>());
            if (!state)
                fail("bad state '" + echo(value.get_ref<const std::string&>()) +
                     "' (expected ready, drain or maint)");
            request.state = *state;
            return;
        }
        case Field::kBackends: {
            if (!value.is_array()) fail("'backends' must be an array, not " + std::string(type_name(value)));
            if (value.empty()) fail("'backends' is empty: a listener needs at least one backend");
            if (value.size() > kMaxBackends) fail("'backends' lists more than " + std::to_string(kMaxBackends));
            for (size_t i = 0; i < value.size(); ++i) request.backends.push_back(get_backend_spec(value[i], i));
            return;
        }
    }
}

std::string expected_commands() {
    std::string text;
    for (size_t i = 0; i < std::size(kCommands); ++i) {
        if (i > 0) text += i + 1 == std::size(kCommands) ? " or " : ", ";
        text += kCommands[i].name;
    }
    return text;
}

Request build_request(const json& document) {
    if (!document.is_object()) fail("a request must be a JSON object, not " + std::string(type_name(document)));
    auto command = document.find("command");
    if (command == document.end()) fail("missing 'command'");
    if (!command->is_string()) fail("'command' must be a string, not " + std::string(type_name(*command)));
    const std::string& name = command->get_ref<const std::string&>();
    const CommandSpec* spec = nullptr;
    for (const CommandSpec& candidate : kCommands)
        if (candidate.name == name) spec = &candidate;
    if (spec == nullptr) fail("unknown command '" + echo(name) + "' (expected " + expected_commands() + ")");

    Request request;
    request.kind = spec->kind;
    const std::string prefix = std::string(spec->name) + ": ";
    try {
        for (const auto& [key, value] : document.items()) {
            if (key == "command") continue;
            std::optional<Field> field;
            for (Field candidate : spec->required)
                if (field_name(candidate) == key) field = candidate;
            for (Field candidate : spec->optional)
                if (field_name(candidate) == key) field = candidate;
            if (!field) fail("unknown field '" + echo(key) + "'");
            set_field(request, *field, value);
        }
        for (Field required : spec->required)
            if (!document.contains(field_name(required))) fail("missing '" + std::string(field_name(required)) + "'");
        if (spec->kind == CommandKind::kBackendSet && !request.weight && !request.state)
            fail("nothing to change (give 'weight', 'state' or both)");
    } catch (BadRequest& error) {
        fail(prefix + error.message);
    }
    return request;
}

// nlohmann's messages start with "[json.exception.parse_error.101] ".
std::string json_error_text(const std::exception& error) {
    std::string_view text = error.what();
    if (text.starts_with("[json.exception.")) {
        size_t end = text.find("] ");
        if (end != std::string_view::npos) text.remove_prefix(end + 2);
    }
    return std::string(text.substr(0, 200));
}

struct TooDeep {};

}  // namespace

std::string_view command_name(CommandKind kind) {
    for (const CommandSpec& spec : kCommands)
        if (spec.kind == kind) return spec.name;
    return "?";
}

bool is_valid_listener_name(std::string_view name) {
    return !name.empty() && name.size() <= kMaxNameLength && std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    });
}

ParsedRequest parse_request(std::string_view line) {
    ParsedRequest parsed;
    if (line.ends_with('\r')) line.remove_suffix(1);
    if (line.size() > kMaxRequestBytes) {
        parsed.error = "request longer than " + std::to_string(kMaxRequestBytes) + " bytes";
        return parsed;
    }
    if (line.find_first_not_of(" \t") == std::string_view::npos) {
        parsed.error = "empty request (expected one JSON object per line)";
        return parsed;
    }
    for (size_t i = 0; i < line.size(); ++i) {
        unsigned char c = static_cast<unsigned char>(line[i]);
        if ((c < 0x20 && c != '\t') || c == 0x7f) {
            char hex[8];
            std::snprintf(hex, sizeof(hex), "0x%02x", c);
            parsed.error = "request is not text: byte " + std::string(hex) + " at offset " + std::to_string(i);
            return parsed;
        }
    }
    json document;
    try {
        // The callback bounds nesting before nlohmann builds anything deep.
        json::parser_callback_t depth_guard = [](int depth, json::parse_event_t, json&) {
            if (depth > kMaxDepth) throw TooDeep{};
            return true;
        };
        document = json::parse(line.begin(), line.end(), depth_guard);
    } catch (const TooDeep&) {
        parsed.error = "request nested deeper than " + std::to_string(kMaxDepth) + " levels";
        return parsed;
    } catch (const json::exception& error) {
        parsed.error = "not valid JSON: " + json_error_text(error);
        return parsed;
    }
    try {
        parsed.request = build_request(document);
    } catch (const BadRequest& error) {
        parsed.error = error.message;
    } catch (const json::exception& error) {
        parsed.error = "bad request: " + json_error_text(error);
    }
    return parsed;
}

std::string format_request(const Request& request) {
    json out = json::object();
    out["command"] = std::string(command_name(request.kind));
    if (!request.listener.empty()) out["listener"] = request.listener;
    if (request.bind) out["bind"] = request.bind->to_string();
    if (request.scheduler) out["scheduler"] = *request.scheduler;
    if (request.check) out["check"] = *request.check;
    if (!request.backends.empty()) {
        json backends = json::array();
        for (const BackendSpec& spec : request.backends) {
            json backend = {{"address", spec.address.to_string()}};
            if (spec.weight) backend["weight"] = *spec.weight;
            if (spec.backup) backend["backup"] = true;
            backends.push_back(std::move(backend));
        }
        out["backends"] = std::move(backends);
    }
    if (request.address) out["address"] = request.address->to_string();
    if (request.weight) out["weight"] = *request.weight;
    if (request.backup) out["backup"] = true;
    if (request.state) out["state"] = std::string(format_backend_state(*request.state));
    return out.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

std::string format_ok(nlohmann::json body) {
    // "ok" first, for people reading responses; the body keeps nlohmann's key order.
    std::string out = "{\"ok\":true";
    if (body.is_object() && !body.empty()) {
        body.erase("ok");
        std::string rest = body.dump(-1, ' ', false, json::error_handler_t::replace);
        if (rest.size() > 2) out += "," + rest.substr(1, rest.size() - 2);
    }
    return out + "}\n";
}

std::string format_error(std::string_view message) {
    return "{\"ok\":false,\"error\":" +
           json(std::string(message)).dump(-1, ' ', false, json::error_handler_t::replace) + "}\n";
}

}  // namespace ringlb
