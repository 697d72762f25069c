// AccessRules: deny wins over allow, an empty allow admits everything not denied,
// and both families are kept apart (IPv4-mapped IPv6 clients count as IPv4).
#include "core/runtime/access_rules.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ringlb {
namespace {

std::vector<InetPrefix> prefixes(std::string_view text) {
    Result<std::vector<InetPrefix>> list = parse_prefix_list(text);
    EXPECT_TRUE(list) << text;
    return list ? *list : std::vector<InetPrefix>{};
}

InetAddr host(const std::string& text) {
    std::optional<InetAddr> address = InetAddr::parse_host(text, 1);
    EXPECT_TRUE(address) << text;
    return address ? *address : InetAddr{};
}

TEST(AccessRules, DenyAloneAdmitsEveryOtherAddress) {
    AccessRules rules({}, prefixes("10.1.0.0/16, 2001:db8::/32"));
    EXPECT_FALSE(rules.admits(host("10.1.2.3")));
    EXPECT_TRUE(rules.admits(host("10.2.0.1")));
    EXPECT_FALSE(rules.admits(host("2001:db8::1")));
    EXPECT_TRUE(rules.admits(host("2001:db9::1")));
}

TEST(AccessRules, AllowRestrictsAndDenyWinsInsideIt) {
    AccessRules rules(prefixes("10.0.0.0/8, ::1"), prefixes("10.9.9.9"));
    EXPECT_TRUE(rules.admits(host("10.0.0.1")));
    EXPECT_TRUE(rules.admits(host("10.255.255.255")));
    EXPECT_FALSE(rules.admits(host("10.9.9.9")));
    EXPECT_FALSE(rules.admits(host("11.0.0.0")));
    EXPECT_FALSE(rules.admits(host("9.255.255.255")));
    EXPECT_TRUE(rules.admits(host("::1")));
    EXPECT_FALSE(rules.admits(host("::2")));
}

TEST(AccessRules, AMappedClientIsJudgedAsIpv4) {
    AccessRules rules(prefixes("127.0.0.0/8"), {});
    EXPECT_TRUE(rules.admits(host("::ffff:127.0.0.1")));
    EXPECT_FALSE(rules.admits(host("::ffff:128.0.0.1")));
}

TEST(AccessRules, AnAddressOfNoFamilyPassesOnlyWithoutAnAllowList) {
    EXPECT_TRUE(AccessRules({}, prefixes("0.0.0.0/0")).admits(InetAddr{}));
    EXPECT_FALSE(AccessRules(prefixes("0.0.0.0/0"), {}).admits(InetAddr{}));
}

}  // namespace
}  // namespace ringlb
