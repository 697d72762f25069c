// Applied, needs a restart, or restarted, for every setting a reload changes; see
// reload_plan.h.
#include "core/daemon/reload_plan.h"

#include <algorithm>

#include "core/config/config_diff.h"
#include "vrrp/instance_reload_plan.h"

namespace ringlb {
namespace {

using Kind = ConfigKeyChange::Kind;

const VrrpInstanceConfig* find_instance(const Config& config, const std::string& name) {
    for (const VrrpInstanceConfig& instance : config.vrrp)
        if (instance.name == name) return &instance;
    return nullptr;
}

std::string section_name(const std::string& header) { return header.substr(header.find('.') + 1); }

std::string shown(const std::string& value) { return value.empty() ? "(default)" : value; }

// [global] keys that cannot change while ringlbd runs, and why.
std::optional<std::string> restart_reason(const std::string& key, const RestartOnlySettings& fixed) {
    if (key == "workers")
        return "not applied: ringlbd keeps running " + std::to_string(fixed.workers) +
               " worker(s) (each owns a socket per listener) until it restarts";
    if (key == "control_socket")
        return "not applied: the control socket stays " + fixed.started.control_socket + " until ringlbd restarts";
    if (key == "metrics")
        return "not applied: the metrics endpoint stays " +
               (fixed.started.metrics ? fixed.started.metrics->to_string() : std::string("off")) +
               " until ringlbd restarts";
    return std::nullopt;
}

ReloadItem global_item(const ConfigKeyChange& change, const RestartOnlySettings& fixed) {
    ReloadItem item{"global." + change.key, change.from, change.to, ReloadOutcome::kApplied, "applied"};
    if (auto reason = restart_reason(change.key, fixed)) {
        item.outcome = ReloadOutcome::kNeedsRestart;
        item.detail = *reason;
    } else if (change.key == "log_level") {
        item.detail = "applied: logging at " + shown(change.to) + " now";
    } else if (change.key == "access_log") {
        item.detail = change.to.empty() ? "applied: access log off" : "applied: access log reopened";
    } else if (change.key == "shutdown_grace") {
        item.detail = "applied: the next stop waits up to " + shown(change.to);
    }
    return item;
}

ReloadItem listener_item(const ConfigKeyChange& change) {
    const std::string name = section_name(change.section);
    switch (change.kind) {
        case Kind::kSectionAdded:
            return {change.section, "", "added", ReloadOutcome::kApplied, "applied: listener " + name + " bound"};
        case Kind::kSectionRemoved:
            return {change.section, "present", "", ReloadOutcome::kApplied,
                    "applied: listener " + name + " stops accepting; its connections finish"};
        case Kind::kKeyChanged: break;
    }
    ReloadItem item{change.section + "." + change.key, change.from, change.to, ReloadOutcome::kApplied,
                    "applied to new connections"};
    if (change.key == "bind") item.detail = "applied: bound on " + change.to + "; the old address stops accepting";
    return item;
}

ReloadItem vrrp_item(const ConfigKeyChange& change, const Config& running, const Config& next) {
    const std::string name = section_name(change.section);
    switch (change.kind) {
        case Kind::kSectionAdded:
            return {change.section, "", "added", ReloadOutcome::kApplied,
                    "applied: instance " + name + " started in BACKUP"};
        case Kind::kSectionRemoved:
            return {change.section, "present", "", ReloadOutcome::kApplied,
                    "applied: instance " + name + " stopped (priority 0 sent if it was master, its VIPs removed)"};
        case Kind::kKeyChanged: break;
    }
    ReloadItem item{change.section + "." + change.key, change.from, change.to, ReloadOutcome::kApplied, "applied"};
    const VrrpInstanceConfig* before = find_instance(running, name);
    const VrrpInstanceConfig* after = find_instance(next, name);
    if (before && after && instance_needs_restart(*before, *after)) {
        item.outcome = ReloadOutcome::kInstanceRestarted;
        item.detail = "instance " + name + " restarted (interface or vrid changed): stopped as on a graceful stop "
                      "(priority 0 sent if it was master, its VIPs removed) and started again in BACKUP";
        return item;
    }
    if (change.key == "vip") item.detail = "applied: a master adds or removes the addresses now, a backup takes them";
    else if (change.key == "priority") item.detail = "applied: advertised at once; the pair re-elects as RFC 9568 says";
    return item;
}

}  // namespace

const char* to_label(ReloadOutcome outcome) {
    switch (outcome) {
        case ReloadOutcome::kApplied: return "applied";
        case ReloadOutcome::kNeedsRestart: return "needs_restart";
        case ReloadOutcome::kInstanceRestarted: return "restarted";
    }
    return "?";
}

size_t ReloadPlan::count(ReloadOutcome outcome) const {
    return size_t(std::count_if(items.begin(), items.end(), [&](const ReloadItem& item) { return item.outcome == outcome; }));
}

ReloadPlan plan_reload(const Config& running, const Config& next, const RestartOnlySettings& fixed) {
    // The restart-only settings as the process runs them, not as the last file said.
    Config before = running;
    before.global.control_socket = fixed.started.control_socket;
    before.global.metrics = fixed.started.metrics;
    before.global.workers = fixed.started.workers;
    // "auto" at start and the CPU count in the file now (or the reverse) is no change.
    if (next.global.workers == fixed.workers || (next.global.workers == 0 && fixed.started.workers == 0))
        before.global.workers = next.global.workers;
    ReloadPlan plan;
    for (const ConfigKeyChange& change : diff_configs(before, next)) {
        if (change.section == "global") plan.items.push_back(global_item(change, fixed));
        else if (change.section.starts_with("listener.")) plan.items.push_back(listener_item(change));
        else if (change.section.starts_with("vrrp.")) plan.items.push_back(vrrp_item(change, running, next));
        else plan.items.push_back({change.section + (change.key.empty() ? "" : "." + change.key), change.from,
                                   change.to, ReloadOutcome::kApplied, "applied"});
    }
    return plan;
}

nlohmann::json reload_plan_json(const ReloadPlan& plan) {
    nlohmann::json items = nlohmann::json::array();
    for (const ReloadItem& item : plan.items)
        items.push_back({{"setting", item.setting},
                         {"from", item.from},
                         {"to", item.to},
                         {"result", to_label(item.outcome)},
                         {"detail", item.detail}});
    return items;
}

std::vector<std::string> reload_plan_lines(const ReloadPlan& plan) {
    std::vector<std::string> lines;
    for (const ReloadItem& item : plan.items)
        lines.push_back(item.setting + " " + shown(item.from) + " -> " + shown(item.to) + ": " + item.detail);
    return lines;
}

}  // namespace ringlb
