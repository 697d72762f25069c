// The record the executor keeps of the VIPs held: what it writes to the state file as
// VIPs come and go, and a reload's new advert facts on a line already there.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "vrrp/held_vips_record.h"

namespace ringlb {
namespace {

VrrpInstanceConfig config(const std::string& name, uint8_t vrid) {
    VrrpInstanceConfig c;
    c.name = name;
    c.interface = "eth0";
    c.vrid = vrid;
    c.priority = 150;
    c.advert_interval = std::chrono::milliseconds(100);
    c.vips = {{make_ipv4(10, 0, 0, 100), 24}, {make_ipv4(10, 0, 0, 101), 32}};
    c.primary_address = make_ipv4(10, 0, 0, 1);
    return c;
}

class HeldVipsRecordTest : public ::testing::Test {
protected:
    void TearDown() override { std::filesystem::remove_all(dir_); }
    std::vector<HeldInstance> on_disk() {
        auto read = read_held_vips_file(path_);
        EXPECT_TRUE(read);
        return read && *read ? **read : std::vector<HeldInstance>{};
    }
    const std::filesystem::path dir_ =
        std::filesystem::temp_directory_path() / ("held-vips-record-" + std::to_string(::getpid()));
    const std::string path_ = (dir_ / "a.vips").string();
};

TEST_F(HeldVipsRecordTest, EachVipAddedOrRemovedIsInTheFileAtOnce) {
    HeldVipsRecord record(path_);
    RunnerInstance vip1(config("vip1", 51)), db(config("db", 52));
    record.write(0);
    EXPECT_TRUE(on_disk().empty());
    record.added(vip1, vip1.config.vips[0], 1);
    record.added(vip1, vip1.config.vips[1], 2);
    record.added(vip1, vip1.config.vips[1], 3);  // twice is once
    record.added(db, db.config.vips[0], 4);
    auto lines = on_disk();
    ASSERT_EQ(lines.size(), 2u);
    EXPECT_EQ(lines[0].name, "vip1");
    EXPECT_EQ(lines[0].vrid, 51);
    EXPECT_EQ(lines[0].source, make_ipv4(10, 0, 0, 1));
    EXPECT_EQ(lines[0].advert_interval_cs, 10);
    EXPECT_EQ(lines[0].announced, (std::vector<Ipv4>{make_ipv4(10, 0, 0, 100), make_ipv4(10, 0, 0, 101)}));
    EXPECT_EQ(lines[0].held, vip1.config.vips);
    EXPECT_EQ(record.addresses(), (std::vector<Ipv4>{make_ipv4(10, 0, 0, 100), make_ipv4(10, 0, 0, 101),
                                                     make_ipv4(10, 0, 0, 100)}));

    record.removed(vip1, vip1.config.vips[0], 5);
    record.removed(db, db.config.vips[0], 6);  // its last: the line goes
    lines = on_disk();
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_EQ(lines[0].held, (std::vector<Ipv4Prefix>{vip1.config.vips[1]}));
    record.remove_if_empty();
    EXPECT_TRUE(std::filesystem::exists(path_));  // still holds one
    record.removed(vip1, vip1.config.vips[1], 7);
    record.remove_if_empty();
    EXPECT_FALSE(std::filesystem::exists(path_));
}

TEST_F(HeldVipsRecordTest, AReloadedInstanceThatHoldsVipsGetsItsNewAdvertFacts) {
    HeldVipsRecord record(path_);
    RunnerInstance vip1(config("vip1", 51)), backup(config("backup", 53));
    record.added(vip1, vip1.config.vips[0], 1);
    vip1.config.advert_interval = std::chrono::milliseconds(1000);
    vip1.config.unicast_peers = {make_ipv4(10, 0, 0, 2)};
    vip1.config.vips.push_back({make_ipv4(10, 0, 0, 102), 32});
    record.refresh(vip1, 2);
    record.refresh(backup, 3);  // holds nothing: no line
    const auto lines = on_disk();
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_EQ(lines[0].advert_interval_cs, 100);
    EXPECT_EQ(lines[0].unicast_peers, (std::vector<Ipv4>{make_ipv4(10, 0, 0, 2)}));
    EXPECT_EQ(lines[0].announced.size(), 3u);
    EXPECT_EQ(lines[0].held, (std::vector<Ipv4Prefix>{vip1.config.vips[0]}));
}

TEST(HeldVipsRecord, WithoutAPathItKeepsCountInMemoryOnly) {
    HeldVipsRecord record("");
    RunnerInstance vip1(config("vip1", 51));
    record.added(vip1, vip1.config.vips[0], 1);
    EXPECT_EQ(record.addresses(), (std::vector<Ipv4>{make_ipv4(10, 0, 0, 100)}));
    record.remove_if_empty();
}

}  // namespace
}  // namespace ringlb
