// What a reload does to each VRRP instance, decided from the running instances'
// configuration and the new one: kept as it is, updated in place (every key but
// interface and vrid takes effect live), restarted (interface or vrid changed: a
// different virtual router, so it stops as on a graceful stop and starts again in
// BACKUP), removed, or added. Pure: the VRRP thread carries the plan out
// (runner_reconfigure.cc) and the daemon reports it (core/daemon/reload_plan.h).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "core/config/vrrp_config.h"

namespace ringlb {

enum class InstanceReload {
    kKeep,     // nothing changed
    kUpdate,   // same interface and vrid, other keys changed: applied live
    kRestart,  // interface or vrid changed: removal + addition
    kRemove,   // the section is gone: graceful stop of this instance
    kAdd,      // a new section: starts in BACKUP
};

// One instance's fate. `running` indexes the running list, `next` the new one.
struct InstanceReloadStep {
    InstanceReload kind = InstanceReload::kKeep;
    std::string name;
    std::optional<size_t> running;  // unset for kAdd
    std::optional<size_t> next;     // unset for kRemove
    friend bool operator==(const InstanceReloadStep&, const InstanceReloadStep&) = default;
};

// True when `before` and `after` are not the same virtual router: the interface or
// the VRID changed.
bool instance_needs_restart(const VrrpInstanceConfig& before, const VrrpInstanceConfig& after);

// Instances are matched by name. The steps come in the order they must be carried out:
// every removal (and the stopping half of every restart) first, so that a VIP or a
// (interface, vrid) pair moving between instances is free before it is taken again;
// then the kept and updated instances, then the additions, both in `next` order.
// `running` holds the configurations as they were configured (primary_address 0
// unless source_address was given), so that they compare with `next`.
std::vector<InstanceReloadStep> plan_instance_reload(const std::vector<VrrpInstanceConfig>& running,
                                                     const std::vector<VrrpInstanceConfig>& next);

}  // namespace ringlb
