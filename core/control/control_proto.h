// The control socket's wire format (DESIGN §7): one JSON request per line in,
// one JSON response per line out. Pure: parses and formats only; what each
// command does is control_commands, the socket is control_server.
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/inet_addr.h"
#include "core/base/inet_prefix.h"
#include "core/base/result.h"
#include "core/config/config.h"

namespace ringlb {

// A request line longer than this is refused (and the server closes the client).
inline constexpr size_t kMaxRequestBytes = 64 * 1024;

enum class CommandKind {
    kStatus, kListenerList, kListenerShow, kListenerAdd, kListenerRemove,
    kBackendAdd, kBackendRemove, kBackendSet, kStats, kVrrpStatus, kReload,
    kListenerSet,
};

// "listener add" for kListenerAdd: the wire name and ringlbctl's words.
std::string_view command_name(CommandKind kind);

// One backend of "listener add".
struct BackendSpec {
    InetAddr address;
    std::optional<uint32_t> weight;
    bool backup = false;

    bool operator==(const BackendSpec&) const = default;
};

// A validated request: only the fields its command takes are set. Text fields
// (scheduler, check) are checked to be printable and free of '#', so that they
// can go into a config line; their meaning is checked by the config parser.
struct Request {
    CommandKind kind = CommandKind::kStatus;
    std::string listener;                      // listener show/add/remove, backend *, stats (optional)
    std::optional<InetAddr> bind;              // listener add
    std::optional<std::string> scheduler;      // listener add
    std::optional<std::string> check;          // listener add
    std::vector<BackendSpec> backends;         // listener add
    std::optional<InetAddr> address;           // backend add/remove/set
    std::optional<uint32_t> weight;            // backend add/set
    bool backup = false;                       // backend add
    std::optional<BackendAdminState> state;    // backend add/set
    // listener set: the new lists, each replacing the listener's (empty: cleared).
    std::optional<std::vector<InetPrefix>> allow;
    std::optional<std::vector<InetPrefix>> deny;

    bool operator==(const Request&) const = default;
};

// Parses one request line (without its '\n'; a trailing '\r' is ignored).
// Never throws: anything malformed (too long, not text, not JSON, wrong
// types, unknown command or field) fails with a reason naming what is wrong.
Result<Request> parse_request(std::string_view line);

// The request as one JSON line, '\n' included: what ringlbctl sends.
std::string format_request(const Request& request);

// Response lines, '\n' included. format_ok adds "ok": true to `body` (an object).
std::string format_ok(nlohmann::json body = nlohmann::json::object());
std::string format_error(std::string_view message);

// Listener names as the config file allows them in [listener.NAME].
bool is_valid_listener_name(std::string_view name);

}  // namespace ringlb
