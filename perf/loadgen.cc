// loadgen: the load generator for perf/bench.sh — short connections, keep-alive
// request/response, bulk streams and held idle connections against one 127.x target.
// epoll, edge-triggered, one thread per --threads; prints one JSON line of results.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace ringlb {
namespace {

using Clock = std::chrono::steady_clock;

enum class Mode { kShort, kKeepalive, kBulk, kIdle };

struct Options {
    Mode mode = Mode::kShort;
    sockaddr_in target{};
    std::string target_text;
    int threads = 1;
    int concurrency = 16;       // short / keepalive / bulk: connections at once
    int size = 64;              // request size in bytes (short, keepalive, idle)
    double duration = 5;        // seconds of load (short, keepalive, bulk)
    uint64_t max_ops = 0;       // 0 = no count bound besides duration
    double timeout = 5;         // one operation (connect + round trip) may take this long
    bool bulk_down = false;     // bulk: receive from a source instead of sending to a sink
    int conns = 1000;           // idle: connections to hold
    double hold = 5;            // idle: seconds to hold them
    double setup_timeout = 60;  // idle: seconds to establish them all
    int parallel = 128;         // idle: connection attempts in flight
    int sources = -1;           // source addresses to bind to; 0 = let the kernel pick
    uint32_t source_base = 0;   // host order; first source address
    std::string ready_file;     // idle: written once every connection is established
};

// Log-linear histogram of nanoseconds, 64 sub-buckets per power of two (~1.6 %).
class Histogram {
public:
    static constexpr int kSub = 64;
    static constexpr int kMagnitudes = 40;

    Histogram() : counts_(kSub * kMagnitudes, 0) {}

    void record(uint64_t ns) {
        ++counts_[index(ns)];
        ++total_;
        max_ = std::max(max_, ns);
    }
    void merge(const Histogram& other) {
        for (size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
        total_ += other.total_;
        max_ = std::max(max_, other.max_);
    }
    uint64_t total() const { return total_; }
    uint64_t max() const { return max_; }

    // Upper bound of the bucket holding the q-quantile, in nanoseconds.
    uint64_t quantile(double q) const {
        if (total_ == 0) return 0;
        uint64_t rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(total_)));
        rank = std::max<uint64_t>(rank, 1);
        uint64_t seen = 0;
        for (size_t i = 0; i < counts_.size(); ++i) {
            seen += counts_[i];
            if (seen >= rank) return std::min(upper(i), max_);
        }
        return max_;
    }

private:
    static size_t index(uint64_t v) {
        if (v < kSub) return v;
        int mag = 63 - __builtin_clzll(v);          // >= 6
        int shift = mag - 6;
        size_t sub = (v >> shift) & (kSub - 1);
        size_t i = static_cast<size_t>(shift + 1) * kSub + sub;
        return std::min(i, static_cast<size_t>(kSub * kMagnitudes - 1));
    }
    static uint64_t upper(size_t i) {
        if (i < kSub) return i;
        uint64_t shift = i / kSub - 1;
        uint64_t sub = i % kSub;
        return ((kSub + sub + 1) << shift) - 1;
    }

    std::vector<uint64_t> counts_;
    uint64_t total_ = 0;
    uint64_t max_ = 0;
};

struct Errors {
    uint64_t connect = 0;    // refused, unreachable, no local port
    uint64_t reset = 0;      // ECONNRESET / EPIPE while in use
    uint64_t eof = 0;        // peer closed before the reply was complete
    uint64_t timeout = 0;    // operation took longer than --timeout
    uint64_t mismatch = 0;   // reply bytes differ from what was sent
    uint64_t other = 0;

    uint64_t sum() const { return connect + reset + eof + timeout + mismatch + other; }
    void merge(const Errors& o) {
        connect += o.connect; reset += o.reset; eof += o.eof;
        timeout += o.timeout; mismatch += o.mismatch; other += o.other;
    }
};

struct Result {
    uint64_t ops = 0;           // connections (short), requests (keepalive, idle)
    uint64_t bytes = 0;         // payload bytes sent (or received, bulk down)
    uint64_t connections = 0;   // TCP connections opened
    Errors errors;
    Histogram latency;
    double elapsed = 0;         // seconds of load
    // idle mode
    uint64_t established = 0;
    uint64_t hold_errors = 0;
    uint64_t verify_ok = 0;
    uint64_t verify_errors = 0;
    double setup_seconds = 0;
};

uint64_t now_ns() {
    return static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
            .count());
}

// The byte at offset i of request number seq on slot `slot`; echo replies are checked
// against it, so reordered, duplicated or foreign bytes are caught.
inline uint8_t pattern_byte(uint32_t slot, uint64_t seq, size_t i) {
    return static_cast<uint8_t>(i * 31u + seq * 17u + slot * 7u + (i >> 8));
}

enum class State { kClosed, kConnecting, kSending, kReceiving, kIdle, kDone };

struct Slot {
    int fd = -1;
    State state = State::kClosed;
    uint32_t index = 0;
    uint64_t seq = 0;
    uint64_t op_start = 0;
    size_t sent = 0;
    size_t got = 0;
};

// Shared between threads for the idle mode's common start of the hold.
struct IdleSync {
    std::atomic<int> ready{0};
    std::atomic<uint64_t> established{0};
    std::atomic<uint64_t> setup_errors{0};
    std::atomic<uint64_t> hold_start{0};
};

class Worker {
public:
    Worker(const Options& o, int id, int slots, uint64_t max_ops, IdleSync* sync)
        : o_(o), max_ops_(max_ops), sync_(sync), slots_(slots) {
        for (int i = 0; i < slots; ++i) slots_[i].index = static_cast<uint32_t>(id * 1000003 + i);
        epfd_ = epoll_create1(EPOLL_CLOEXEC);
        buf_.resize(256 * 1024);
        scratch_.resize(std::max<size_t>(o.size, 64 * 1024));
        if (o.mode == Mode::kBulk) {
            for (size_t i = 0; i < scratch_.size(); ++i) scratch_[i] = static_cast<char>(i * 7);
        }
    }
    ~Worker() {
        for (auto& s : slots_) close_slot(s);
        if (epfd_ >= 0) close(epfd_);
    }

    Result run(uint64_t start_ns) {
        if (epfd_ < 0) {
            res_.errors.other += slots_.size();
            return res_;
        }
        switch (o_.mode) {
        case Mode::kShort:
        case Mode::kKeepalive:
        case Mode::kBulk: run_load(start_ns); break;
        case Mode::kIdle: run_idle(start_ns); break;
        }
        return res_;
    }

private:
    // ---- connection set-up -------------------------------------------------------

    bool open_slot(Slot& s) {
        s.sent = s.got = 0;
        s.op_start = now_ns();
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            ++res_.errors.other;
            return false;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (o_.sources > 0) {
            // Port chosen at connect() from the whole 4-tuple, so each source address
            // has its own ephemeral range.
            setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
            sockaddr_in src{};
            src.sin_family = AF_INET;
            src.sin_addr.s_addr = htonl(o_.source_base + (s.index % 1000003) % o_.sources);
            if (bind(fd, reinterpret_cast<sockaddr*>(&src), sizeof src) < 0) {
                close(fd);
                ++res_.errors.connect;
                return false;
            }
        }
        int rc = connect(fd, reinterpret_cast<const sockaddr*>(&o_.target), sizeof o_.target);
        if (rc < 0 && errno != EINPROGRESS) {
            close(fd);
            ++res_.errors.connect;
            return false;
        }
        epoll_event ev{};
        ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
        ev.data.ptr = &s;
        if (epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) < 0) {
            close(fd);
            ++res_.errors.other;
            return false;
        }
        s.fd = fd;
        s.state = State::kConnecting;
        ++res_.connections;
        return true;
    }

    void close_slot(Slot& s) {
        if (s.fd >= 0) close(s.fd);
        s.fd = -1;
        s.state = State::kClosed;
    }

    // Counts the failure by its errno (0: early EOF, -1: wrong bytes) and closes.
    void fail(Slot& s, int err) {
        switch (err) {
        case -1: ++res_.errors.mismatch; break;
        case ECONNREFUSED: case ENETUNREACH: case EHOSTUNREACH: case EADDRNOTAVAIL:
            ++res_.errors.connect; break;
        case ECONNRESET: case EPIPE: ++res_.errors.reset; break;
        case 0: ++res_.errors.eof; break;
        case ETIMEDOUT: ++res_.errors.timeout; break;
        default: ++res_.errors.other; break;
        }
        close_slot(s);
    }

    // ---- request / response ------------------------------------------------------

    // Sends the rest of the current request; false if the slot failed.
    bool send_request(Slot& s) {
        const size_t size = static_cast<size_t>(o_.size);
        while (s.sent < size) {
            size_t n = size - s.sent;
            for (size_t i = 0; i < n; ++i) scratch_[i] = static_cast<char>(pattern_byte(s.index, s.seq, s.sent + i));
            ssize_t w = send(s.fd, scratch_.data(), n, MSG_NOSIGNAL);
            if (w < 0) {
                if (errno == EAGAIN) return true;
                fail(s, errno);
                return false;
            }
            s.sent += static_cast<size_t>(w);
        }
        s.state = State::kReceiving;
        return true;
    }

    // Reads the echoed reply; returns true when it is complete and correct.
    bool receive_reply(Slot& s, bool* failed) {
        *failed = false;
        const size_t size = static_cast<size_t>(o_.size);
        for (;;) {
            ssize_t n = recv(s.fd, buf_.data(), buf_.size(), 0);
            if (n == 0) {
                fail(s, 0);
                *failed = true;
                return false;
            }
            if (n < 0) {
                if (errno == EAGAIN) return false;
                fail(s, errno);
                *failed = true;
                return false;
            }
            for (ssize_t i = 0; i < n; ++i) {
                if (s.got + i >= size ||
                    static_cast<uint8_t>(buf_[i]) != pattern_byte(s.index, s.seq, s.got + i)) {
                    fail(s, -1);
                    *failed = true;
                    return false;
                }
            }
            s.got += static_cast<size_t>(n);
            if (s.got == size) return true;
        }
    }

    // ---- short / keepalive / bulk --------------------------------------------------

    bool want_more(uint64_t now, uint64_t end) const {
        return now < end && (max_ops_ == 0 || res_.ops < max_ops_);
    }

    void run_load(uint64_t start_ns) {
        const uint64_t end = start_ns + static_cast<uint64_t>(o_.duration * 1e9);
        const uint64_t timeout_ns = static_cast<uint64_t>(o_.timeout * 1e9);
        for (auto& s : slots_) open_slot(s);
        std::vector<epoll_event> events(256);
        std::vector<Slot*> deferred;
        uint64_t next_scan = start_ns + 100'000'000;
        uint64_t now = now_ns();
        while (want_more(now, end)) {
            int timeout_ms = deferred_.empty() ? 1 : 0;
            int n = epoll_wait(epfd_, events.data(), static_cast<int>(events.size()), timeout_ms);
            if (n < 0 && errno != EINTR) break;
            for (int i = 0; i < n; ++i) {
                on_event(*static_cast<Slot*>(events[i].data.ptr), events[i].events);
            }
            deferred.swap(deferred_);
            for (Slot* s : deferred) {
                if (s->fd >= 0) on_event(*s, o_.bulk_down ? EPOLLIN : EPOLLOUT);
            }
            deferred.clear();
            now = now_ns();
            if (now >= next_scan) {
                next_scan = now + 100'000'000;
                for (auto& s : slots_) {
                    if (s.fd >= 0 && o_.mode != Mode::kBulk && now > s.op_start &&
                        now - s.op_start > timeout_ns) {
                        fail(s, ETIMEDOUT);
                    }
                }
            }
            // Closed slots (finished short connections, failures) start again.
            if (want_more(now, end)) {
                for (auto& s : slots_) {
                    if (s.state == State::kClosed) open_slot(s);
                }
            }
        }
        res_.elapsed = static_cast<double>(now_ns() - start_ns) / 1e9;
        // An operation still waiting at the end after a second (or --timeout, if shorter)
        // is stalled, not merely in flight: count it, or a target that accepts and never
        // answers would show zero operations and zero errors.
        const uint64_t stalled_ns = std::min<uint64_t>(timeout_ns, 1'000'000'000);
        now = now_ns();
        for (auto& s : slots_) {
            if (s.fd >= 0 && o_.mode != Mode::kBulk && now > s.op_start &&
                now - s.op_start > stalled_ns) {
                fail(s, ETIMEDOUT);
            }
        }
    }

    void on_event(Slot& s, uint32_t ev) {
        if (s.fd < 0) return;
        if (s.state == State::kConnecting) {
            if (ev & EPOLLERR) {
                int err = 0;
                socklen_t len = sizeof err;
                getsockopt(s.fd, SOL_SOCKET, SO_ERROR, &err, &len);
                fail(s, err ? err : ECONNREFUSED);
                return;
            }
            if (!(ev & EPOLLOUT)) return;
            s.state = State::kSending;
        }
        if (o_.mode == Mode::kBulk) return on_bulk(s, ev);
        if (s.state == State::kSending) {
            if (!send_request(s)) return;
        }
        if (s.state == State::kReceiving && (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))) {
            bool failed = false;
            if (!receive_reply(s, &failed)) return;
            finish_request(s);
        }
    }

    void finish_request(Slot& s) {
        uint64_t t = now_ns();
        res_.latency.record(t - s.op_start);
        ++res_.ops;
        res_.bytes += static_cast<uint64_t>(o_.size);
        if (o_.mode == Mode::kShort) {
            close_slot(s);  // the client closes first, as an HTTP/1.0 client would
            return;
        }
        // keepalive: next request on the same connection
        ++s.seq;
        s.sent = s.got = 0;
        s.op_start = t;
        s.state = State::kSending;
        send_request(s);
    }

    void on_bulk(Slot& s, uint32_t ev) {
        if (ev & EPOLLERR) {
            int err = 0;
            socklen_t len = sizeof err;
            getsockopt(s.fd, SOL_SOCKET, SO_ERROR, &err, &len);
            fail(s, err ? err : ECONNRESET);
            return;
        }
        if (o_.bulk_down) {
            if (!(ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP))) return;
            for (int i = 0; i < 32; ++i) {
                ssize_t n = recv(s.fd, buf_.data(), buf_.size(), 0);
                if (n == 0) return fail(s, 0);
                if (n < 0) {
                    if (errno != EAGAIN) fail(s, errno);
                    return;
                }
                res_.bytes += static_cast<uint64_t>(n);
            }
            deferred_.push_back(&s);  // bounded per event; come back without an edge
            return;
        }
        if (ev & (EPOLLRDHUP | EPOLLHUP)) return fail(s, 0);  // a sink never closes first
        if (!(ev & EPOLLOUT)) return;
        for (int i = 0; i < 32; ++i) {
            ssize_t w = send(s.fd, scratch_.data(), 64 * 1024, MSG_NOSIGNAL);
            if (w < 0) {
                if (errno != EAGAIN) fail(s, errno);
                return;
            }
            res_.bytes += static_cast<uint64_t>(w);
        }
        deferred_.push_back(&s);
    }

    // ---- idle -------------------------------------------------------------------------

    // Drives every slot through connect + one round trip, at most `parallel` at a time.
    // Returns when all have succeeded or failed, or at `deadline`.
    void round_trip_all(uint64_t deadline, bool connect_first, uint64_t* ok, uint64_t* errors) {
        const size_t parallel = static_cast<size_t>(std::max(1, o_.parallel / o_.threads));
        size_t next = 0, in_flight = 0, settled = 0;
        std::vector<epoll_event> events(256);
        auto start_one = [&](Slot& s) {
            if (connect_first) {
                if (!open_slot(s)) {
                    ++*errors;
                    ++settled;
                    s.state = State::kDone;
                    return;
                }
            } else {
                if (s.state != State::kIdle) return;  // lost during the hold; already counted
                s.seq = 1;
                s.sent = s.got = 0;
                s.op_start = now_ns();
                s.state = State::kSending;
                if (!send_request(s)) {
                    ++*errors;
                    ++settled;
                    s.state = State::kDone;
                    return;
                }
            }
            ++in_flight;
        };
        auto settle = [&](Slot& s, bool good) {
            --in_flight;
            ++settled;
            if (good) {
                ++*ok;
                s.state = State::kIdle;
            } else {
                ++*errors;
                close_slot(s);
                s.state = State::kDone;
            }
        };
        size_t wanted = 0;
        for (auto& s : slots_) {
            if (connect_first || s.state == State::kIdle) ++wanted;
        }
        while (settled < wanted && now_ns() < deadline) {
            while (in_flight < parallel && next < slots_.size()) {
                Slot& s = slots_[next++];
                if (!connect_first && s.state != State::kIdle) continue;
                start_one(s);
            }
            int n = epoll_wait(epfd_, events.data(), static_cast<int>(events.size()), 10);
            if (n < 0 && errno != EINTR) break;
            for (int i = 0; i < n; ++i) {
                Slot& s = *static_cast<Slot*>(events[i].data.ptr);
                uint32_t ev = events[i].events;
                if (s.fd < 0 || s.state == State::kIdle || s.state == State::kDone) continue;
                if (s.state == State::kConnecting) {
                    if (ev & EPOLLERR) {
                        ++res_.errors.connect;
                        settle(s, false);
                        continue;
                    }
                    if (!(ev & EPOLLOUT)) continue;
                    s.state = State::kSending;
                }
                if (s.state == State::kSending) {
                    if (!send_request(s)) {
                        settle(s, false);
                        continue;
                    }
                }
                if (s.state == State::kReceiving) {
                    bool failed = false;
                    if (receive_reply(s, &failed)) {
                        res_.latency.record(now_ns() - s.op_start);
                        ++res_.ops;
                        settle(s, true);
                    } else if (failed) {
                        settle(s, false);
                    }
                }
            }
        }
        // Whatever is still in flight at the deadline has timed out, and so has whatever
        // never got its turn.
        for (auto& s : slots_) {
            if (s.state == State::kConnecting || s.state == State::kSending ||
                s.state == State::kReceiving || (connect_first && s.state == State::kClosed)) {
                ++res_.errors.timeout;
                ++*errors;
                close_slot(s);
                s.state = State::kDone;
            }
        }
    }

    void run_idle(uint64_t start_ns) {
        const uint64_t setup_deadline = start_ns + static_cast<uint64_t>(o_.setup_timeout * 1e9);
        uint64_t setup_errors = 0;
        round_trip_all(setup_deadline, true, &res_.established, &setup_errors);
        res_.setup_seconds = static_cast<double>(now_ns() - start_ns) / 1e9;

        // Every thread waits for the others, so the hold starts at one moment.
        sync_->established.fetch_add(res_.established);
        sync_->setup_errors.fetch_add(setup_errors);
        sync_->ready.fetch_add(1);
        while (sync_->hold_start.load() == 0 && now_ns() < setup_deadline + 1'000'000'000) {
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        uint64_t hold_start = sync_->hold_start.load();
        if (hold_start == 0) hold_start = now_ns();
        const uint64_t hold_end = hold_start + static_cast<uint64_t>(o_.hold * 1e9);

        // Hold: nothing may arrive and nothing may close.
        std::vector<epoll_event> events(256);
        for (;;) {
            uint64_t now = now_ns();
            if (now >= hold_end) break;
            int wait_ms = static_cast<int>(std::min<uint64_t>((hold_end - now) / 1'000'000 + 1, 200));
            int n = epoll_wait(epfd_, events.data(), static_cast<int>(events.size()), wait_ms);
            if (n < 0 && errno != EINTR) break;
            for (int i = 0; i < n; ++i) {
                Slot& s = *static_cast<Slot*>(events[i].data.ptr);
                if (s.state != State::kIdle) continue;
                if (events[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
                    ++res_.hold_errors;
                    close_slot(s);
                    s.state = State::kDone;
                }
            }
        }
        uint64_t verify_deadline = now_ns() + static_cast<uint64_t>(o_.setup_timeout * 1e9);
        round_trip_all(verify_deadline, false, &res_.verify_ok, &res_.verify_errors);
        res_.elapsed = static_cast<double>(now_ns() - start_ns) / 1e9;
    }

    const Options& o_;
    uint64_t max_ops_;
    IdleSync* sync_;
    std::vector<Slot> slots_;
    std::vector<Slot*> deferred_;
    int epfd_ = -1;
    std::vector<char> buf_;
    std::vector<char> scratch_;
    Result res_;
};

[[noreturn]] void usage() {
    std::fprintf(stderr,
        "usage: loadgen MODE --target 127.0.0.1:PORT [options]\n"
        "  MODE: short | keepalive | bulk | idle\n"
        "  --threads N          worker threads (default 1)\n"
        "  --concurrency C      connections at once (short, keepalive, bulk; default 16)\n"
        "  --size S             request bytes, echoed back (short, keepalive, idle; default 64)\n"
        "  --duration T         seconds of load (default 5)\n"
        "  --max-ops N          stop after N connections/requests (default: no bound)\n"
        "  --timeout T          seconds one operation may take (default 5)\n"
        "  --direction up|down  bulk: send to a sink (up, default) or read from a source\n"
        "  --conns N            idle: connections to hold (default 1000)\n"
        "  --hold T             idle: seconds to hold them (default 5)\n"
        "  --parallel P         idle: connection attempts in flight (default 128)\n"
        "  --setup-timeout T    idle: seconds to establish them (default 60)\n"
        "  --sources M          bind to M source addresses from --source-base (idle default 16)\n"
        "  --source-base A      first source address (default 127.1.0.1)\n"
        "  --ready-file PATH    idle: written when every connection is established\n"
        "Only 127.0.0.0/8 addresses are accepted.\n");
    std::exit(2);
}

bool parse_loopback(const std::string& text, sockaddr_in* out, bool want_port) {
    std::string host = text;
    uint16_t port = 0;
    if (want_port) {
        auto colon = text.rfind(':');
        if (colon == std::string::npos) return false;
        host = text.substr(0, colon);
        int p = std::atoi(text.c_str() + colon + 1);
        if (p <= 0 || p > 65535) return false;
        port = static_cast<uint16_t>(p);
    }
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    if (inet_pton(AF_INET, host.c_str(), &sa.sin_addr) != 1) return false;
    if ((ntohl(sa.sin_addr.s_addr) >> 24) != 127) return false;  // loopback only
    *out = sa;
    return true;
}

Options parse_options(int argc, char** argv) {
    if (argc < 2) usage();
    Options o;
    std::string mode = argv[1];
    if (mode == "short") o.mode = Mode::kShort;
    else if (mode == "keepalive") o.mode = Mode::kKeepalive;
    else if (mode == "bulk") o.mode = Mode::kBulk;
    else if (mode == "idle") o.mode = Mode::kIdle;
    else usage();
    std::string source_base = "127.1.0.1";
    for (int i = 2; i < argc; ++i) {
        std::string a = argv[i];
        auto next = [&]() -> std::string {
            if (i + 1 >= argc) usage();
            return argv[++i];
        };
        if (a == "--target") o.target_text = next();
        else if (a == "--threads") o.threads = std::atoi(next().c_str());
        else if (a == "--concurrency") o.concurrency = std::atoi(next().c_str());
        else if (a == "--size") o.size = std::atoi(next().c_str());
        else if (a == "--duration") o.duration = std::atof(next().c_str());
        else if (a == "--max-ops") o.max_ops = std::strtoull(next().c_str(), nullptr, 10);
        else if (a == "--timeout") o.timeout = std::atof(next().c_str());
        else if (a == "--direction") {
            std::string d = next();
            if (d == "down") o.bulk_down = true;
            else if (d != "up") usage();
        }
        else if (a == "--conns") o.conns = std::atoi(next().c_str());
        else if (a == "--hold") o.hold = std::atof(next().c_str());
        else if (a == "--setup-timeout") o.setup_timeout = std::atof(next().c_str());
        else if (a == "--parallel") o.parallel = std::atoi(next().c_str());
        else if (a == "--sources") o.sources = std::atoi(next().c_str());
        else if (a == "--source-base") source_base = next();
        else if (a == "--ready-file") o.ready_file = next();
        else usage();
    }
    if (!parse_loopback(o.target_text, &o.target, true)) {
        std::fprintf(stderr, "loadgen: --target must be 127.x.y.z:PORT\n");
        std::exit(2);
    }
    sockaddr_in base{};
    if (!parse_loopback(source_base, &base, false)) {
        std::fprintf(stderr, "loadgen: --source-base must be in 127.0.0.0/8\n");
        std::exit(2);
    }
    o.source_base = ntohl(base.sin_addr.s_addr);
    if (o.sources < 0) o.sources = o.mode == Mode::kIdle ? 16 : 0;
    // Every bound finite: the harness relies on loadgen ending by itself.
    if (o.threads < 1 || o.threads > 64 || o.concurrency < 1 || o.concurrency > 100000 ||
        o.size < 1 || o.size > 16 * 1024 * 1024 || o.duration <= 0 || o.duration > 3600 ||
        o.timeout <= 0 || o.timeout > 600 || o.conns < 1 || o.conns > 1000000 ||
        o.hold < 0 || o.hold > 3600 || o.setup_timeout <= 0 || o.setup_timeout > 600 ||
        o.parallel < 1 || o.sources > 1000000 ||
        (o.source_base + static_cast<uint32_t>(std::max(o.sources, 0))) >> 24 != 127) {
        usage();
    }
    return o;
}

void write_ready_file(const std::string& path, const std::string& text) {
    std::string tmp = path + ".tmp";
    FILE* f = std::fopen(tmp.c_str(), "w");
    if (!f) return;
    std::fputs(text.c_str(), f);
    std::fclose(f);
    std::rename(tmp.c_str(), path.c_str());  // appears whole
}

const char* mode_name(const Options& o) {
    switch (o.mode) {
    case Mode::kShort: return "short";
    case Mode::kKeepalive: return "keepalive";
    case Mode::kBulk: return o.bulk_down ? "bulk-down" : "bulk-up";
    case Mode::kIdle: return "idle";
    }
    return "?";
}

int run(int argc, char** argv) {
    signal(SIGPIPE, SIG_IGN);
    const Options o = parse_options(argc, argv);
    const int total_slots = o.mode == Mode::kIdle ? o.conns : o.concurrency;
    const int threads = std::min(o.threads, total_slots);

    IdleSync sync;
    std::vector<Result> results(threads);
    std::vector<std::thread> pool;
    const uint64_t start = now_ns();
    for (int t = 0; t < threads; ++t) {
        int slots = total_slots / threads + (t < total_slots % threads ? 1 : 0);
        uint64_t ops = o.max_ops ? o.max_ops / threads + (t == 0 ? o.max_ops % threads : 0) : 0;
        pool.emplace_back([&, t, slots, ops] {
            Worker w(o, t, slots, ops, &sync);
            results[t] = w.run(start);
        });
    }
    if (o.mode == Mode::kIdle) {
        const uint64_t limit = start + static_cast<uint64_t>((o.setup_timeout + 1) * 1e9);
        while (sync.ready.load() < threads && now_ns() < limit) {
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        if (!o.ready_file.empty()) {
            char text[256];
            std::snprintf(text, sizeof text,
                          "{\"established\":%llu,\"setup_errors\":%llu,\"threads_ready\":%d}\n",
                          static_cast<unsigned long long>(sync.established.load()),
                          static_cast<unsigned long long>(sync.setup_errors.load()),
                          sync.ready.load());
            write_ready_file(o.ready_file, text);
        }
        sync.hold_start.store(now_ns());
    }
    for (auto& th : pool) th.join();

    Result r;
    for (auto& x : results) {
        r.ops += x.ops;
        r.bytes += x.bytes;
        r.connections += x.connections;
        r.errors.merge(x.errors);
        r.latency.merge(x.latency);
        r.elapsed = std::max(r.elapsed, x.elapsed);
        r.established += x.established;
        r.hold_errors += x.hold_errors;
        r.verify_ok += x.verify_ok;
        r.verify_errors += x.verify_errors;
        r.setup_seconds = std::max(r.setup_seconds, x.setup_seconds);
    }

    char line[2048];
    const double el = r.elapsed > 0 ? r.elapsed : 1e-9;
    const auto us = [](uint64_t ns) { return static_cast<double>(ns) / 1000.0; };
    const Errors& e = r.errors;
    int len = std::snprintf(
        line, sizeof line,
        "{\"mode\":\"%s\",\"target\":\"%s\",\"threads\":%d,\"concurrency\":%d,\"size\":%d,"
        "\"elapsed_s\":%.3f,\"ops\":%llu,\"rate\":%.1f,\"connections\":%llu,\"bytes\":%llu,"
        "\"gbit_s\":%.3f,\"p50_us\":%.1f,\"p90_us\":%.1f,\"p99_us\":%.1f,\"max_us\":%.1f,"
        "\"errors\":%llu,\"error_kinds\":{\"connect\":%llu,\"reset\":%llu,\"eof\":%llu,"
        "\"timeout\":%llu,\"mismatch\":%llu,\"other\":%llu}",
        mode_name(o), o.target_text.c_str(), threads,
        o.mode == Mode::kIdle ? o.conns : o.concurrency, o.size, r.elapsed,
        static_cast<unsigned long long>(r.ops), static_cast<double>(r.ops) / el,
        static_cast<unsigned long long>(r.connections), static_cast<unsigned long long>(r.bytes),
        static_cast<double>(r.bytes) * 8 / el / 1e9, us(r.latency.quantile(0.5)),
        us(r.latency.quantile(0.9)), us(r.latency.quantile(0.99)), us(r.latency.max()),
        static_cast<unsigned long long>(e.sum() + r.hold_errors),
        static_cast<unsigned long long>(e.connect), static_cast<unsigned long long>(e.reset),
        static_cast<unsigned long long>(e.eof), static_cast<unsigned long long>(e.timeout),
        static_cast<unsigned long long>(e.mismatch), static_cast<unsigned long long>(e.other));
    std::string out(line, static_cast<size_t>(std::max(len, 0)));
    if (o.mode == Mode::kIdle) {
        std::snprintf(line, sizeof line,
                      ",\"conns\":%d,\"established\":%llu,\"setup_s\":%.3f,\"hold_s\":%.1f,"
                      "\"hold_errors\":%llu,\"verify_ok\":%llu,\"verify_errors\":%llu,"
                      "\"sources\":%d",
                      o.conns, static_cast<unsigned long long>(r.established), r.setup_seconds,
                      o.hold, static_cast<unsigned long long>(r.hold_errors),
                      static_cast<unsigned long long>(r.verify_ok),
                      static_cast<unsigned long long>(r.verify_errors), o.sources);
        out += line;
    }
    // Our own CPU, so the harness can tell how much of the machine's busy time was ours.
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    const double cpu = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                       static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
    std::snprintf(line, sizeof line, ",\"cpu_s\":%.3f", cpu);
    out += line;
    out += "}\n";
    std::fputs(out.c_str(), stdout);
    return e.sum() + r.hold_errors == 0 ? 0 : 3;
}

}  // namespace
}  // namespace ringlb

int main(int argc, char** argv) { return ringlb::run(argc, argv); }
