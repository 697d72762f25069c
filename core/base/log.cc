#include "core/base/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>

#include <stdexcept>

namespace ringlb {

void set_log_level(const std::string& level) {
    auto parsed = spdlog::level::from_str(level);
    if (parsed == spdlog::level::off && level != "off")
        throw std::invalid_argument("unknown log level '" + level + "'");
    spdlog::set_level(parsed);
}

void init_logging(const std::string& level) {
    auto logger = spdlog::stderr_color_mt("ringlbd");
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
    spdlog::set_default_logger(logger);
    set_log_level(level);
}

}  // namespace ringlb
