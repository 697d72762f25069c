// open_listener_sockets: one listening SO_REUSEPORT socket per worker on one
// address, or the reason none could be had. Real sockets on 127.0.0.1.
#include <gtest/gtest.h>

#include <netinet/in.h>
#include <sys/socket.h>

#include <string>

#include "core/forward/listener_socket.h"

namespace ringlb {
namespace {

// A port that is free right now: the kernel picks one for a throwaway socket.
uint16_t free_port() {
    UniqueFd probe(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    if (::bind(probe.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        getsockname(probe.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0)
        return 0;
    return ntohs(addr.sin_port);
}

bool listening(int fd) {
    int on = 0;
    socklen_t len = sizeof(on);
    return getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &len) == 0 && on == 1;
}

TEST(ListenerSocket, EveryWorkerGetsItsOwnListeningSocketOnTheSameAddress) {
    const uint16_t port = free_port();
    ASSERT_NE(port, 0);
    const InetAddr bind = *InetAddr::parse("127.0.0.1:" + std::to_string(port));
    Result<std::shared_ptr<ListenerSockets>> sockets = open_listener_sockets(bind, 3);
    ASSERT_TRUE(sockets) << sockets.error();
    EXPECT_EQ((*sockets)->bind, bind);
    ASSERT_EQ((*sockets)->per_worker.size(), 3u);
    for (const UniqueFd& fd : (*sockets)->per_worker) EXPECT_TRUE(listening(fd.get()));
}

TEST(ListenerSocket, AnAddressTakenWithoutReusePortFailsWithTheStepAndTheAddress) {
    const uint16_t port = free_port();
    ASSERT_NE(port, 0);
    const InetAddr bind = *InetAddr::parse("127.0.0.1:" + std::to_string(port));
    UniqueFd taken(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));  // no SO_REUSEPORT
    ASSERT_EQ(::bind(taken.get(), bind.sockaddr_ptr(), bind.sockaddr_len()), 0);
    ASSERT_EQ(::listen(taken.get(), 1), 0);

    Result<std::shared_ptr<ListenerSockets>> sockets = open_listener_sockets(bind, 2);
    ASSERT_FALSE(sockets);
    EXPECT_EQ(sockets.error(), "bind 127.0.0.1:" + std::to_string(port) + ": Address already in use");
}

}  // namespace
}  // namespace ringlb
