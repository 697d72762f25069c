// ringlbctl: sends one request to ringlbd's control socket and prints the
// answer as a table (default) or as the raw JSON line (--json).
// Exit status: 0 done, 1 refused, 2 ringlbd unreachable (DESIGN §7). The I/O
// only: the command line is cli_args, what is printed for an answer is table.
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <iostream>
#include <string>

#include "cli/cli_args.h"
#include "cli/table.h"
#include "core/base/unique_fd.h"
#include "core/base/version.h"

using namespace ringlb;

namespace {

constexpr size_t kMaxResponse = 64 << 20;

// Connects, sends `request`, reads one line back, all within timeout_s. The
// answer line without its '\n', or why there is none.
Result<std::string> exchange(const std::string& path, const std::string& request, double timeout_s) {
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (path.size() >= sizeof(address.sun_path)) return fail("socket path too long: " + path);
    std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd || ::connect(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
        const int error = errno;
        return fail("cannot connect to " + path + ": " + std::strerror(error) +
                    (error == EACCES ? " (root or the group ringlb may use it)" : " (is ringlbd running?)"));
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
    auto wait = [&](short events) {
        for (;;) {
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
            if (left.count() <= 0) return false;
            pollfd p{fd.get(), events, 0};
            int n = ::poll(&p, 1, int(std::min<int64_t>(left.count(), 1 << 30)));
            if (n > 0) return true;
            if (n < 0 && errno != EINTR) return false;
        }
    };
    size_t sent = 0;
    while (sent < request.size()) {
        if (!wait(POLLOUT)) return fail("timed out sending the request to " + path);
        ssize_t n = ::send(fd.get(), request.data() + sent, request.size() - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        // ringlbd may have answered and hung up already (a refused peer): read that answer.
        if (n < 0 && (errno == EPIPE || errno == ECONNRESET)) break;
        if (n < 0) return fail("sending to " + path + ": " + std::strerror(errno));
        sent += size_t(n);
    }
    std::string received;
    char buffer[65536];
    for (;;) {
        size_t newline = received.find('\n');
        if (newline != std::string::npos) return received.substr(0, newline);
        if (received.size() > kMaxResponse) return fail("answer from " + path + " too long");
        if (!wait(POLLIN)) return fail("no answer from " + path + " within " + std::to_string(int(timeout_s)) + " s");
        ssize_t n = ::recv(fd.get(), buffer, sizeof(buffer), MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        if (n == 0) return fail("ringlbd closed the connection without answering");
        if (n < 0) return fail("reading from " + path + ": " + std::strerror(errno));
        received.append(buffer, size_t(n));
    }
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<std::string> args(argv + 1, argv + argc);
    Result<CliInvocation> parsed = parse_cli(args);
    if (!parsed) {
        std::cerr << "ringlbctl: " << parsed.error() << "\n(ringlbctl --help lists the commands)\n";
        return kExitRefused;
    }
    const CliInvocation& cli = *parsed;
    if (cli.help) {
        std::cout << cli_usage();
        return kExitDone;
    }
    if (cli.version) {
        std::cout << "ringlbctl " << RINGLB_VERSION << "\n";
        return kExitDone;
    }
    Result<std::string> answer = exchange(cli.socket, format_request(cli.request), cli.timeout_s);
    if (!answer) {
        std::cerr << "ringlbctl: " << answer.error() << "\n";
        return kExitUnreachable;
    }
    CliOutput output = present_answer(cli.request.kind, cli.json, *answer);
    std::cout << output.out;
    std::cerr << output.err;
    return output.exit_status;
}
