// bench_backend: the backend servers for perf/bench.sh — echo, sink and source on
// 127.0.0.x ports, one epoll thread, exits after --max-seconds. Not part of ringlbd.
// Also prints free ports for the harness (--free-ports N).
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace ringlb {
namespace {

enum class Role { kNone, kListenEcho, kListenSink, kListenSource, kEcho, kSink, kSource };

constexpr size_t kChunk = 64 * 1024;
constexpr int kMaxEvents = 256;

struct Conn {
    Role role = Role::kNone;
    std::string pending;     // echo: bytes read but not yet written back
    size_t pending_off = 0;
    bool want_out = false;   // EPOLLOUT currently requested
};

struct Totals {
    uint64_t accepted = 0;
    uint64_t bytes_in = 0;
    uint64_t bytes_out = 0;
    uint64_t errors = 0;
};

volatile sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

[[noreturn]] void die(const char* what) {
    std::fprintf(stderr, "bench_backend: %s: %s\n", what, std::strerror(errno));
    std::exit(1);
}

[[noreturn]] void usage() {
    std::fprintf(stderr,
                 "usage: bench_backend [--bind 127.0.0.1] [--echo-port P] [--sink-port P]\n"
                 "                     [--source-port P] [--max-seconds S]\n"
                 "       bench_backend --free-ports N [--bind 127.0.0.1]\n"
                 "Port 0 picks a free port; the chosen ports are printed as one JSON line.\n");
    std::exit(2);
}

sockaddr_in make_addr(const std::string& ip, uint16_t port) {
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    if (inet_pton(AF_INET, ip.c_str(), &sa.sin_addr) != 1) {
        std::fprintf(stderr, "bench_backend: bad address %s\n", ip.c_str());
        std::exit(2);
    }
    // Only loopback: the harness must never send traffic anywhere else.
    if ((ntohl(sa.sin_addr.s_addr) >> 24) != 127) {
        std::fprintf(stderr, "bench_backend: %s is not in 127.0.0.0/8\n", ip.c_str());
        std::exit(2);
    }
    return sa;
}

int open_listener(const std::string& ip, uint16_t port, uint16_t* bound_port) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) die("socket");
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in sa = make_addr(ip, port);
    if (bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) < 0) die("bind");
    if (listen(fd, 4096) < 0) die("listen");
    socklen_t len = sizeof sa;
    getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
    *bound_port = ntohs(sa.sin_port);
    return fd;
}

// Binds N sockets to port 0 at once (so the N ports differ), prints them, closes them.
int print_free_ports(const std::string& ip, int n) {
    std::vector<int> fds;
    std::string out;
    for (int i = 0; i < n; ++i) {
        uint16_t port = 0;
        fds.push_back(open_listener(ip, 0, &port));
        out += (i ? " " : "") + std::to_string(port);
    }
    for (int fd : fds) close(fd);
    std::printf("%s\n", out.c_str());
    return 0;
}

class Server {
public:
    explicit Server(int epfd) : epfd_(epfd) {}

    void add_listener(int fd, Role role) {
        slot(fd).role = role;
        ctl(EPOLL_CTL_ADD, fd, EPOLLIN);
    }

    void handle(int fd, uint32_t events) {
        Conn& c = slot(fd);
        switch (c.role) {
        case Role::kListenEcho: accept_all(fd, Role::kEcho); break;
        case Role::kListenSink: accept_all(fd, Role::kSink); break;
        case Role::kListenSource: accept_all(fd, Role::kSource); break;
        case Role::kEcho: on_echo(fd, c, events); break;
        case Role::kSink: on_sink(fd, events); break;
        case Role::kSource: on_source(fd, events); break;
        case Role::kNone: break;
        }
    }

    const Totals& totals() const { return totals_; }
    uint64_t open_conns() const { return open_; }

private:
    Conn& slot(int fd) {
        if (static_cast<size_t>(fd) >= conns_.size()) conns_.resize(fd + 1024);
        return conns_[fd];
    }

    void ctl(int op, int fd, uint32_t events) {
        epoll_event ev{};
        ev.events = events;
        ev.data.fd = fd;
        if (epoll_ctl(epfd_, op, fd, &ev) < 0) die("epoll_ctl");
    }

    void close_conn(int fd, bool error) {
        Conn& c = slot(fd);
        c = Conn{};
        close(fd);  // also removes it from the epoll set
        --open_;
        if (error) ++totals_.errors;
    }

    void accept_all(int lfd, Role role) {
        for (int i = 0; i < 1024; ++i) {
            int fd = accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (fd < 0) {
                if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED) ++totals_.errors;
                return;
            }
            ++totals_.accepted;
            ++open_;
            int one = 1;
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            Conn& c = slot(fd);
            c = Conn{};
            c.role = role;
            switch (role) {
            case Role::kEcho: ctl(EPOLL_CTL_ADD, fd, EPOLLIN | EPOLLRDHUP); break;
            case Role::kSink: ctl(EPOLL_CTL_ADD, fd, EPOLLIN | EPOLLRDHUP); break;
            // Edge-triggered: write until EAGAIN, then wait for the next edge.
            case Role::kSource:
                ctl(EPOLL_CTL_ADD, fd, EPOLLOUT | EPOLLIN | EPOLLRDHUP | EPOLLET);
                on_source(fd, EPOLLOUT);
                break;
            default: break;
            }
        }
    }

    // Echo: read, write back; if the peer does not take it all, stop reading until it has.
    // A reset from a client that went away mid-request is normal at the end of a run.
    void close_on_error(int fd) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
        close_conn(fd, err != ECONNRESET && err != EPIPE);
    }

    void on_echo(int fd, Conn& c, uint32_t events) {
        if (events & EPOLLERR) return close_on_error(fd);
        if (!c.pending.empty()) {
            if (!flush(fd, c)) return;
            if (!c.pending.empty()) return;
        }
        if (!(events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP))) return;
        for (int i = 0; i < 16; ++i) {
            ssize_t n = recv(fd, buf_, sizeof buf_, 0);
            if (n == 0) return close_conn(fd, false);
            if (n < 0) {
                if (errno == EAGAIN || errno == EINTR) return;
                return close_conn(fd, errno != ECONNRESET);
            }
            totals_.bytes_in += n;
            ssize_t w = send(fd, buf_, n, MSG_NOSIGNAL);
            if (w < 0) {
                if (errno != EAGAIN) return close_conn(fd, errno != ECONNRESET && errno != EPIPE);
                w = 0;
            }
            totals_.bytes_out += w;
            if (w < n) {
                c.pending.assign(buf_ + w, n - w);
                c.pending_off = 0;
                c.want_out = true;
                ctl(EPOLL_CTL_MOD, fd, EPOLLOUT | EPOLLRDHUP);
                return;
            }
            if (static_cast<size_t>(n) < sizeof buf_) return;
        }
    }

    // Returns false when the connection was closed.
    bool flush(int fd, Conn& c) {
        while (c.pending_off < c.pending.size()) {
            ssize_t w = send(fd, c.pending.data() + c.pending_off, c.pending.size() - c.pending_off,
                             MSG_NOSIGNAL);
            if (w < 0) {
                if (errno == EAGAIN) return true;
                close_conn(fd, errno != ECONNRESET && errno != EPIPE);
                return false;
            }
            totals_.bytes_out += w;
            c.pending_off += w;
        }
        c.pending.clear();
        c.pending_off = 0;
        if (c.want_out) {
            c.want_out = false;
            ctl(EPOLL_CTL_MOD, fd, EPOLLIN | EPOLLRDHUP);
        }
        return true;
    }

    void on_sink(int fd, uint32_t events) {
        if (events & EPOLLERR) return close_on_error(fd);
        for (int i = 0; i < 64; ++i) {
            ssize_t n = recv(fd, buf_, sizeof buf_, 0);
            if (n == 0) return close_conn(fd, false);
            if (n < 0) {
                if (errno == EAGAIN || errno == EINTR) return;
                return close_conn(fd, errno != ECONNRESET);
            }
            totals_.bytes_in += n;
        }
    }

    void on_source(int fd, uint32_t events) {
        if (events & (EPOLLERR | EPOLLHUP)) return close_conn(fd, false);
        if (events & (EPOLLIN | EPOLLRDHUP)) {
            // The client sends nothing; readable means it closed (or reset).
            ssize_t n = recv(fd, buf_, sizeof buf_, 0);
            if (n == 0 || (n < 0 && errno != EAGAIN)) return close_conn(fd, false);
        }
        if (!(events & EPOLLOUT)) return;
        // Bounded per event so one fast stream cannot starve the others; with
        // edge-triggered EPOLLOUT we must then come back by ourselves.
        for (int i = 0; i < 64; ++i) {
            ssize_t w = send(fd, buf_, sizeof buf_, MSG_NOSIGNAL);
            if (w < 0) {
                if (errno == EAGAIN) return;
                return close_conn(fd, false);
            }
            totals_.bytes_out += w;
        }
        again_.push_back(fd);
    }

public:
    // Sources that stopped only because of the per-event bound, not EAGAIN.
    void run_deferred() {
        std::vector<int> fds;
        fds.swap(again_);
        for (int fd : fds) {
            if (slot(fd).role == Role::kSource) on_source(fd, EPOLLOUT);
        }
    }
    bool has_deferred() const { return !again_.empty(); }

private:
    int epfd_;
    std::vector<Conn> conns_;
    std::vector<int> again_;
    Totals totals_;
    uint64_t open_ = 0;
    char buf_[kChunk];
};

int run(int argc, char** argv) {
    std::string ip = "127.0.0.1";
    int echo_port = -1, sink_port = -1, source_port = -1, free_ports = 0;
    double max_seconds = 600;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto next = [&]() -> std::string {
            if (i + 1 >= argc) usage();
            return argv[++i];
        };
        if (a == "--bind") ip = next();
        else if (a == "--echo-port") echo_port = std::atoi(next().c_str());
        else if (a == "--sink-port") sink_port = std::atoi(next().c_str());
        else if (a == "--source-port") source_port = std::atoi(next().c_str());
        else if (a == "--max-seconds") max_seconds = std::atof(next().c_str());
        else if (a == "--free-ports") free_ports = std::atoi(next().c_str());
        else usage();
    }
    if (free_ports > 0) return print_free_ports(ip, free_ports);
    if (echo_port < 0 && sink_port < 0 && source_port < 0) usage();
    if (max_seconds <= 0 || max_seconds > 24 * 3600) usage();

    signal(SIGPIPE, SIG_IGN);
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);

    int epfd = epoll_create1(EPOLL_CLOEXEC);
    if (epfd < 0) die("epoll_create1");
    auto server = std::make_unique<Server>(epfd);

    std::string ports;
    auto add = [&](int port, Role role, const char* name) {
        if (port < 0) return;
        uint16_t bound = 0;
        int fd = open_listener(ip, static_cast<uint16_t>(port), &bound);
        server->add_listener(fd, role);
        ports += std::string(ports.empty() ? "" : ",") + "\"" + name + "\":" + std::to_string(bound);
    };
    add(echo_port, Role::kListenEcho, "echo");
    add(sink_port, Role::kListenSink, "sink");
    add(source_port, Role::kListenSource, "source");
    std::printf("{\"ready\":true,\"bind\":\"%s\",%s}\n", ip.c_str(), ports.c_str());
    std::fflush(stdout);

    using Clock = std::chrono::steady_clock;
    const auto deadline = Clock::now() + std::chrono::duration<double>(max_seconds);
    epoll_event events[kMaxEvents];
    while (!g_stop && Clock::now() < deadline) {
        int timeout_ms = server->has_deferred() ? 0 : 200;
        int n = epoll_wait(epfd, events, kMaxEvents, timeout_ms);
        if (n < 0) {
            if (errno == EINTR) continue;
            die("epoll_wait");
        }
        for (int i = 0; i < n; ++i) server->handle(events[i].data.fd, events[i].events);
        server->run_deferred();
    }
    const Totals& t = server->totals();
    std::fprintf(stderr,
                 "{\"bench_backend\":\"exit\",\"accepted\":%llu,\"open\":%llu,\"bytes_in\":%llu,"
                 "\"bytes_out\":%llu,\"errors\":%llu}\n",
                 static_cast<unsigned long long>(t.accepted),
                 static_cast<unsigned long long>(server->open_conns()),
                 static_cast<unsigned long long>(t.bytes_in),
                 static_cast<unsigned long long>(t.bytes_out),
                 static_cast<unsigned long long>(t.errors));
    return 0;
}

}  // namespace
}  // namespace ringlb

int main(int argc, char** argv) { return ringlb::run(argc, argv); }
