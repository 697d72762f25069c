// The [listener.NAME] sections (DESIGN §6): bind, scheduler, backends, health
// checks, timeouts and limits of each virtual service. Pure: addresses are
// checked for form, never bound or resolved.
#pragma once

#include <span>

#include "core/config/config_section.h"

namespace ringlb {

// Appends each listener to config.listeners in file order. Reported: a repeated
// name (that section checked but not kept), a missing bind, no backends, a
// repeated backend address, a bind already used by an earlier listener.
// A SectionParser (config_section.h).
void parse_listener_sections(std::span<const ConfigSection> sections, Config& config, ConfigDiagnostics& diag);

}  // namespace ringlb
