// PipePool: pipes carry the capacity the kernel really gave them, and only empty
// pipes are pooled. Real pipes.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <fstream>
#include <thread>

#include "core/forward/pipe_pool.h"

namespace ringlb {
namespace {

int kernel_size(const Pipe& pipe) { return fcntl(pipe.write_end.get(), F_GETPIPE_SZ); }

// Drops CAP_SYS_RESOURCE from the calling thread only (capabilities are per thread),
// so that F_SETPIPE_SZ past pipe-max-size fails as it does for an unprivileged daemon.
bool drop_sys_resource_in_this_thread() {
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[2]{};
    if (syscall(SYS_capget, &header, data) != 0) return false;
    data[CAP_SYS_RESOURCE / 32].effective &= ~(1u << (CAP_SYS_RESOURCE % 32));
    return syscall(SYS_capset, &header, data) == 0;
}

TEST(PipePool, APipeCarriesTheSizeTheKernelRoundedTo) {
    PipePool pool(5000, 4);  // not a power of two pages: the kernel rounds up
    Pipe pipe = pool.acquire();
    ASSERT_TRUE(pipe);
    EXPECT_EQ(int(pipe.capacity), kernel_size(pipe));
    EXPECT_GE(pipe.capacity, 5000u);
}

TEST(PipePool, ARefusedResizeLeavesTheSizeThePipeKept) {
    uint32_t max_size = 0;
    std::ifstream("/proc/sys/fs/pipe-max-size") >> max_size;
    ASSERT_GT(max_size, 0u);
    Pipe pipe;
    bool dropped = false;
    std::thread([&] {
        dropped = drop_sys_resource_in_this_thread();
        PipePool pool(size_t(max_size) * 2, 4);
        pipe = pool.acquire();
    }).join();
    ASSERT_TRUE(dropped);
    ASSERT_TRUE(pipe);
    EXPECT_EQ(int(pipe.capacity), kernel_size(pipe));
    EXPECT_LT(pipe.capacity, max_size * 2);
}

TEST(PipePool, AnEmptyPipeIsReusedWithItsCapacity) {
    PipePool pool(128 * 1024, 4);
    Pipe first = pool.acquire();
    ASSERT_TRUE(first);
    const int read_fd = first.read_end.get();
    const uint32_t capacity = first.capacity;
    pool.release(std::move(first), true);
    Pipe again = pool.acquire();
    EXPECT_EQ(again.read_end.get(), read_fd);
    EXPECT_EQ(again.capacity, capacity);
}

TEST(PipePool, APipeThatStillHoldsBytesIsClosedNotPooled) {
    PipePool pool(64 * 1024, 4);
    Pipe used = pool.acquire();
    ASSERT_TRUE(used);
    ASSERT_EQ(write(used.write_end.get(), "x", 1), 1);
    const int read_fd = used.read_end.get();
    pool.release(std::move(used), false);
    EXPECT_EQ(fcntl(read_fd, F_GETFD), -1);  // closed
    Pipe fresh = pool.acquire();
    ASSERT_TRUE(fresh);
    char byte;
    EXPECT_EQ(read(fresh.read_end.get(), &byte, 1), -1);  // empty (nonblocking): not the old one
    EXPECT_EQ(errno, EAGAIN);
}

TEST(PipePool, NoMoreThanMaxIdlePipesAreKept) {
    PipePool pool(64 * 1024, 1);
    Pipe a = pool.acquire(), b = pool.acquire();
    const int b_fd = b.read_end.get();
    pool.release(std::move(a), true);
    pool.release(std::move(b), true);  // over max_idle: closed
    EXPECT_EQ(fcntl(b_fd, F_GETFD), -1);
}

}  // namespace
}  // namespace ringlb
