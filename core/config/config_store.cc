// ConfigStore: load, reload and atomic write-back of ringlb.conf.
#include "core/config/config_store.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "core/base/unique_fd.h"

namespace ringlb {

namespace {

std::string errno_text(int error) { return std::strerror(error); }

// The whole file, or why it cannot be read (strerror's text).
Result<std::string> read_file(const std::string& path) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return fail(errno_text(errno));
    std::string text;
    char buffer[65536];
    for (;;) {
        ssize_t n = ::read(fd.get(), buffer, sizeof(buffer));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return fail(errno_text(errno));
        if (n == 0) return text;
        text.append(buffer, size_t(n));
    }
}

// Who owns the configuration file and its mode: the files written in its place get the same.
struct FileOwner {
    mode_t mode = 0640;
    uid_t uid = uid_t(-1);
    gid_t gid = gid_t(-1);
};

// A name in the directory that nobody could have prepared: NAME.tmp-<16 hex digits>
// from getrandom(2); empty if the kernel gave no random bytes.
std::string random_temp_name(const std::string& name) {
    uint64_t random = 0;
    if (::getrandom(&random, sizeof(random), 0) != ssize_t(sizeof(random))) return {};
    char suffix[17];
    std::snprintf(suffix, sizeof(suffix), "%016llx", static_cast<unsigned long long>(random));
    return name + ".tmp-" + suffix;
}

// Creates a new file in `dir` (an open directory shown as `dir_path`) under a random
// name, with O_CREAT|O_EXCL|O_NOFOLLOW: a symlink or a file planted at any name is
// never followed, truncated or reused. Writes `text`, gives the file `owner`'s uid,
// gid and mode (or fails, naming why: a daemon that may not chown to that owner
// must not leave a file of another owner in its place) and fsyncs it. Returns the
// name; on any failure the file is removed.
Result<std::string> write_new_file(int dir, const std::string& dir_path, const std::string& name,
                                   const std::string& text, const FileOwner& owner) {
    std::string temp;
    UniqueFd fd;
    for (int attempt = 0; attempt < 8 && !fd; ++attempt) {
        temp = random_temp_name(name);
        if (temp.empty()) return fail("getrandom: " + errno_text(errno));
        fd.reset(::openat(dir, temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
        if (!fd && errno != EEXIST) break;
    }
    const std::string shown = dir_path + "/" + temp;
    if (!fd) return fail("cannot create " + shown + ": " + errno_text(errno));
    auto remove_and_fail = [&](const std::string& what) {
        Failure failure = fail(what + ": " + errno_text(errno));
        ::unlinkat(dir, temp.c_str(), 0);
        return failure;
    };
    size_t done = 0;
    while (done < text.size()) {
        ssize_t n = ::write(fd.get(), text.data() + done, text.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return remove_and_fail("cannot write " + shown);
        done += size_t(n);
    }
    struct stat created{};
    if (::fstat(fd.get(), &created) != 0) return remove_and_fail("cannot stat " + shown);
    if ((created.st_uid != owner.uid || created.st_gid != owner.gid) && ::fchown(fd.get(), owner.uid, owner.gid) != 0)
        return remove_and_fail("cannot keep the owner of " + dir_path + "/" + name + " (uid " +
                               std::to_string(owner.uid) + ", gid " + std::to_string(owner.gid) +
                               "): ringlbd runs as uid " + std::to_string(::geteuid()) + " and may not chown " +
                               shown + " to it; nothing written");
    if (::fchmod(fd.get(), owner.mode) != 0)
        return remove_and_fail("cannot keep the mode of " + dir_path + "/" + name + " on " + shown);
    if (::fsync(fd.get()) != 0) return remove_and_fail("cannot fsync " + shown);
    if (::close(fd.release()) != 0) return remove_and_fail("cannot write " + shown);
    return temp;
}

std::string directory_of(const std::string& path) {
    size_t slash = path.rfind('/');
    if (slash == std::string::npos) return ".";
    if (slash == 0) return "/";
    return path.substr(0, slash);
}

// The rename must replace the file itself, not a symlink that points at it.
std::string resolve_target(const std::string& path) {
    char resolved[PATH_MAX];
    if (::realpath(path.c_str(), resolved) != nullptr) return resolved;
    return path;
}

std::string join_messages(const std::vector<ConfigError>& errors) {
    std::string text;
    for (const ConfigError& error : errors) text += (text.empty() ? "" : "; ") + error.message;
    return text;
}

}  // namespace

ConfigStore::ConfigStore(std::string path) : path_(std::move(path)) {}

std::string ConfigStore::header(const std::string& path) {
    std::string name = path.substr(path.rfind('/') + 1);
    return "# ringlb configuration. ringlbd writes ringlbctl's changes back to this file\n"
           "# (comments are not kept; the previous version is " +
           name + ".bak).\n\n";
}

ConfigParseResult ConfigStore::load() {
    std::lock_guard lock(mutex_);
    Result<std::string> text = read_file(path_);
    if (!text) {
        ConfigParseResult result;
        result.errors.push_back({path_, 0, "cannot read: " + text.error()});
        return result;
    }
    ConfigParseResult result = parse_config(*text, path_);
    if (result.ok()) {
        current_ = result.config;
        loaded_text_ = std::move(*text);
        loaded_ = true;
    }
    return result;
}

Result<void> ConfigStore::reload(const Apply& apply) {
    std::lock_guard lock(mutex_);
    Result<std::string> text = read_file(path_);
    if (!text) return fail(path_ + ":0: cannot read: " + text.error());
    ConfigParseResult result = parse_config(*text, path_);
    if (!result.ok()) {
        std::string why;
        for (const ConfigError& error : result.errors) why += (why.empty() ? "" : "\n") + error.to_string();
        return fail(why);
    }
    if (Result<void> applied = apply(result.config); !applied) return applied;
    current_ = result.config;
    loaded_text_ = std::move(*text);
    loaded_ = true;
    return {};
}

Result<void> ConfigStore::update(const Change& change, const Apply& apply) {
    std::lock_guard lock(mutex_);
    if (!current_ || !loaded_) return fail("no configuration loaded");
    Config next = *current_;
    if (Result<void> changed = change(next); !changed) return changed;
    const std::string text = header(path_) + format_config(next);
    ConfigParseResult parsed = parse_config(text, path_);
    if (!parsed.ok()) return fail(join_messages(parsed.errors));
    return persist_and_apply(text, parsed.config, apply);
}

Result<void> ConfigStore::persist_and_apply(const std::string& text, std::shared_ptr<const Config> next,
                                            const Apply& apply) {
    const std::string changed = path_ + " changed on disk since it was loaded; run 'ringlbctl reload'";
    Result<std::string> on_disk = read_file(path_);
    if (!on_disk) return fail(changed + " (cannot read it: " + on_disk.error() + ")");
    if (*on_disk != loaded_text_) return fail(changed);

    // Everything below happens in the directory of the file itself (a config that is a
    // symlink is replaced where it points), through one open directory descriptor.
    const std::string target = resolve_target(path_);
    const std::string dir_path = directory_of(target);
    const std::string name = target.substr(target.rfind('/') + 1);
    UniqueFd dir(::open(dir_path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dir) return fail("cannot open the directory " + dir_path + ": " + errno_text(errno));
    struct stat st{};
    if (::fstatat(dir.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
        return fail("cannot stat " + target + ": " + errno_text(errno));
    if (!S_ISREG(st.st_mode)) return fail(target + " is not a regular file; not replacing it");
    const FileOwner owner{st.st_mode & 07777, st.st_uid, st.st_gid};

    Result<std::string> temp = write_new_file(dir.get(), dir_path, name, text, owner);
    if (!temp) return fail(temp.error());
    auto remove_temp = [&] { ::unlinkat(dir.get(), temp->c_str(), 0); };
    // A refused change leaves the file and FILE.bak as they were.
    if (Result<void> applied = apply(next); !applied) {
        remove_temp();
        return applied;
    }
    // Applied: from here a failure puts the previous config back. FILE.bak first (the
    // content being replaced), then the file itself.
    auto undo = [&](const std::string& error) -> Result<void> {
        remove_temp();
        Result<void> undone = apply(current_);
        if (!undone) return fail(error + "; restoring the previous configuration failed too: " + undone.error());
        return fail(error + "; the change was undone");
    };
    const std::string backup = name + ".bak";
    Result<std::string> backup_temp = write_new_file(dir.get(), dir_path, name, loaded_text_, owner);
    if (!backup_temp) return undo(backup_temp.error());
    if (::renameat(dir.get(), backup_temp->c_str(), dir.get(), backup.c_str()) != 0) {
        const std::string error = "cannot rename " + dir_path + "/" + *backup_temp + " to " + dir_path + "/" + backup +
                                  ": " + errno_text(errno);
        ::unlinkat(dir.get(), backup_temp->c_str(), 0);
        return undo(error);
    }
    if (::renameat(dir.get(), temp->c_str(), dir.get(), name.c_str()) != 0)
        return undo("cannot rename " + dir_path + "/" + *temp + " to " + target + ": " + errno_text(errno));
    // The rename is durable once the directory is synced; failing that, the
    // change is live and in the file, and a crash might bring back the old one.
    ::fsync(dir.get());
    current_ = std::move(next);
    loaded_text_ = text;
    return {};
}

}  // namespace ringlb
