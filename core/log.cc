#include "core/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>

#include <ctime>
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

bool LogRateLimit::allow(int64_t now_ms, uint64_t* suppressed) {
    int64_t last = last_ms_.load(std::memory_order_relaxed);
    if (now_ms - last >= interval_ms_ &&
        last_ms_.compare_exchange_strong(last, now_ms, std::memory_order_relaxed)) {
        *suppressed = suppressed_.exchange(0, std::memory_order_relaxed);
        return true;
    }
    suppressed_.fetch_add(1, std::memory_order_relaxed);
    return false;
}

int64_t monotonic_ms() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return int64_t(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

}  // namespace ringlb
