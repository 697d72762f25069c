// Checks of a VRRP configuration against this host, for `ringlbd --check` and start-up:
// what config_parse cannot know without looking (interfaces, addresses, scripts).
#pragma once

#include <vector>

#include "core/config/config.h"
#include "core/config/config_diagnostics.h"

namespace ringlb {

// For each [vrrp.NAME]: its interface exists and has an IPv4 address to send adverts
// from (source_address, when set, must be one of the interface's addresses). Errors
// carry Config::source_file and the line of the section header.
std::vector<ConfigError> check_vrrp_interfaces(const Config& config);

// For each [vrrp.NAME]: none of its VIPs is already an address of this host that
// ringlbd did not add (static_vips.h), on any interface: ringlbd would remove it when
// backup. Each error carries the line of the `vip`. For --check, start-up and reload.
std::vector<ConfigError> check_vrrp_static_vips(const Config& config);

// For each [vrrp.NAME] with notify: the script exists, is executable, and it and
// every directory above it are owned by root and writable only by root
// (notify_security.h); notify_user, when set, names a user. Errors carry the line
// of the `notify` (or `notify_user`) key.
std::vector<ConfigError> check_vrrp_notify_scripts(const Config& config);

}  // namespace ringlb
