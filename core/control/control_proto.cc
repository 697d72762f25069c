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

enum class Field { kListener, kBind, kScheduler, kCheck, kBackends, kAddress, kWeight, kBackup, kState, kAllow, kDeny };

constexpr std::array<std::string_view, 11> kFieldNames = {"listener", "bind",   "scheduler", "check", "backends",
                                                          "address",  "weight", "backup",    "state", "allow",
                                                          "deny"};

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
    {CommandKind::kBackendAdd, "backend add", {Field::kListener, Field::kAddress},
     {Field::kWeight, Field::kBackup, Field::kState}},
    {CommandKind::kBackendRemove, "backend remove", {Field::kListener, Field::kAddress}, {}},
    {CommandKind::kBackendSet, "backend set", {Field::kListener, Field::kAddress}, {Field::kWeight, Field::kState}},
    {CommandKind::kStats, "stats", {}, {Field::kListener}},
    {CommandKind::kVrrpStatus, "vrrp status", {}, {}},
    {CommandKind::kReload, "reload", {}, {}},
    {CommandKind::kListenerSet, "listener set", {Field::kListener}, {Field::kAllow, Field::kDeny}},
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

std::string type_error(std::string_view what, const json& value, std::string_view expected) {
    return "'" + std::string(what) + "' must be " + std::string(expected) + ", not " + type_name(value);
}

// Printable text that can sit in a config line: no control bytes, no '#'.
Result<std::string> get_config_text(const json& value, std::string_view what) {
    if (!value.is_string()) return fail(type_error(what, value, "a string"));
    const std::string& text = value.get_ref<const std::string&>();
    if (text.empty()) return fail("'" + std::string(what) + "' is empty");
    for (char c : text)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f || c == '#')
            return fail("'" + std::string(what) + "' contains a control character or '#': '" + echo(text) + "'");
    return text;
}

Result<std::string> get_listener_name(const json& value) {
    if (!value.is_string()) return fail(type_error("listener", value, "a string"));
    const std::string& name = value.get_ref<const std::string&>();
    if (!is_valid_listener_name(name))
        return fail("bad listener name '" + echo(name) + "' (letters, digits, '-' and '_', 1 to " +
                    std::to_string(kMaxNameLength) + " characters)");
    return name;
}

Result<InetAddr> get_address(const json& value, std::string_view what) {
    if (!value.is_string()) return fail(type_error(what, value, "a string"));
    const std::string& text = value.get_ref<const std::string&>();
    // InetAddr::parse gives the host to inet_pton as a C string, which stops at a NUL:
    // "10.0.0.1\u0000junk:80" would pass as 10.0.0.1:80 (found by tests/fuzz).
    const bool printable = std::none_of(text.begin(), text.end(), [](char c) {
        return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
    });
    auto address = printable ? InetAddr::parse(text) : std::nullopt;
    if (!address)
        return fail("bad address '" + echo(text) + "' for " + std::string(what) +
                    " (expected IPV4:PORT or [IPV6]:PORT, port 1..65535)");
    return *address;
}

Result<uint32_t> get_weight(const json& value) {
    if (value.is_number_unsigned() && value.get<uint64_t>() > UINT32_MAX) return fail("'weight' is too large");
    if (!value.is_number_integer() || value.get<int64_t>() < 1)
        return fail("'weight' must be a positive integer, not " +
                    (value.is_number() ? value.dump() : std::string(type_name(value))));
    return uint32_t(value.get<int64_t>());
}

Result<bool> get_bool(const json& value, std::string_view what) {
    if (!value.is_boolean()) return fail(type_error(what, value, "true or false"));
    return value.get<bool>();
}

Result<BackendAdminState> get_state(const json& value) {
    if (!value.is_string()) return fail(type_error("state", value, "a string"));
    const std::string& text = value.get_ref<const std::string&>();
    auto state = parse_backend_state(text);
    if (!state) return fail("bad state '" + echo(text) + "' (expected ready, drain or maint)");
    return *state;
}

// "10.0.0.0/8, 2001:db8::/32"; "" clears the list.
Result<std::vector<InetPrefix>> get_prefixes(const json& value, std::string_view what) {
    if (!value.is_string()) return fail(type_error(what, value, "a string of prefixes"));
    Result<std::vector<InetPrefix>> prefixes = parse_prefix_list(value.get_ref<const std::string&>());
    if (!prefixes) return fail("bad '" + std::string(what) + "': " + prefixes.error());
    return prefixes;
}

Result<void> set_backend_field(BackendSpec& spec, const std::string& key, const json& item) {
    if (key == "address") return store_into(spec.address, get_address(item, "address"));
    if (key == "weight") return store_into(spec.weight, get_weight(item));
    if (key == "backup") return store_into(spec.backup, get_bool(item, "backup"));
    return fail("unknown field '" + echo(key) + "' (expected address, weight or backup)");
}

Result<BackendSpec> get_backend_spec(const json& value, size_t index) {
    const std::string where = "backends[" + std::to_string(index) + "]";
    if (!value.is_object()) return fail(where + " must be an object, not " + type_name(value));
    BackendSpec spec;
    for (const auto& [key, item] : value.items())
        if (Result<void> set = set_backend_field(spec, key, item); !set) return fail(where + ": " + set.error());
    if (!value.contains("address")) return fail(where + ": missing 'address'");
    return spec;
}

Result<void> set_backends(Request& request, const json& value) {
    if (!value.is_array()) return fail(type_error("backends", value, "an array"));
    if (value.empty()) return fail("'backends' is empty: a listener needs at least one backend");
    if (value.size() > kMaxBackends) return fail("'backends' lists more than " + std::to_string(kMaxBackends));
    for (size_t i = 0; i < value.size(); ++i) {
        Result<BackendSpec> spec = get_backend_spec(value[i], i);
        if (!spec) return fail(spec.error());
        request.backends.push_back(std::move(*spec));
    }
    return {};
}

Result<void> set_field(Request& request, Field field, const json& value) {
    switch (field) {
        case Field::kListener: return store_into(request.listener, get_listener_name(value));
        case Field::kBind: return store_into(request.bind, get_address(value, "bind"));
        case Field::kScheduler: return store_into(request.scheduler, get_config_text(value, "scheduler"));
        case Field::kCheck: return store_into(request.check, get_config_text(value, "check"));
        case Field::kAddress: return store_into(request.address, get_address(value, "address"));
        case Field::kWeight: return store_into(request.weight, get_weight(value));
        case Field::kBackup: return store_into(request.backup, get_bool(value, "backup"));
        case Field::kState: return store_into(request.state, get_state(value));
        case Field::kBackends: return set_backends(request, value);
        case Field::kAllow: return store_into(request.allow, get_prefixes(value, "allow"));
        case Field::kDeny: return store_into(request.deny, get_prefixes(value, "deny"));
    }
    return fail("unknown field");
}

std::string expected_commands() {
    std::string text;
    for (size_t i = 0; i < std::size(kCommands); ++i) {
        if (i > 0) text += i + 1 == std::size(kCommands) ? " or " : ", ";
        text += kCommands[i].name;
    }
    return text;
}

const CommandSpec* find_command(std::string_view name) {
    for (const CommandSpec& candidate : kCommands)
        if (candidate.name == name) return &candidate;
    return nullptr;
}

std::optional<Field> find_field(const CommandSpec& spec, std::string_view key) {
    for (std::initializer_list<Field> fields : {spec.required, spec.optional})
        for (Field candidate : fields)
            if (field_name(candidate) == key) return candidate;
    return std::nullopt;
}

// The fields of `document` other than "command", as `spec` allows them.
Result<void> set_fields(Request& request, const CommandSpec& spec, const json& document) {
    for (const auto& [key, value] : document.items()) {
        if (key == "command") continue;
        std::optional<Field> field = find_field(spec, key);
        if (!field) return fail("unknown field '" + echo(key) + "'");
        if (Result<void> set = set_field(request, *field, value); !set) return set;
    }
    for (Field required : spec.required)
        if (!document.contains(field_name(required))) return fail("missing '" + std::string(field_name(required)) + "'");
    if (spec.kind == CommandKind::kBackendSet && !request.weight && !request.state)
        return fail("nothing to change (give 'weight', 'state' or both)");
    if (spec.kind == CommandKind::kListenerSet && !request.allow && !request.deny)
        return fail("nothing to change (give 'allow', 'deny' or both)");
    return {};
}

Result<Request> build_request(const json& document) {
    if (!document.is_object()) return fail("a request must be a JSON object, not " + std::string(type_name(document)));
    auto command = document.find("command");
    if (command == document.end()) return fail("missing 'command'");
    if (!command->is_string()) return fail(type_error("command", *command, "a string"));
    const std::string& name = command->get_ref<const std::string&>();
    const CommandSpec* spec = find_command(name);
    if (spec == nullptr) return fail("unknown command '" + echo(name) + "' (expected " + expected_commands() + ")");

    Request request;
    request.kind = spec->kind;
    if (Result<void> set = set_fields(request, *spec, document); !set)
        return fail(std::string(spec->name) + ": " + set.error());
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

// Line-level checks before any JSON parsing: length, blank, bytes that are not text.
Result<void> check_line(std::string_view line) {
    if (line.size() > kMaxRequestBytes) return fail("request longer than " + std::to_string(kMaxRequestBytes) + " bytes");
    if (line.find_first_not_of(" \t") == std::string_view::npos)
        return fail("empty request (expected one JSON object per line)");
    for (size_t i = 0; i < line.size(); ++i) {
        unsigned char c = static_cast<unsigned char>(line[i]);
        if ((c < 0x20 && c != '\t') || c == 0x7f) {
            char hex[8];
            std::snprintf(hex, sizeof(hex), "0x%02x", c);
            return fail("request is not text: byte " + std::string(hex) + " at offset " + std::to_string(i));
        }
    }
    return {};
}

// Thrown by parse_request's depth guard to stop nlohmann's parser; caught there.
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

Result<Request> parse_request(std::string_view line) {
    if (line.ends_with('\r')) line.remove_suffix(1);
    if (Result<void> checked = check_line(line); !checked) return fail(checked.error());
    // nlohmann reports malformed JSON by throwing: this is the one place where
    // untrusted text meets it, so its exceptions end here.
    json document;
    try {
        // The callback bounds nesting before nlohmann builds anything deep; throwing
        // is the only way to stop its parser.
        json::parser_callback_t depth_guard = [](int depth, json::parse_event_t, json&) {
            if (depth > kMaxDepth) throw TooDeep{};
            return true;
        };
        document = json::parse(line.begin(), line.end(), depth_guard);
    } catch (const TooDeep&) {
        return fail("request nested deeper than " + std::to_string(kMaxDepth) + " levels");
    } catch (const json::exception& error) {
        return fail("not valid JSON: " + json_error_text(error));
    }
    try {
        return build_request(document);
    } catch (const json::exception& error) {
        return fail("bad request: " + json_error_text(error));
    }
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
    if (request.allow) out["allow"] = format_prefix_list(*request.allow);
    if (request.deny) out["deny"] = format_prefix_list(*request.deny);
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
