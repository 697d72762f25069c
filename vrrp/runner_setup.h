// Start-up of the VRRP runner's instances, on the thread that calls VrrpRunner::start:
// VIPs a crashed run left on the interfaces come off, each instance gets its source
// address, raw socket and interface facts. Every failure here is a start-up failure and
// throws, naming the instance and what to fix.
#pragma once

#include <memory>
#include <vector>

#include "vrrp/held_vips_file.h"
#include "vrrp/runner_instance.h"
#include "vrrp/vip_netlink.h"

namespace ringlb {

// The instances of `configs`, in that order, ready for on_start. Throws
// std::runtime_error when an interface is missing or has no address to send from,
// when a VIP cannot be removed (no CAP_NET_ADMIN) or a socket cannot be opened (no
// CAP_NET_RAW).
std::vector<std::unique_ptr<RunnerInstance>> open_instances(const std::vector<VrrpInstanceConfig>& configs,
                                                            NetlinkRoute& netlink);

// What remove_recorded_vips did: the instances of which it removed at least one VIP,
// and whether everything listed is now off its interface (or the interface is gone).
struct RecordedRemoval {
    std::vector<std::string> released;
    bool complete = true;
};

// Removes from each listed interface the VIPs `held` says ringlbd added (the state file
// of a run that did not stop cleanly) that are still there, and nothing else. An
// interface that is gone is skipped; every failure is logged and the rest is still
// tried. `who` starts each log line ("vrrp" at start-up, "ringlbd --release").
RecordedRemoval remove_recorded_vips(NetlinkRoute& netlink, const std::vector<HeldInstance>& held,
                                     const std::string& who);

}  // namespace ringlb
