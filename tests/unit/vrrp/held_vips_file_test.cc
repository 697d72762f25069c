// The held-VIPs state file: its text both ways, a bad line refusing the whole file, the
// default path, and the atomic write read back.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "vrrp/held_vips_file.h"

namespace ringlb {
namespace {

HeldInstance multicast_master() {
    HeldInstance held;
    held.name = "vip1";
    held.interface = "eth0";
    held.vrid = 51;
    held.source = make_ipv4(10, 0, 0, 1);
    held.advert_interval_cs = 10;
    held.announced = {make_ipv4(10, 0, 0, 100), make_ipv4(10, 0, 0, 101)};
    held.held = {{make_ipv4(10, 0, 0, 100), 24}, {make_ipv4(10, 0, 0, 101), 32}};
    return held;
}

TEST(HeldVipsFile, EachInstanceIsOneLineWithWhatAPriorityZeroAdvertNeeds) {
    HeldInstance unicast = multicast_master();
    unicast.name = "db";
    unicast.interface = "bond0";
    unicast.unicast_peers = {make_ipv4(10, 0, 0, 2), make_ipv4(10, 0, 0, 3)};
    unicast.held = {{make_ipv4(10, 0, 0, 100), 24}};
    const std::string text = format_held_vips({multicast_master(), unicast});
    EXPECT_NE(text.find("\ninstance vip1 dev=eth0 vrid=51 source=10.0.0.1 interval_cs=10 peers=- "
                        "announce=10.0.0.100,10.0.0.101 held=10.0.0.100/24,10.0.0.101/32\n"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("\ninstance db dev=bond0 vrid=51 source=10.0.0.1 interval_cs=10 peers=10.0.0.2,10.0.0.3 "
                        "announce=10.0.0.100,10.0.0.101 held=10.0.0.100/24\n"),
              std::string::npos)
        << text;
}

TEST(HeldVipsFile, WhatIsFormattedParsesBackTheSame) {
    HeldInstance unicast = multicast_master();
    unicast.name = "db";
    unicast.unicast_peers = {make_ipv4(192, 0, 2, 7)};
    const std::vector<HeldInstance> instances{multicast_master(), unicast};
    auto parsed = parse_held_vips(format_held_vips(instances));
    ASSERT_TRUE(parsed) << parsed.error();
    EXPECT_EQ(*parsed, instances);
}

TEST(HeldVipsFile, NothingHeldIsAFileWithOnlyItsComment) {
    const std::string text = format_held_vips({});
    EXPECT_EQ(text.front(), '#');
    EXPECT_EQ(text.find('\n'), text.size() - 1);
    auto parsed = parse_held_vips(text);
    ASSERT_TRUE(parsed);
    EXPECT_TRUE(parsed->empty());
}

TEST(HeldVipsFile, ALineThatDoesNotParseRefusesTheWholeFileNamingTheLine) {
    const std::string good = format_held_vips({multicast_master()});
    for (const std::string bad : {"instance vip2 dev=eth0 vrid=0 source=10.0.0.1 held=10.0.0.5/24",
                                  "instance vip2 dev=eth0 vrid=5 source=10.0.0.1 held=10.0.0.5/33",
                                  "instance vip2 dev=eth0 vrid=5 source=10.0.0.1 held=10.0.0.5",
                                  "instance vip2 vrid=5 source=10.0.0.1 held=10.0.0.5/24",
                                  "instance vip2 dev=eth0 vrid=5 held=10.0.0.5/24",
                                  "instance vip2 dev=eth0 vrid=5 source=10.0.0.1 colour=blue",
                                  "vip2 dev=eth0 vrid=5 source=10.0.0.1", "instance"}) {
        auto parsed = parse_held_vips(good + "\n" + bad + "\n");
        ASSERT_FALSE(parsed) << bad;
        EXPECT_NE(parsed.error().find("line 4:"), std::string::npos) << parsed.error();
    }
}

TEST(HeldVipsFile, TheDefaultPathIsUnderTheRuntimeDirectoryNamedAfterTheConfigPath) {
    const char* saved = std::getenv("RUNTIME_DIRECTORY");
    const std::string restore = saved ? saved : "";
    ::unsetenv("RUNTIME_DIRECTORY");
    EXPECT_EQ(default_held_vips_path("/etc/ringlb/ringlb.conf"), "/run/ringlb/etc-ringlb-ringlb.conf.vips");
    EXPECT_EQ(default_held_vips_path("/etc/ringlb/../ringlb/b.conf"), "/run/ringlb/etc-ringlb-b.conf.vips");
    ::setenv("RUNTIME_DIRECTORY", "/run/ringlb:/run/other", 1);
    EXPECT_EQ(default_held_vips_path("/etc/ringlb/ringlb.conf"), "/run/ringlb/etc-ringlb-ringlb.conf.vips");
    ::setenv("RUNTIME_DIRECTORY", "/tmp/rt", 1);
    EXPECT_EQ(default_held_vips_path("/srv/a.conf"), "/tmp/rt/srv-a.conf.vips");
    if (saved) ::setenv("RUNTIME_DIRECTORY", restore.c_str(), 1);
    else ::unsetenv("RUNTIME_DIRECTORY");
}

TEST(HeldVipsFile, TheWriteReplacesTheFileWholeAndLeavesNoTemporary) {
    const std::filesystem::path dir =
        std::filesystem::temp_directory_path() / ("held-vips-test-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    const std::string path = (dir / "run" / "a.vips").string();  // the directory is made
    auto missing = read_held_vips_file(path);
    ASSERT_TRUE(missing);
    EXPECT_FALSE(missing->has_value());
    ASSERT_TRUE(write_held_vips_file(path, {multicast_master()}));
    ASSERT_TRUE(write_held_vips_file(path, {}));
    auto read = read_held_vips_file(path);
    ASSERT_TRUE(read);
    ASSERT_TRUE(read->has_value());
    EXPECT_TRUE((*read)->empty());
    EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
    std::ofstream(path) << "instance broken\n";
    auto broken = read_held_vips_file(path);
    ASSERT_FALSE(broken);
    EXPECT_NE(broken.error().find(path), std::string::npos);
    std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace ringlb
