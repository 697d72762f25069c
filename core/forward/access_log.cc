// Access log: line format, per-worker buffers, file (re)opening.
#include "core/forward/access_log.h"

#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "core/base/clock.h"
#include "core/base/log.h"
#include "core/base/unique_fd.h"

namespace ringlb {

namespace {

constexpr size_t kFlushBytes = 32 * 1024;  // a full buffer is written at once

LogRateLimit write_error_log;

void append_address(std::string& out, const InetAddr* address) noexcept {
    if (address == nullptr || address->family() == AF_UNSPEC) out += '-';
    else out += address->to_string();
}

}  // namespace

struct AccessLogFile {
    UniqueFd fd;
};

void format_access_log_line(std::string& out, const AccessLogEntry& e) noexcept {
    const time_t seconds = time_t(e.wall_ms / 1000);
    tm utc{};
    gmtime_r(&seconds, &utc);
    auto it = std::back_inserter(out);
    fmt::format_to(it, "time={:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z client=", utc.tm_year + 1900, utc.tm_mon + 1,
                   utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, int(e.wall_ms % 1000));
    append_address(out, e.client);
    fmt::format_to(it, " listener={} backend=", e.listener.empty() ? "-" : e.listener);
    append_address(out, e.backend);
    fmt::format_to(it, " bytes_in={} bytes_out={} connect_ms=", e.bytes_in, e.bytes_out);
    if (e.connect_us < 0) out += '-';
    else fmt::format_to(it, "{}.{:03}", e.connect_us / 1000, e.connect_us % 1000);
    fmt::format_to(it, " duration_ms={} retries={} reason={}\n", e.duration_ms, e.retries,
                   e.reason.empty() ? "-" : e.reason);
}

// ------------------------------------------------------------------ writer

bool AccessLogWriter::enabled() const noexcept { return log_.enabled_.load(std::memory_order_relaxed); }

void AccessLogWriter::log(const Connection& conn, int64_t now_ms) noexcept {
    if (!enabled()) return;
    AccessLogEntry entry;
    entry.wall_ms = realtime_ms();
    entry.client = &conn.client;
    entry.listener = conn.listener ? std::string_view(conn.listener->config.name) : std::string_view();
    entry.backend = conn.backend ? &conn.backend->address : nullptr;
    entry.bytes_in = conn.direction(Dir::kClientToBackend).bytes;
    entry.bytes_out = conn.direction(Dir::kBackendToClient).bytes;
    entry.connect_us = conn.connect_us;
    entry.duration_ms = now_ms - conn.accepted_ms;
    entry.retries = conn.attempts > 0 ? conn.attempts - 1u : 0u;
    entry.reason = close_reason_name(conn.reason);
    format_access_log_line(buffer_, entry);
    ++buffered_lines_;
    if (buffer_.size() >= kFlushBytes) flush();
}

void AccessLogWriter::flush() noexcept {
    if (buffer_.empty()) return;
    // A reopen bumped the generation: take the new file (the only lock here,
    // once per reopen, not per line).
    uint64_t generation = log_.generation_.load(std::memory_order_acquire);
    if (generation != generation_ || !file_) {
        std::lock_guard lock(log_.mutex_);
        file_ = log_.file_;
        generation_ = log_.generation_.load(std::memory_order_relaxed);
    }
    bool ok = file_ != nullptr;
    size_t done = 0;
    while (ok && done < buffer_.size()) {
        // O_APPEND: each write lands whole at the end, whichever worker writes.
        ssize_t n = ::write(file_->fd.get(), buffer_.data() + done, buffer_.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            uint64_t suppressed = 0;
            if (write_error_log.allow(monotonic_ms(), &suppressed))
                spdlog::error("access log: write: {}: dropping lines ({} more since last line)",
                              n < 0 ? std::strerror(errno) : "nothing written", suppressed);
            ok = false;
            break;
        }
        done += size_t(n);
    }
    (ok ? log_.written_ : log_.dropped_).fetch_add(buffered_lines_, std::memory_order_relaxed);
    buffer_.clear();
    buffered_lines_ = 0;
}

// --------------------------------------------------------------------- log

AccessLog::AccessLog(int workers) {
    for (int i = 0; i < workers; ++i) writers_.push_back(std::make_unique<AccessLogWriter>(*this));
}

AccessLog::~AccessLog() = default;

Result<void> AccessLog::open_locked(const std::string& path) {
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640));
    if (!fd) return fail("access_log " + path + ": " + std::strerror(errno));
    auto file = std::make_shared<AccessLogFile>();
    file->fd = std::move(fd);
    file_ = std::move(file);
    generation_.fetch_add(1, std::memory_order_release);
    return {};
}

Result<void> AccessLog::configure(const std::string& path) {
    std::lock_guard lock(mutex_);
    if (path == path_ && (path.empty() || file_)) return {};
    path_ = path;
    if (path.empty()) {
        enabled_.store(false, std::memory_order_relaxed);
        file_.reset();
        generation_.fetch_add(1, std::memory_order_release);
        return {};
    }
    Result<void> opened = open_locked(path);
    if (!opened) file_.reset();
    enabled_.store(file_ != nullptr, std::memory_order_relaxed);
    return opened;
}

Result<void> AccessLog::reopen() {
    std::lock_guard lock(mutex_);
    if (path_.empty()) return {};
    Result<void> opened = open_locked(path_);
    enabled_.store(file_ != nullptr, std::memory_order_relaxed);
    return opened;
}

void AccessLog::flush_all() {
    for (auto& writer : writers_) writer->flush();
}

std::string AccessLog::path() const {
    std::lock_guard lock(mutex_);
    return path_;
}

}  // namespace ringlb
