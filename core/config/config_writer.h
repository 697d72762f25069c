// Config → ringlb.conf text, for ringlbctl's changes written back by config_store.
// Pure: the caller writes the file.
#pragma once

#include <string>

#include "core/config/config.h"

namespace ringlb {

// Writes `config` as ringlb.conf text: [global], each listener, then each
// [vrrp.NAME], in order; bind, scheduler and backends (interface, vrid,
// priority and vips) always, other keys only where they differ from the
// defaults in config.h. For any config parse_config produced,
// parse_config(format_config(c)) equals c except for the line and source_file
// fields. Values are written verbatim: a string containing '#' or a newline
// cannot be represented and does not come back.
std::string format_config(const Config& config);

}  // namespace ringlb
