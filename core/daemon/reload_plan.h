// What a reload does about each setting that changed (issue 18 item 2): applied live,
// or not applied because only a restart can change it, or (a VRRP instance whose
// interface or vrid changed) the instance stopped and started again. Pure: the daemon
// computes the plan before it applies a config, then logs it and returns it to
// `ringlbctl reload`; the VRRP thread decides its own steps with the same rule
// (vrrp/instance_reload_plan.h).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/config/config.h"

namespace ringlb {

enum class ReloadOutcome {
    kApplied,            // in force now
    kNeedsRestart,       // not applied: the running value stays until ringlbd restarts
    kInstanceRestarted,  // a VRRP instance stopped (as on a graceful stop) and started in BACKUP
};

// "applied", "needs_restart", "restarted": the JSON values.
const char* to_label(ReloadOutcome outcome);

struct ReloadItem {
    std::string setting;  // "global.workers", "vrrp.vip1.priority", "listener.web" (a whole section)
    std::string from;     // as written in the file; "" = not set, or the section did not exist
    std::string to;       // "" = not set (the default), or the section is gone
    ReloadOutcome outcome = ReloadOutcome::kApplied;
    std::string detail;   // what happened, for the operator
    friend bool operator==(const ReloadItem&, const ReloadItem&) = default;
};

struct ReloadPlan {
    std::vector<ReloadItem> items;
    size_t count(ReloadOutcome outcome) const;
};

// The settings that only a restart can change, with the values this process runs with
// (taken from the config it started with): every worker owns a listening socket per
// listener and the control thread owns its sockets.
struct RestartOnlySettings {
    int workers = 1;  // resolved: auto is already the CPU count
    GlobalConfig started;  // the [global] section ringlbd started with
};

// The plan for going from `running` (the config in force) to `next`. Settings in
// RestartOnlySettings are compared with the values the process runs with, not with
// `running`: a workers change that needs a restart is reported at every reload until
// ringlbd restarts or the file says the running value again.
ReloadPlan plan_reload(const Config& running, const Config& next, const RestartOnlySettings& fixed);

// {"setting":..,"from":..,"to":..,"result":..,"detail":..} per item, in order.
nlohmann::json reload_plan_json(const ReloadPlan& plan);

// One log line per item: "global.workers 1 -> 2: needs a restart (...)".
std::vector<std::string> reload_plan_lines(const ReloadPlan& plan);

}  // namespace ringlb
