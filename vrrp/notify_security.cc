// Notify script trust checks; see notify_security.h.
#include "vrrp/notify_security.h"

#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

namespace ringlb {

namespace {

std::string octal_mode(mode_t mode) {
    char text[8];
    std::snprintf(text, sizeof(text), "%04o", unsigned(mode & 07777));
    return text;
}

// Every directory above `path` ("/a/b/c" -> "/a/b", "/a", "/").
std::vector<std::string> directories_above(const std::string& path) {
    std::vector<std::string> out;
    std::string dir = path;
    while (true) {
        const size_t slash = dir.find_last_of('/');
        if (slash == std::string::npos) break;
        dir = slash == 0 ? "/" : dir.substr(0, slash);
        out.push_back(dir);
        if (dir == "/") break;
    }
    return out;
}

Result<void> check_directory(const std::string& dir) {
    struct stat info {};
    if (::stat(dir.c_str(), &info) != 0) return fail("directory " + dir + ": " + std::strerror(errno));
    if (auto why = untrusted_because(info.st_uid, info.st_mode)) return fail("directory " + dir + " is " + *why);
    return {};
}

}  // namespace

std::optional<std::string> untrusted_because(uid_t owner, mode_t mode) {
    if (owner != 0) return "owned by uid " + std::to_string(owner) + ", not root";
    const bool group = mode & S_IWGRP;
    const bool others = mode & S_IWOTH;
    if (!group && !others) return std::nullopt;
    return std::string("writable by ") + (group && others ? "group and others" : group ? "group" : "others") +
           " (mode " + octal_mode(mode) + ")";
}

Result<void> check_notify_script(const std::string& path) {
    struct stat info {};
    if (::stat(path.c_str(), &info) != 0) return fail(std::strerror(errno));
    if (!S_ISREG(info.st_mode)) return fail("is not a regular file");
    if (::access(path.c_str(), X_OK) != 0) return fail("is not executable");
    const std::string rule = "; the script and every directory above it must be owned by root and writable only "
                             "by root (docs/security.md)";
    if (auto why = untrusted_because(info.st_uid, info.st_mode)) return fail("is " + *why + rule);
    // The path as written (a link's own directory decides who may replace the link)
    // and the path the links lead to.
    std::vector<std::string> dirs = directories_above(path);
    std::unique_ptr<char, decltype(&std::free)> real(::realpath(path.c_str(), nullptr), &std::free);
    if (!real) return fail(std::string("resolving links: ") + std::strerror(errno));
    if (path != real.get())
        for (std::string& dir : directories_above(real.get())) dirs.push_back(std::move(dir));
    for (const std::string& dir : dirs)
        if (Result<void> ok = check_directory(dir); !ok) return fail(ok.error() + rule);
    return {};
}

Result<NotifyUser> resolve_notify_user(const std::string& name) {
    std::vector<char> buffer(16384);
    passwd entry{};
    passwd* found = nullptr;
    const int error = ::getpwnam_r(name.c_str(), &entry, buffer.data(), buffer.size(), &found);
    if (error != 0) return fail("notify_user '" + name + "': " + std::strerror(error));
    if (!found) return fail("notify_user '" + name + "': no such user");
    NotifyUser user{name, found->pw_uid, found->pw_gid, {}};
    int count = 32;
    for (int attempt = 0; attempt < 4; ++attempt) {
        user.groups.resize(size_t(count));
        int n = count;
        if (::getgrouplist(name.c_str(), user.gid, user.groups.data(), &n) >= 0) {
            user.groups.resize(size_t(n));
            return user;
        }
        count = std::max(n, count * 2);
    }
    return fail("notify_user '" + name + "': too many groups");
}

}  // namespace ringlb
