// The [global] section (DESIGN §6): workers, control socket, metrics, logging and
// the shutdown grace. Pure: the socket path is only checked to fit sockaddr_un.
#pragma once

#include <span>

#include "core/config/config_section.h"

namespace ringlb {

// Reads the first [global] into config.global; a second one is reported, its keys
// still checked. A SectionParser (config_section.h).
void parse_global_sections(std::span<const ConfigSection> sections, Config& config, ConfigDiagnostics& diag);

}  // namespace ringlb
