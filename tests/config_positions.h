// A Config without the fields that say where each value was read (file name, line
// numbers): what a format_config → parse_config round trip must give back unchanged.
// No gtest here: the config fuzz target (tests/fuzz) uses it as well as the unit tests.
#pragma once

#include "core/config/config_parse.h"

namespace ringlb::config_test {

inline Config without_positions(Config config) {
    config.source_file.clear();
    for (ListenerConfig& listener : config.listeners) {
        listener.line = 0;
        for (BackendConfig& backend : listener.backends) backend.line = 0;
    }
    for (VrrpInstanceConfig& vrrp : config.vrrp) {
        vrrp.line = vrrp.notify_line = vrrp.notify_user_line = 0;
        vrrp.vip_lines.clear();
    }
    return config;
}

}  // namespace ringlb::config_test
