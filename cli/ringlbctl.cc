// ringlbctl: sends one request to ringlbd's control socket and prints the
// answer as a table (default) or as the raw JSON line (--json).
// Exit status: 0 done, 1 refused, 2 ringlbd unreachable (DESIGN §7).
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <iostream>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/cli_args.h"
#include "cli/table.h"
#include "core/base/unique_fd.h"
#include "core/base/version.h"

using namespace ringlb;

namespace {

constexpr int kRefused = 1;
constexpr int kUnreachable = 2;
constexpr size_t kMaxResponse = 64 << 20;

struct Exchange {
    std::string response;  // one line without its '\n'
    std::string error;     // why there is none
};

// Connects, sends `request`, reads one line back, all within timeout_s.
Exchange exchange(const std::string& path, const std::string& request, double timeout_s) {
    Exchange result;
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (path.size() >= sizeof(address.sun_path)) {
        result.error = "socket path too long: " + path;
        return result;
    }
    std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd || ::connect(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
        const int error = errno;
        result.error = "cannot connect to " + path + ": " + std::strerror(error) +
                       (error == EACCES ? " (root or the group ringlb may use it)" : " (is ringlbd running?)");
        return result;
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
        if (!wait(POLLOUT)) {
            result.error = "timed out sending the request to " + path;
            return result;
        }
        ssize_t n = ::send(fd.get(), request.data() + sent, request.size() - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        // ringlbd may have answered and hung up already (a refused peer): read that answer.
        if (n < 0 && (errno == EPIPE || errno == ECONNRESET)) break;
        if (n < 0) {
            result.error = "sending to " + path + ": " + std::strerror(errno);
            return result;
        }
        sent += size_t(n);
    }
    std::string received;
    char buffer[65536];
    for (;;) {
        size_t newline = received.find('\n');
        if (newline != std::string::npos) {
            result.response = received.substr(0, newline);
            return result;
        }
        if (received.size() > kMaxResponse) {
            result.error = "answer from " + path + " too long";
            return result;
        }
        if (!wait(POLLIN)) {
            result.error = "no answer from " + path + " within " + std::to_string(int(timeout_s)) + " s";
            return result;
        }
        ssize_t n = ::recv(fd.get(), buffer, sizeof(buffer), MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        if (n <= 0) {
            result.error = n == 0 ? "ringlbd closed the connection without answering"
                                  : std::string("reading from ") + path + ": " + std::strerror(errno);
            return result;
        }
        received.append(buffer, size_t(n));
    }
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<std::string> args(argv + 1, argv + argc);
    Result<CliInvocation> parsed = parse_cli(args);
    if (!parsed) {
        std::cerr << "ringlbctl: " << parsed.error() << "\n(ringlbctl --help lists the commands)\n";
        return kRefused;
    }
    const CliInvocation& cli = *parsed;
    if (cli.help) {
        std::cout << cli_usage();
        return 0;
    }
    if (cli.version) {
        std::cout << "ringlbctl " << RINGLB_VERSION << "\n";
        return 0;
    }
    Exchange result = exchange(cli.socket, format_request(cli.request), cli.timeout_s);
    if (!result.error.empty()) {
        std::cerr << "ringlbctl: " << result.error << "\n";
        return kUnreachable;
    }
    nlohmann::json response = nlohmann::json::parse(result.response, nullptr, false);
    if (response.is_discarded() || !response.is_object() || !response.contains("ok")) {
        std::cerr << "ringlbctl: not a ringlbd answer: " << result.response.substr(0, 200) << "\n";
        return kUnreachable;
    }
    const bool ok = response["ok"].is_boolean() && response["ok"].get<bool>();
    if (cli.json) {
        std::cout << result.response << "\n";
        return ok ? 0 : kRefused;
    }
    if (!ok) {
        std::cerr << "ringlbctl: " << response.value("error", std::string("refused")) << "\n";
        return kRefused;
    }
    std::cout << render_response(cli.request.kind, response);
    return 0;
}
