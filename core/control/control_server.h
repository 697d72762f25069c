// The control thread's I/O (DESIGN §2, §7): the Unix control socket and the
// metrics HTTP endpoint on one epoll loop. Many clients at once, nonblocking,
// each with its own buffers; requests run one at a time on this thread.
// What a request does is control_commands; the metrics text is metrics_http.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>

#include "core/base/inet_addr.h"
#include "core/base/unique_fd.h"
#include "core/control/client_admission.h"
#include "core/control/control_commands.h"

namespace ringlb {

struct ControlServerOptions {
    std::string socket_path;                 // global.control_socket
    std::optional<InetAddr> metrics;         // global.metrics; unset = no endpoint
    std::string group = "ringlb";            // owns the socket; its members may use it
    int64_t idle_timeout_ms = 10000;         // a client silent this long is closed
    // A request (control line, HTTP head) must be whole this long after its first byte,
    // however often bytes trickle in: a slow-loris client cannot hold a slot.
    int64_t request_timeout_ms = 10000;
    // A metrics client that has sent nothing this long after connecting is closed
    // (nginx's client_header_timeout, HAProxy's timeout http-request on an empty
    // connection): idle scrapers cannot hold the endpoint's slots.
    int64_t http_first_byte_timeout_ms = 2000;
    // Control-socket and metrics clients have separate limits; root gets a reserve
    // beyond max_control_clients (client_admission.h).
    AdmissionLimits limits;
    // Out of descriptors, accepting stops this long (as the workers' accepts do)
    // instead of spinning on a level-triggered epoll with a full backlog.
    int64_t accept_pause_ms = 100;
    size_t max_pending_output = 4 << 20;     // per client: stop reading above this
};

class ControlServer {
public:
    // metrics_body: the /metrics page, built on the control thread per scrape.
    ControlServer(ControlServerOptions options, ControlContext context, std::function<std::string()> metrics_body);
    ~ControlServer();
    ControlServer(const ControlServer&) = delete;
    ControlServer& operator=(const ControlServer&) = delete;

    // Creates the socket (parent directory, stale file, mode 0660, group) and
    // binds the metrics address. Throws std::runtime_error naming what failed.
    void open();
    // Runs the loop on a new thread ("ringlb-ctl").
    void start();
    // Stops and joins the thread, closes every client, removes the socket file.
    void stop();

private:
    struct Client;

    void run();
    void accept_clients(int listen_fd, bool http);
    // Who is on the other end of a control connection ("uid 1000 (pid 42)"), and
    // whether it may use the socket: root, our own uid, or a member of the group.
    struct Peer {
        std::string who;
        bool allowed = false;
        bool root = false;
    };
    Peer identify_peer(int fd) const;
    void on_client_event(Client& client, uint32_t events);
    void read_client(Client& client);
    void process_control_input(Client& client);
    void process_http_input(Client& client);
    void write_client(Client& client);
    void update_interest(Client& client);
    void close_client(int fd);
    // Closes clients idle too long and those whose request is not whole in time;
    // returns when the next one is due (INT64_MAX: none).
    int64_t expire_clients(int64_t now_ms);
    void close_for_request_timeout(Client& client);
    // A new client's slot: admitted (after closing an idle one if need be) or refused.
    bool make_room(bool http, bool root);
    // Out of descriptors: stop watching the listeners until accept_paused_until_ms_.
    void pause_accepting(int error);
    void resume_accepting_when_due(int64_t now_ms);

    ControlServerOptions options_;
    ControlContext context_;
    std::function<std::string()> metrics_body_;

    UniqueFd epoll_;
    UniqueFd unix_listener_;
    UniqueFd http_listener_;
    UniqueFd wake_;
    ino_t socket_inode_ = 0;          // the socket file we created, to remove only ours
    gid_t group_gid_ = gid_t(-1);     // -1: no such group
    std::unordered_map<int, std::unique_ptr<Client>> clients_;
    int64_t accept_paused_until_ms_ = 0;  // 0: accepting
    std::atomic<bool> stopping_{false};
    std::thread thread_;
};

}  // namespace ringlb
