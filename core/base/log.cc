#include "core/base/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>

#include <stdexcept>

namespace ringlb {

Result<void> set_log_level(const std::string& level) {
    auto parsed = spdlog::level::from_str(level);
    if (parsed == spdlog::level::off && level != "off") return fail("unknown log level '" + level + "'");
    spdlog::set_level(parsed);
    return {};
}

void init_logging(const std::string& level) {
    auto logger = spdlog::stderr_color_mt("ringlbd");
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
    spdlog::set_default_logger(logger);
    if (Result<void> set = set_log_level(level); !set) throw std::invalid_argument(set.error());
}

}  // namespace ringlb
