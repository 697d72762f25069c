// systemd notification: the pure parts (NOTIFY_SOCKET addresses, watchdog interval). The datagrams themselves are tested against the real ringlbd
// in tests/integration/test_sd_notify.py.
#include <gtest/gtest.h>

#include <cstddef>
#include <cstring>

#include "core/daemon/sd_notify.h"

namespace ringlb {
namespace {

std::string path_of(const NotifyAddress& a) {
    return std::string(a.address.sun_path, a.length - offsetof(sockaddr_un, sun_path));
}

TEST(SdNotify, AnAbsolutePathIsUsedAsItIs) {
    auto a = parse_notify_socket("/run/systemd/notify");
    ASSERT_TRUE(a);
    EXPECT_EQ(a->address.sun_family, AF_UNIX);
    EXPECT_EQ(path_of(*a), "/run/systemd/notify");
}

TEST(SdNotify, AnAtSignMeansTheAbstractNamespace) {
    auto a = parse_notify_socket("@/org/freedesktop/systemd1/notify/42");
    ASSERT_TRUE(a);
    std::string p = path_of(*a);
    EXPECT_EQ(p[0], '\0');
    EXPECT_EQ(p.substr(1), "/org/freedesktop/systemd1/notify/42");
}

TEST(SdNotify, RelativeEmptyVsockAndOverlongAddressesAreRefused) {
    EXPECT_FALSE(parse_notify_socket(""));
    EXPECT_FALSE(parse_notify_socket("/"));
    EXPECT_FALSE(parse_notify_socket("run/notify"));
    EXPECT_FALSE(parse_notify_socket("vsock:2:1234"));
    EXPECT_TRUE(parse_notify_socket("/" + std::string(sizeof(sockaddr_un::sun_path) - 1, 'x')));
    EXPECT_FALSE(parse_notify_socket("/" + std::string(sizeof(sockaddr_un::sun_path), 'x')));
    EXPECT_EQ(parse_notify_socket("vsock:2:1234").error(), "not a Unix socket address");
}

TEST(SdNotify, ANotifierIsMadeOnlyForAUsableAddress) {
    Result<SystemdNotifier> notifier = SystemdNotifier::for_socket("@ringlb-sd-notify-test", 500);
    ASSERT_TRUE(notifier.ok()) << notifier.error();
    EXPECT_TRUE(notifier->enabled());
    EXPECT_EQ(notifier->watchdog_interval_ms(), 500);
    Result<SystemdNotifier> refused = SystemdNotifier::for_socket("run/notify", 500);
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.error(), "not a Unix socket address");
    EXPECT_FALSE(SystemdNotifier().enabled());
    EXPECT_EQ(SystemdNotifier().watchdog_interval_ms(), 0);
}

TEST(SdNotify, WatchdogIsPingedAtHalfItsTimeout) {
    EXPECT_EQ(watchdog_ping_interval_ms("20000000", nullptr, 100), 10000);
    EXPECT_EQ(watchdog_ping_interval_ms("20000000", "100", 100), 10000);
    EXPECT_EQ(watchdog_ping_interval_ms("1000", nullptr, 100), 1);  // 0.5 ms rounds up to 1
}

TEST(SdNotify, NoOrBadWatchdogUsecMeansNoWatchdog) {
    EXPECT_EQ(watchdog_ping_interval_ms(nullptr, nullptr, 100), 0);
    EXPECT_EQ(watchdog_ping_interval_ms("", nullptr, 100), 0);
    EXPECT_EQ(watchdog_ping_interval_ms("0", nullptr, 100), 0);
    EXPECT_EQ(watchdog_ping_interval_ms("20s", nullptr, 100), 0);
    EXPECT_EQ(watchdog_ping_interval_ms("-5", nullptr, 100), 0);
}

TEST(SdNotify, AWatchdogMeantForAnotherPidIsIgnored) {
    EXPECT_EQ(watchdog_ping_interval_ms("20000000", "101", 100), 0);
    EXPECT_EQ(watchdog_ping_interval_ms("20000000", "x", 100), 0);
}

}  // namespace
}  // namespace ringlb
