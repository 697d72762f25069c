// The access log (DESIGN §8): one line per closed connection, like HAProxy's
// tcplog, as logfmt key=value pairs. Workers append to their own buffer with
// no lock and no syscall; the buffer goes to the file with one O_APPEND write
// when it fills or on the worker's tick. SIGUSR1 reopens the file (logrotate).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/inet_addr.h"
#include "core/base/result.h"
#include "core/forward/connection.h"

namespace ringlb {

// What one line says. Pure data; format_access_log_line turns it into text.
struct AccessLogEntry {
    int64_t wall_ms = 0;              // when the connection closed, Unix epoch ms
    const InetAddr* client = nullptr; // null or AF_UNSPEC: "-"
    std::string_view listener;
    const InetAddr* backend = nullptr;  // null: no backend was connected
    uint64_t bytes_in = 0;            // client → backend
    uint64_t bytes_out = 0;           // backend → client
    int64_t connect_us = -1;          // the successful connect; < 0: "-"
    int64_t duration_ms = 0;          // accept → close
    unsigned retries = 0;             // connect attempts after the first
    std::string_view reason;          // close_reason_name
};

// Appends one line, '\n' included:
// time=2025-11-23T17:41:02.123Z client=127.0.0.1:51234 listener=web
// backend=10.0.1.11:8080 bytes_in=120 bytes_out=4096 connect_ms=0.412
// duration_ms=20 retries=0 reason=done
void format_access_log_line(std::string& out, const AccessLogEntry& entry) noexcept;

class AccessLog;
struct AccessLogFile;

// One worker's side of the access log. Only its worker calls it.
class AccessLogWriter {
public:
    explicit AccessLogWriter(AccessLog& log) : log_(log) {}

    // Cheap (one relaxed load): lets the worker skip work for a disabled log.
    bool enabled() const noexcept;
    // Call from close_connection once conn.reason is set and before the backend
    // reference is dropped. now_ms: the worker's monotonic clock.
    void log(const Connection& conn, int64_t now_ms) noexcept;
    // Call on every worker tick: writes what is buffered.
    void on_tick() noexcept { if (!buffer_.empty()) flush(); }
    void flush() noexcept;

private:
    AccessLog& log_;
    std::string buffer_;
    uint64_t buffered_lines_ = 0;
    std::shared_ptr<AccessLogFile> file_;
    uint64_t generation_ = 0;     // of the file in file_
};

class AccessLog {
public:
    explicit AccessLog(int workers);
    ~AccessLog();

    // Opens `path` for appending (created 0640) unless it is the one already
    // open; "" turns the log off. On failure the log is off. Main or control thread.
    Result<void> configure(const std::string& path);
    // Opens the same path again (after logrotate moved the file). On failure
    // the old file stays in use.
    Result<void> reopen();

    AccessLogWriter& writer(int worker) { return *writers_.at(size_t(worker)); }
    // Writes every worker's buffer: only once the workers have stopped.
    void flush_all();

    std::string path() const;
    uint64_t lines_written() const { return written_.load(std::memory_order_relaxed); }
    uint64_t lines_dropped() const { return dropped_.load(std::memory_order_relaxed); }

private:
    friend class AccessLogWriter;
    Result<void> open_locked(const std::string& path);

    mutable std::mutex mutex_;           // guards path_ and file_
    std::string path_;
    std::shared_ptr<AccessLogFile> file_;
    std::atomic<uint64_t> generation_{0};
    std::atomic<bool> enabled_{false};
    std::atomic<uint64_t> written_{0};
    std::atomic<uint64_t> dropped_{0};
    std::vector<std::unique_ptr<AccessLogWriter>> writers_;
};

}  // namespace ringlb
