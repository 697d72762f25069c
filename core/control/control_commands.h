// What each control request does (DESIGN §7): reads answer from the running
// config and snapshot; changes edit a copy of the config, which the daemon
// validates, applies and persists (ConfigStore::update). No sockets here:
// control_server feeds request lines in and writes the response lines out.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/base/result.h"
#include "core/config/config.h"
#include "core/config/config_store.h"
#include "core/control/control_proto.h"
#include "core/runtime/runtime.h"

namespace ringlb {

// The daemon as the commands see it. Every member is required, is called on
// the control thread, and must be thread-safe with respect to the daemon's
// other threads.
struct ControlContext {
    std::function<std::shared_ptr<const Config>()> config;              // the running config
    std::function<std::shared_ptr<const RuntimeSnapshot>()> snapshot;   // null while stopping
    std::function<nlohmann::json()> status;                            // the body of "status"
    // Edits, validates, applies and persists, or fails with why the change was refused.
    std::function<Result<void>(const ConfigStore::Change&)> update;
    // Fails with every error; on success {"changes":[...], "needs_restart":N}, what
    // became of each changed setting (core/daemon/reload_plan.h).
    std::function<Result<nlohmann::json>()> reload;
    std::function<nlohmann::json()> vrrp_status;                       // an array, one object per instance
};

// One request line in, one response line ('\n' included) out. Never throws.
std::string handle_control_line(std::string_view line, const ControlContext& context);

// The response line for a parsed request.
std::string execute_request(const Request& request, const ControlContext& context);

}  // namespace ringlb
