// Moving bytes, one direction at a time (DESIGN §3).
// Copy mode: multishot recv into the provided buffer ring, then a send of
// exactly those bytes; at most one send in flight keeps them in order. The
// recv is limited to what the direction may still queue (kPauseBytes), so the
// kernel ends it by itself; when the ring runs low, waiting bytes are copied
// out of it, so stalled connections cannot starve the others of buffers.
// Splice mode: POLL_ADD readiness, then nonblocking splice(2) socket → pipe →
// socket issued inline. Never IORING_OP_SPLICE: io_uring punts every splice to
// an io-wq thread, which doubled CPU per byte when measured.
// auto: a direction that keeps filling whole buffers switches to splice mode;
// byte order holds because recv stops and the queue drains before splicing.
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <optional>

#include "core/base/log.h"
#include "core/forward/worker.h"

namespace ringlb {

namespace {

constexpr uint8_t kFullBuffersBeforeSplice = 4;  // auto: sustained bulk after this many full recvs
constexpr uint32_t kPauseChunks = 8;
constexpr int kSpliceRounds = 16;                // per wakeup, then yield to other connections

LogRateLimit no_pipe_log;

}  // namespace

CloseReason Worker::reset_reason(int dir, bool source_side) const {
    // dir 0's source is the client; dir 1's source is the backend.
    bool client = (dir == 0) == source_side;
    return client ? CloseReason::kClientReset : CloseReason::kBackendReset;
}

void Worker::count_bytes(Connection& conn, int dir, uint64_t n) {
    conn.dirs[dir].bytes += n;
    auto& stats = conn.listener->stats->worker(index_);
    bump(dir == 0 ? stats.bytes_in : stats.bytes_out, n);
}

void Worker::start_forwarding(uint32_t slot) {
    Connection& conn = conns_.at(slot);
    timeouts_.touch(slot, now_ms_);
    bool always_splice = conn.listener->config.splice == SpliceMode::kAlways;
    for (int dir = 0; dir < 2; ++dir) {
        if (always_splice) {
            conn.dirs[dir].splice_mode = true;
            arm_poll(slot, dir, false);
        } else {
            arm_recv(slot, dir);
        }
    }
}

// ---------------------------------------------------------------- copy mode

void Worker::arm_recv(uint32_t slot, int dir) {
    Connection& conn = conns_.at(slot);
    Direction& d = conn.dirs[dir];
    io_uring_sqe* sqe = sqe_for(slot, Op::kRecv, dir);
    if (recv_limit_) {
        // A cancel lands only after the kernel may have filled dozens more
        // buffers (32 retries per wakeup); a limit ends the multishot on time.
        // Never 0, which would mean no limit at all.
        io_uring_prep_recv_multishot(sqe, conn.source_fd(dir), nullptr, 0, 0);
        set_recv_multishot_limit(sqe, kPauseBytes - std::min(d.queued_bytes, kPauseBytes / 2));
    } else {
        io_uring_prep_recv(sqe, conn.source_fd(dir), nullptr, 0, 0);  // one buffer per completion
    }
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = buffers_.group_id();
    d.recv_armed = true;
}

void Worker::stop_recv(uint32_t slot, int dir) {
    Connection& conn = conns_.at(slot);
    Direction& d = conn.dirs[dir];
    if (!d.recv_armed || d.recv_cancel_pending) return;
    OpTag recv_tag{Op::kRecv, uint8_t(dir), conn.generation & OpTag::kGenerationMask, slot};
    io_uring_sqe* sqe = sqe_for(slot, Op::kCancel);
    io_uring_prep_cancel64(sqe, recv_tag.pack(), 0);
    d.recv_cancel_pending = true;
}

void Worker::maybe_resume_recv(uint32_t slot, int dir) {
    Connection& conn = conns_.at(slot);
    Direction& d = conn.dirs[dir];
    if (conn.state != ConnState::kForwarding || d.eof || d.recv_armed || d.recv_starved) return;
    if (d.switch_pending) {
        if (d.queue_empty() && !d.send_in_flight) {
            d.switch_pending = false;
            d.splice_mode = true;
            splice_pump(slot, dir);
        }
        return;
    }
    if (d.splice_mode) return;
    if (d.queued_bytes < kPauseBytes / 2 && d.queue.size() - d.queue_head < kPauseChunks / 2) arm_recv(slot, dir);
}

void Worker::handle_recv(uint32_t slot, int dir, int res, uint32_t flags) {
    Connection& conn = conns_.at(slot);
    Direction& d = conn.dirs[dir];
    const bool more = flags & IORING_CQE_F_MORE;
    if (!more) {
        d.recv_armed = false;
        d.recv_cancel_pending = false;
        --conn.in_flight;
    }
    const bool has_buffer = flags & IORING_CQE_F_BUFFER;
    const uint16_t buffer_id = uint16_t(flags >> IORING_CQE_BUFFER_SHIFT);
    if (has_buffer) buffers_.on_taken();
    if (conn.state != ConnState::kForwarding) {
        if (has_buffer) buffers_.recycle(buffer_id);
        return maybe_free(slot);
    }
    if (res > 0) {
        std::optional<uint16_t> spilled;
        if (buffers_.low()) spilled = spills_.put(buffers_.buffer(buffer_id), uint32_t(res));
        if (spilled) {
            buffers_.recycle(buffer_id);
            d.queue.push_back({SendChunk::kSpilled, *spilled, uint32_t(res), 0});
        } else {
            d.queue.push_back({buffer_id, 0, uint32_t(res), 0});
        }
        d.queued_bytes += res;
        timeouts_.touch(slot, now_ms_);
        d.full_streak = uint32_t(res) == buffers_.buffer_size() ? uint8_t(d.full_streak + 1) : 0;
        if (!d.send_in_flight) submit_send(slot, dir);
        if (conn.listener->config.splice == SpliceMode::kAuto && d.full_streak >= kFullBuffersBeforeSplice &&
            !d.switch_pending) {
            d.switch_pending = true;
            spdlog::debug("worker {}: connection {} direction {} switches to splice after {} bytes", index_, slot, dir, d.bytes);
            stop_recv(slot, dir);
        } else if (d.queued_bytes >= kPauseBytes || d.queue.size() - d.queue_head >= kPauseChunks) {
            stop_recv(slot, dir);
        }
        if (!more) maybe_resume_recv(slot, dir);
        return;
    }
    if (has_buffer) buffers_.recycle(buffer_id);
    if (res == 0) {
        d.eof = true;
        if (d.queue_empty() && !d.send_in_flight) finish_direction(slot, dir);
        return;
    }
    if (res == -ENOBUFS) {
        // The shared buffer ring ran dry: wait for returns, then recv again.
        if (!more && !d.recv_starved) {
            d.recv_starved = true;
            starved_.push_back({slot, conn.generation, dir});
        }
        return;
    }
    if (res == -ECANCELED) {
        if (!more) maybe_resume_recv(slot, dir);
        return;
    }
    close_connection(slot, reset_reason(dir, true), true);
}

void Worker::submit_send(uint32_t slot, int dir) {
    Connection& conn = conns_.at(slot);
    Direction& d = conn.dirs[dir];
    const SendChunk& chunk = d.queue[d.queue_head];
    io_uring_sqe* sqe = sqe_for(slot, Op::kSend, dir);
    // MSG_WAITALL: io_uring retries short sends itself on stream sockets.
    io_uring_prep_send(sqe, conn.dest_fd(dir), chunk_bytes(chunk) + chunk.offset,
                       chunk.length - chunk.offset, MSG_NOSIGNAL | MSG_WAITALL);
    d.send_in_flight = true;
}

const char* Worker::chunk_bytes(const SendChunk& chunk) const {
    return chunk.in_ring() ? buffers_.buffer(chunk.buffer_id) : spills_.data(chunk.spill_id);
}

void Worker::release_chunk(const SendChunk& chunk) {
    if (chunk.in_ring()) buffers_.recycle(chunk.buffer_id);
    else spills_.release(chunk.spill_id);
}

void Worker::handle_send(uint32_t slot, int dir, int res) {
    Connection& conn = conns_.at(slot);
    Direction& d = conn.dirs[dir];
    --conn.in_flight;
    d.send_in_flight = false;
    if (conn.state != ConnState::kForwarding) return maybe_free(slot);
    if (res < 0) return close_connection(slot, reset_reason(dir, false), true);
    SendChunk& chunk = d.queue[d.queue_head];
    chunk.offset += res;
    d.queued_bytes -= res;
    count_bytes(conn, dir, res);
    timeouts_.touch(slot, now_ms_);
    if (chunk.offset < chunk.length) return submit_send(slot, dir);
    release_chunk(chunk);
    if (++d.queue_head == d.queue.size()) d.clear_queue();
    if (!d.queue_empty()) return submit_send(slot, dir);
    if (d.eof) return finish_direction(slot, dir);
    maybe_resume_recv(slot, dir);
}

void Worker::finish_direction(uint32_t slot, int dir) {
    Connection& conn = conns_.at(slot);
    Direction& d = conn.dirs[dir];
    d.done = true;
    pipes_.release(std::move(d.pipe), d.pipe_bytes == 0);
    // Both directions done: close() sends the FIN (nothing is left unread on that
    // socket, its EOF was read), so the shutdown would only be one more syscall.
    if (conn.dirs[1 - dir].done) return close_connection(slot, CloseReason::kDone, false);
    ::shutdown(conn.dest_fd(dir), SHUT_WR);
    // Half-closed: the other direction may go on, but not silently forever.
    timeouts_.arm(slot, conn.listener->config.half_close_timeout.count(), now_ms_);
}

// -------------------------------------------------------------- splice mode

void Worker::arm_poll(uint32_t slot, int dir, bool out) {
    Connection& conn = conns_.at(slot);
    Direction& d = conn.dirs[dir];
    bool& armed = out ? d.poll_out_armed : d.poll_in_armed;
    if (armed) return;
    io_uring_sqe* sqe = sqe_for(slot, out ? Op::kPollOut : Op::kPollIn, dir);
    io_uring_prep_poll_add(sqe, out ? conn.dest_fd(dir) : conn.source_fd(dir), out ? POLLOUT : POLLIN);
    armed = true;
}

void Worker::handle_poll(uint32_t slot, int dir, bool out, int res) {
    Connection& conn = conns_.at(slot);
    Direction& d = conn.dirs[dir];
    --conn.in_flight;
    (out ? d.poll_out_armed : d.poll_in_armed) = false;
    if (conn.state != ConnState::kForwarding) return maybe_free(slot);
    if (res < 0 || d.done) return;  // cancelled
    splice_pump(slot, dir);
}

void Worker::splice_pump(uint32_t slot, int dir) {
    Connection& conn = conns_.at(slot);
    Direction& d = conn.dirs[dir];
    if (d.poll_in_armed || d.poll_out_armed) return;  // a wakeup is already on its way
    const int src = conn.source_fd(dir);
    const int dst = conn.dest_fd(dir);
    const size_t capacity = pipes_.capacity();
    bool source_drained = false;
    for (int round = 0; round < kSpliceRounds; ++round) {
        if (!d.eof && !source_drained && d.pipe_bytes < capacity) {
            if (!d.pipe) {
                d.pipe = pipes_.acquire();
                if (!d.pipe) {
                    // Out of fds (or pipe memory): without a pipe nothing of this
                    // direction is in flight, so it goes on copying, in order. auto
                    // tries splicing again after the next run of full buffers.
                    uint64_t suppressed = 0;
                    if (no_pipe_log.allow(now_ms_, &suppressed))
                        spdlog::warn("listener {}: no pipe for splice ({}); copying instead ({} more since last line)",
                                     conn.listener->config.name, std::strerror(errno), suppressed);
                    d.splice_mode = false;
                    d.full_streak = 0;
                    return arm_recv(slot, dir);
                }
            }
            ssize_t n = ::splice(src, nullptr, d.pipe.write_end.get(), nullptr, capacity - d.pipe_bytes,
                                 SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
            if (n > 0) {
                d.pipe_bytes += n;
            } else if (n == 0) {
                d.eof = true;
            } else if (errno == EAGAIN) {
                source_drained = true;
            } else if (errno != EINTR) {
                return close_connection(slot, reset_reason(dir, true), true);
            }
        }
        bool dest_full = false;
        if (d.pipe_bytes > 0) {
            ssize_t n = ::splice(d.pipe.read_end.get(), nullptr, dst, nullptr, d.pipe_bytes,
                                 SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
            if (n > 0) {
                d.pipe_bytes -= n;
                count_bytes(conn, dir, n);
            } else if (n < 0 && errno == EAGAIN) {
                dest_full = true;
            } else if (n < 0 && errno != EINTR) {
                return close_connection(slot, reset_reason(dir, false), true);
            }
        }
        if (d.eof && d.pipe_bytes == 0) {
            timeouts_.touch(slot, now_ms_);
            return finish_direction(slot, dir);
        }
        if (dest_full) {
            timeouts_.touch(slot, now_ms_);
            return arm_poll(slot, dir, true);
        }
        if (source_drained && d.pipe_bytes == 0) {
            // Nothing in flight: the pipe goes back, an idle direction holds none.
            pipes_.release(std::move(d.pipe), true);
            timeouts_.touch(slot, now_ms_);
            return arm_poll(slot, dir, false);
        }
    }
    // Budget spent with work left: yield; a poll on a ready fd completes at once.
    timeouts_.touch(slot, now_ms_);
    arm_poll(slot, dir, d.pipe_bytes > 0);
}

}  // namespace ringlb
