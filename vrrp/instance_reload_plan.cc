// Which VRRP instances a reload keeps, updates, restarts, removes or adds; see
// instance_reload_plan.h.
#include "vrrp/instance_reload_plan.h"

namespace ringlb {
namespace {

std::optional<size_t> find_by_name(const std::vector<VrrpInstanceConfig>& configs, const std::string& name) {
    for (size_t i = 0; i < configs.size(); ++i)
        if (configs[i].name == name) return i;
    return std::nullopt;
}

// Compared without the file lines kept for messages: moving a section or a line in
// the file changes nothing.
bool same_settings(VrrpInstanceConfig a, const VrrpInstanceConfig& b) {
    a.line = b.line;
    a.vip_lines = b.vip_lines;
    a.notify_line = b.notify_line;
    a.notify_user_line = b.notify_user_line;
    return a == b;
}

}  // namespace

bool instance_needs_restart(const VrrpInstanceConfig& before, const VrrpInstanceConfig& after) {
    return before.interface != after.interface || before.vrid != after.vrid;
}

std::vector<InstanceReloadStep> plan_instance_reload(const std::vector<VrrpInstanceConfig>& running,
                                                     const std::vector<VrrpInstanceConfig>& next) {
    std::vector<InstanceReloadStep> removals;
    std::vector<InstanceReloadStep> rest;
    for (size_t i = 0; i < running.size(); ++i)
        if (!find_by_name(next, running[i].name))
            removals.push_back({InstanceReload::kRemove, running[i].name, i, std::nullopt});
    std::vector<InstanceReloadStep> additions;
    for (size_t n = 0; n < next.size(); ++n) {
        const std::optional<size_t> r = find_by_name(running, next[n].name);
        if (!r) {
            additions.push_back({InstanceReload::kAdd, next[n].name, std::nullopt, n});
            continue;
        }
        InstanceReload kind = InstanceReload::kKeep;
        if (instance_needs_restart(running[*r], next[n])) kind = InstanceReload::kRestart;
        else if (!same_settings(running[*r], next[n])) kind = InstanceReload::kUpdate;
        // A restart stops with the removals and starts with the additions.
        (kind == InstanceReload::kRestart ? removals : rest).push_back({kind, next[n].name, *r, n});
    }
    std::vector<InstanceReloadStep> steps = std::move(removals);
    steps.insert(steps.end(), rest.begin(), rest.end());
    steps.insert(steps.end(), additions.begin(), additions.end());
    return steps;
}

}  // namespace ringlb
