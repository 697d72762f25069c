// Start-up of the VRRP runner's instances, on the thread that calls VrrpRunner::start:
// VIPs a crashed run left on the interfaces come off, each instance gets its source
// address, raw socket and interface facts. Every failure here is a start-up failure and
// throws, naming the instance and what to fix.
#pragma once

#include <memory>
#include <span>
#include <vector>

#include "vrrp/held_vips_file.h"
#include "vrrp/runner_instance.h"
#include "vrrp/vip_netlink.h"

namespace ringlb {

// The instances of `configs`, in that order, ready for on_start. Throws
// std::runtime_error when an interface is missing or has no address to send from,
// when a VIP cannot be removed (no CAP_NET_ADMIN) or a socket cannot be opened (no
// CAP_NET_RAW).
// The pieces, for a reload that adds instances (runner_reconfigure.cc); each throws
// std::runtime_error naming the instance. The interface as it is now:
LinkInfo find_link(const VrrpInstanceConfig& config, NetlinkRoute& netlink);
// The instance's VIPs that an earlier run left on the interface come off:
void remove_stale_vips(const VrrpInstanceConfig& config, int ifindex, NetlinkRoute& netlink);
// Its source address (never one of `not_sources`), raw socket and interface facts:
std::unique_ptr<RunnerInstance> open_instance(const VrrpInstanceConfig& config, const LinkInfo& link,
                                              std::span<const Ipv4Prefix> not_sources, NetlinkRoute& netlink);

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
