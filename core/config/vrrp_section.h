// The [vrrp.NAME] sections (DESIGN §9): one VRRPv3 instance each. Pure: host facts
// (does the interface exist, is the notify script executable) are checked by
// vrrp/vrrp_check.h, not here.
#pragma once

#include <span>

#include "core/config/config_section.h"

namespace ringlb {

// Appends each instance to config.vrrp in file order. Runs after the listeners, so
// that track_listener can be checked against them. Reported besides bad values: a
// missing interface, vrid or vip; a repeated name; an (interface, vrid) pair or a
// VIP already used by an earlier instance; a VIP that is also this host's
// source_address or a unicast peer. A SectionParser (config_section.h).
void parse_vrrp_sections(std::span<const ConfigSection> sections, Config& config, ConfigDiagnostics& diag);

}  // namespace ringlb
