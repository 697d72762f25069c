// Control thread: epoll loop over the control socket, the metrics endpoint
// and their clients.
#include "core/control/control_server.h"

#include <grp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "core/base/log.h"
#include "core/control/metrics_http.h"

namespace ringlb {

namespace {

constexpr size_t kReadChunk = 64 * 1024;
constexpr int kReadsPerWakeup = 16;      // then other clients get their turn
constexpr int kAcceptsPerWakeup = 64;
constexpr uint64_t kWakeTag = UINT64_MAX;
constexpr uint64_t kUnixListenerTag = UINT64_MAX - 1;
constexpr uint64_t kHttpListenerTag = UINT64_MAX - 2;
constexpr int64_t kNoRequest = -1;

LogRateLimit refused_log;
LogRateLimit full_log;
LogRateLimit slow_request_log;
LogRateLimit evicted_log;

// A last word to a client about to be closed: nonblocking, and lost if it does not fit.
void send_last_words(int fd, const std::string& text) {
    ssize_t ignored = ::send(fd, text.data(), text.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    (void)ignored;
}

// Start-up failures stop ringlbd with what failed and errno's text.
[[noreturn]] void throw_errno(const std::string& what) {
    throw std::runtime_error(what + ": " + std::strerror(errno));
}

// mkdir -p, for the directory that holds the socket.
void make_directories(const std::string& dir) {
    if (dir.empty()) return;
    struct stat st{};
    if (::stat(dir.c_str(), &st) == 0) {
        if (!S_ISDIR(st.st_mode)) {
            errno = ENOTDIR;
            throw_errno("control_socket: " + dir);
        }
        return;
    }
    size_t slash = dir.rfind('/');
    if (slash != std::string::npos && slash > 0) make_directories(dir.substr(0, slash));
    if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) throw_errno("control_socket: mkdir " + dir);
}

gid_t lookup_group(const std::string& name) {
    if (name.empty()) return gid_t(-1);
    std::vector<char> buffer(16384);
    group entry{};
    group* found = nullptr;
    if (getgrnam_r(name.c_str(), &entry, buffer.data(), buffer.size(), &found) != 0 || found == nullptr)
        return gid_t(-1);
    return found->gr_gid;
}

void listen_or_throw(int fd, const std::string& what) {
    if (::listen(fd, 128) != 0) throw_errno(what + ": listen");
}

}  // namespace

struct ControlServer::Client {
    UniqueFd fd;
    bool http = false;
    std::string in;
    std::string out;
    size_t out_pos = 0;
    int64_t last_active_ms = 0;
    int64_t accepted_ms = 0;
    bool root = false;               // a control client of uid 0
    bool got_bytes = false;          // sent anything at all
    int64_t request_started_ms = kNoRequest;  // first byte of the incomplete request in `in`
    bool read_closed = false;        // EOF seen, or we stopped reading for good
    bool close_after_write = false;  // once `out` is written, close
    uint32_t interest = 0;           // the epoll events registered now
};

ControlServer::ControlServer(ControlServerOptions options, ControlContext context,
                             std::function<std::string()> metrics_body)
    : options_(std::move(options)), context_(std::move(context)), metrics_body_(std::move(metrics_body)) {}

ControlServer::~ControlServer() { stop(); }

void ControlServer::open() {
    epoll_.reset(epoll_create1(EPOLL_CLOEXEC));
    if (!epoll_) throw_errno("epoll_create1");
    wake_.reset(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!wake_) throw_errno("eventfd");

    const std::string& path = options_.socket_path;
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (path.empty() || path.size() >= sizeof(address.sun_path))
        throw std::runtime_error("control_socket '" + path + "': the path must be 1 to " +
                                 std::to_string(sizeof(address.sun_path) - 1) + " bytes");
    std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
    size_t slash = path.rfind('/');
    if (slash != std::string::npos && slash > 0) make_directories(path.substr(0, slash));

    struct stat st{};
    if (::lstat(path.c_str(), &st) == 0) {
        if (!S_ISSOCK(st.st_mode))
            throw std::runtime_error("control_socket " + path + ": exists and is not a socket; not touching it");
        // A socket file: in use if something accepts on it, else left by a crash.
        UniqueFd probe(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
        if (probe && ::connect(probe.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0)
            throw std::runtime_error("control_socket " + path + ": another process (another ringlbd?) is listening there");
        if (::unlink(path.c_str()) != 0) throw_errno("control_socket " + path + ": removing the stale socket");
        spdlog::info("control socket {}: removed a stale socket file", path);
    }
    unix_listener_.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!unix_listener_) throw_errno("control_socket: socket");
    if (::bind(unix_listener_.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0)
        throw_errno("control_socket " + path + ": bind");
    // Before listen(): no client can connect while the mode is still the umask's.
    if (::chmod(path.c_str(), 0660) != 0) throw_errno("control_socket " + path + ": chmod 0660");
    group_gid_ = lookup_group(options_.group);
    if (group_gid_ != gid_t(-1) && ::chown(path.c_str(), uid_t(-1), group_gid_) != 0)
        spdlog::warn("control socket {}: chown to group {}: {}", path, options_.group, std::strerror(errno));
    if (::stat(path.c_str(), &st) == 0) socket_inode_ = st.st_ino;
    listen_or_throw(unix_listener_.get(), "control_socket " + path);

    if (options_.metrics) {
        const InetAddr& bind = *options_.metrics;
        const std::string what = "metrics " + bind.to_string();
        http_listener_.reset(::socket(bind.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
        if (!http_listener_) throw_errno(what + ": socket");
        int one = 1;
        setsockopt(http_listener_.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (::bind(http_listener_.get(), bind.sockaddr_ptr(), bind.sockaddr_len()) != 0) throw_errno(what + ": bind");
        listen_or_throw(http_listener_.get(), what);
    }

    auto watch = [&](int fd, uint64_t tag) {
        epoll_event event{};
        event.events = EPOLLIN;
        event.data.u64 = tag;
        if (epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &event) != 0) throw_errno("epoll_ctl");
    };
    watch(wake_.get(), kWakeTag);
    watch(unix_listener_.get(), kUnixListenerTag);
    if (http_listener_) watch(http_listener_.get(), kHttpListenerTag);
    spdlog::info("control socket {} (mode 0660{}){}", path,
                 group_gid_ != gid_t(-1) ? ", group " + options_.group : ", no group '" + options_.group + "'",
                 options_.metrics ? "; metrics on http://" + options_.metrics->to_string() + "/metrics" : "");
}

void ControlServer::start() {
    thread_ = std::thread([this] {
        pthread_setname_np(pthread_self(), "ringlb-ctl");
        run();
    });
}

void ControlServer::stop() {
    if (thread_.joinable()) {
        stopping_.store(true);
        uint64_t one = 1;
        ssize_t ignored = ::write(wake_.get(), &one, sizeof(one));
        (void)ignored;
        thread_.join();
    }
    clients_.clear();
    if (unix_listener_) {
        unix_listener_.reset();
        // Remove the file only if it is still ours (not a newer daemon's).
        struct stat st{};
        if (::lstat(options_.socket_path.c_str(), &st) == 0 && st.st_ino == socket_inode_)
            ::unlink(options_.socket_path.c_str());
    }
    http_listener_.reset();
}

void ControlServer::run() {
    std::vector<epoll_event> events(64);
    int64_t next_expiry_ms = INT64_MAX;
    while (!stopping_.load()) {
        int64_t now = monotonic_ms();
        resume_accepting_when_due(now);
        if (accept_paused_until_ms_ != 0) next_expiry_ms = std::min(next_expiry_ms, accept_paused_until_ms_);
        int timeout = 1000;
        if (next_expiry_ms != INT64_MAX) timeout = int(std::clamp<int64_t>(next_expiry_ms - now, 0, 1000));
        int n = epoll_wait(epoll_.get(), events.data(), int(events.size()), timeout);
        if (n < 0 && errno != EINTR) {
            spdlog::error("control thread: epoll_wait: {}", std::strerror(errno));
            return;
        }
        for (int i = 0; i < n; ++i) {
            uint64_t tag = events[i].data.u64;
            if (tag == kWakeTag) continue;
            if (tag == kUnixListenerTag) {
                accept_clients(unix_listener_.get(), false);
                continue;
            }
            if (tag == kHttpListenerTag) {
                accept_clients(http_listener_.get(), true);
                continue;
            }
            auto it = clients_.find(int(tag));
            if (it != clients_.end()) on_client_event(*it->second, events[i].events);
        }
        next_expiry_ms = expire_clients(monotonic_ms());
    }
}

ControlServer::Peer ControlServer::identify_peer(int fd) const {
    ucred cred{};
    socklen_t len = sizeof(cred);
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return {"unknown peer", false};
    Peer peer{"uid " + std::to_string(cred.uid) + " (pid " + std::to_string(cred.pid) + ")", false, cred.uid == 0};
    if (cred.uid == 0 || cred.uid == geteuid() || (group_gid_ != gid_t(-1) && cred.gid == group_gid_)) {
        peer.allowed = true;
        return peer;
    }
    if (group_gid_ == gid_t(-1)) return peer;
    // Supplementary groups of the peer (Linux 4.13+).
    std::vector<gid_t> groups(64);
    for (int attempt = 0; attempt < 2; ++attempt) {
        socklen_t size = socklen_t(groups.size() * sizeof(gid_t));
        if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups.data(), &size) == 0) {
            groups.resize(size / sizeof(gid_t));
            peer.allowed = std::find(groups.begin(), groups.end(), group_gid_) != groups.end();
            return peer;
        }
        if (errno != ERANGE) return peer;
        groups.resize(size / sizeof(gid_t) + 1);
    }
    return peer;
}

void ControlServer::accept_clients(int listen_fd, bool http) {
    for (int i = 0; i < kAcceptsPerWakeup && accept_paused_until_ms_ == 0; ++i) {
        UniqueFd fd(::accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
        if (!fd) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) return pause_accepting(errno);
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED) {
                uint64_t suppressed = 0;
                if (full_log.allow(monotonic_ms(), &suppressed))
                    spdlog::warn("control thread: accept: {} ({} more since last line)", std::strerror(errno),
                                 suppressed);
            }
            return;
        }
        Peer peer;
        if (!http) {
            peer = identify_peer(fd.get());
            if (!peer.allowed) {
                uint64_t suppressed = 0;
                if (refused_log.allow(monotonic_ms(), &suppressed))
                    spdlog::warn("control socket: refused {}: not root and not in group {} ({} more since last line)",
                                 peer.who, options_.group, suppressed);
                send_last_words(fd.get(), format_error("permission denied: " + peer.who +
                                                       " is not root and not in group " + options_.group));
                continue;
            }
        }
        // A refused client gets one line (send_last_words) and is closed.
        if (!make_room(http, peer.root)) {
            send_last_words(fd.get(), http ? format_http_response(503, "Service Unavailable", "text/plain",
                                                                  "too many clients\n", false)
                                           : format_error("too many clients"));
            continue;
        }
        auto client = std::make_unique<Client>();
        client->http = http;
        client->root = peer.root;
        client->last_active_ms = client->accepted_ms = monotonic_ms();
        client->interest = EPOLLIN | EPOLLRDHUP;
        epoll_event event{};
        event.events = client->interest;
        event.data.u64 = uint64_t(fd.get());
        if (epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd.get(), &event) != 0) continue;
        int key = fd.get();
        client->fd = std::move(fd);
        clients_[key] = std::move(client);
    }
}

bool ControlServer::make_room(bool http, bool root) {
    std::vector<AdmittedClient> held;
    held.reserve(clients_.size());
    for (const auto& [key, c] : clients_) {
        const bool idle = c->in.empty() && c->out.empty() && !c->close_after_write;
        held.push_back({key, c->http, c->root, idle, c->accepted_ms});
    }
    const Admission admission = admit_client(options_.limits, http, root, held);
    const char* what = http ? "metrics" : "control";
    uint64_t suppressed = 0;
    if (admission.verdict == Admission::Verdict::kRefuse) {
        if (full_log.allow(monotonic_ms(), &suppressed))
            spdlog::warn("control thread: {} {} clients already, none idle; refusing more ({} more since last line)",
                         std::count_if(held.begin(), held.end(), [&](const AdmittedClient& c) { return c.http == http; }),
                         what, suppressed);
        return false;
    }
    if (admission.verdict == Admission::Verdict::kAdmitAfterEvicting) {
        if (evicted_log.allow(monotonic_ms(), &suppressed))
            spdlog::info("control thread: {} clients at the limit; closed the oldest idle one for a new {} client "
                         "({} more since last line)",
                         what, root ? "root" : what, suppressed);
        close_client(admission.evict);
    }
    return true;
}

void ControlServer::pause_accepting(int error) {
    const int64_t now = monotonic_ms();
    uint64_t suppressed = 0;
    if (full_log.allow(now, &suppressed))
        spdlog::warn("control thread: accept: {}: pausing accepts for {} ms ({} more since last line)",
                     std::strerror(error), options_.accept_pause_ms, suppressed);
    accept_paused_until_ms_ = now + options_.accept_pause_ms;
    epoll_event none{};
    for (const UniqueFd* listener : {&unix_listener_, &http_listener_}) {
        if (!*listener) continue;
        none.data.u64 = listener == &unix_listener_ ? kUnixListenerTag : kHttpListenerTag;
        epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, listener->get(), &none);
    }
}

void ControlServer::resume_accepting_when_due(int64_t now_ms) {
    if (accept_paused_until_ms_ == 0 || now_ms < accept_paused_until_ms_) return;
    accept_paused_until_ms_ = 0;
    epoll_event in{};
    in.events = EPOLLIN;
    for (const UniqueFd* listener : {&unix_listener_, &http_listener_}) {
        if (!*listener) continue;
        in.data.u64 = listener == &unix_listener_ ? kUnixListenerTag : kHttpListenerTag;
        epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, listener->get(), &in);
    }
}

void ControlServer::on_client_event(Client& client, uint32_t events) {
    int key = client.fd.get();
    if (events & EPOLLERR) return close_client(key);
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP)) {
        read_client(client);
        if (!clients_.count(key)) return;
    }
    write_client(client);
    if (!clients_.count(key)) return;
    update_interest(client);
}

void ControlServer::read_client(Client& client) {
    char buffer[kReadChunk];
    for (int i = 0; i < kReadsPerWakeup && !client.read_closed && !client.close_after_write; ++i) {
        if (client.out.size() - client.out_pos > options_.max_pending_output) break;  // let it read first
        ssize_t n = ::recv(client.fd.get(), buffer, sizeof(buffer), 0);
        if (n > 0) {
            client.last_active_ms = monotonic_ms();
            client.got_bytes = true;
            if (client.in.empty()) client.request_started_ms = client.last_active_ms;
            client.in.append(buffer, size_t(n));
            if (client.http) process_http_input(client);
            else process_control_input(client);
            continue;
        }
        if (n == 0) {
            client.read_closed = true;
            if (!client.http) process_control_input(client);
            else if (!client.close_after_write) client.close_after_write = true;  // gave up mid-request
            break;
        }
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        return close_client(client.fd.get());
    }
}

void ControlServer::process_control_input(Client& client) {
    size_t start = 0;
    bool held_back = false;  // by our own output backpressure, not by the client
    for (;;) {
        if (client.out.size() - client.out_pos > options_.max_pending_output) {
            held_back = true;
            break;
        }
        size_t newline = client.in.find('\n', start);
        if (newline == std::string::npos) break;
        std::string_view line(client.in.data() + start, newline - start);
        client.out += handle_control_line(line, context_);
        start = newline + 1;
    }
    client.in.erase(0, start);
    // What is left is the start of the next request: its deadline runs from now if
    // lines were taken, else from its first byte (set when it was read). Requests held
    // back while the client reads our answers have no deadline: the wait is ours; the
    // idle timeout still closes a client that stops reading.
    if (client.in.empty() || held_back) client.request_started_ms = kNoRequest;
    else if (start > 0 || client.request_started_ms == kNoRequest) client.request_started_ms = monotonic_ms();
    if (client.in.size() > kMaxRequestBytes) {
        // No newline within the limit: the stream cannot be resynchronised.
        client.out += format_error("request longer than " + std::to_string(kMaxRequestBytes) + " bytes; closing");
        client.in.clear();
        client.close_after_write = true;
        return;
    }
    if (client.read_closed) {
        // A last request without its '\n' (e.g. printf '%s' ... | nc -U) still gets an answer.
        if (!client.in.empty() && client.out.size() - client.out_pos <= options_.max_pending_output) {
            client.out += handle_control_line(client.in, context_);
            client.in.clear();
            client.request_started_ms = kNoRequest;
        }
        if (client.in.empty()) client.close_after_write = true;
    }
}

void ControlServer::process_http_input(Client& client) {
    HttpRequestHead head = parse_http_request_head(client.in);
    if (head.state == HttpRequestHead::State::kIncomplete) return;
    client.out = respond_http(head, metrics_body_);
    client.out_pos = 0;
    client.in.clear();
    client.request_started_ms = kNoRequest;
    client.close_after_write = true;
}

void ControlServer::write_client(Client& client) {
    while (client.out_pos < client.out.size()) {
        ssize_t n = ::send(client.fd.get(), client.out.data() + client.out_pos, client.out.size() - client.out_pos,
                           MSG_NOSIGNAL);
        if (n > 0) {
            client.out_pos += size_t(n);
            client.last_active_ms = monotonic_ms();
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        return close_client(client.fd.get());
    }
    if (client.out_pos == client.out.size()) {
        client.out.clear();
        client.out_pos = 0;
        if (client.close_after_write) return close_client(client.fd.get());
        // Output drained: lines held back by backpressure can run now.
        if (!client.http && client.in.find('\n') != std::string::npos) {
            process_control_input(client);
            if (!client.out.empty()) write_client(client);
        }
    }
}

void ControlServer::update_interest(Client& client) {
    const bool pending = client.out_pos < client.out.size();
    uint32_t want = 0;
    if (!client.read_closed && !client.close_after_write &&
        client.out.size() - client.out_pos <= options_.max_pending_output)
        want |= EPOLLIN | EPOLLRDHUP;
    if (pending) want |= EPOLLOUT;
    if (want == 0) {
        // Nothing to read or write any more.
        if (!pending) return close_client(client.fd.get());
    }
    if (want == client.interest) return;
    epoll_event event{};
    event.events = want;
    event.data.u64 = uint64_t(client.fd.get());
    if (epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, client.fd.get(), &event) == 0) client.interest = want;
}

void ControlServer::close_client(int fd) {
    auto it = clients_.find(fd);
    if (it == clients_.end()) return;
    epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
    clients_.erase(it);
}

int64_t ControlServer::expire_clients(int64_t now_ms) {
    int64_t next = INT64_MAX;
    std::vector<int> idle;
    std::vector<int> too_slow;
    for (const auto& [fd, client] : clients_) {
        int64_t idle_deadline = client->last_active_ms + options_.idle_timeout_ms;
        if (client->http && !client->got_bytes)
            idle_deadline = std::min(idle_deadline, client->accepted_ms + options_.http_first_byte_timeout_ms);
        int64_t request_deadline = client->request_started_ms == kNoRequest
                                       ? INT64_MAX
                                       : client->request_started_ms + options_.request_timeout_ms;
        if (request_deadline <= now_ms) too_slow.push_back(fd);
        else if (idle_deadline <= now_ms) idle.push_back(fd);
        else next = std::min({next, idle_deadline, request_deadline});
    }
    for (int fd : idle) close_client(fd);
    for (int fd : too_slow) close_for_request_timeout(*clients_.at(fd));
    return next;
}

void ControlServer::close_for_request_timeout(Client& client) {
    uint64_t suppressed = 0;
    if (slow_request_log.allow(monotonic_ms(), &suppressed))
        spdlog::warn("{}: closed a client whose request was not complete {} ms after its first byte ({} more since "
                     "last line)",
                     client.http ? "metrics endpoint" : "control socket", options_.request_timeout_ms, suppressed);
    // One best-effort answer that says why, as HAProxy's 408; then the slot is free.
    std::string why = "request not complete within " + std::to_string(options_.request_timeout_ms / 1000) + " s";
    std::string text = client.http ? format_http_response(408, "Request Timeout", "text/plain", why + "\n", false)
                                   : format_error(why + "; closing");
    send_last_words(client.fd.get(), text);
    close_client(client.fd.get());
}

}  // namespace ringlb
