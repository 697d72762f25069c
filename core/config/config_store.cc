// ConfigStore: load, reload and atomic write-back of ringlb.conf.
#include "core/config/config_store.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
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

struct FileOwner {
    mode_t mode = 0640;
    uid_t uid = uid_t(-1);
    gid_t gid = gid_t(-1);
};

// Writes `text` to `path` (created or truncated) with the given mode and owner
// and fsyncs it; on a failure the partial file is removed.
Result<void> write_synced(const std::string& path, const std::string& text, const FileOwner& owner) {
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, owner.mode));
    if (!fd) return fail("cannot create " + path + ": " + errno_text(errno));
    auto remove_and_fail = [&](const char* what) {
        Failure failure = fail(std::string(what) + path + ": " + errno_text(errno));
        ::unlink(path.c_str());
        return failure;
    };
    size_t done = 0;
    while (done < text.size()) {
        ssize_t n = ::write(fd.get(), text.data() + done, text.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return remove_and_fail("cannot write ");
        done += size_t(n);
    }
    // O_CREAT's mode went through the umask; keep the original file's exactly.
    fchmod(fd.get(), owner.mode);
    if (owner.uid != uid_t(-1) && fchown(fd.get(), owner.uid, owner.gid) != 0) {
        // Not root: the file stays ours, which is what a non-root daemon can do.
    }
    if (::fsync(fd.get()) != 0) return remove_and_fail("cannot fsync ");
    if (::close(fd.release()) != 0) return remove_and_fail("cannot write ");
    return {};
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

    const std::string target = resolve_target(path_);
    FileOwner owner;
    struct stat st{};
    if (::stat(target.c_str(), &st) == 0) owner = {st.st_mode & 07777, st.st_uid, st.st_gid};
    const std::string temp = target + ".tmp";
    const std::string backup = target + ".bak";
    const std::string backup_temp = backup + ".tmp";

    if (Result<void> written = write_synced(temp, text, owner); !written) return written;
    if (Result<void> written = write_synced(backup_temp, loaded_text_, owner); !written) {
        ::unlink(temp.c_str());
        return written;
    }
    if (::rename(backup_temp.c_str(), backup.c_str()) != 0) {
        Failure failure = fail("cannot rename " + backup_temp + " to " + backup + ": " + errno_text(errno));
        ::unlink(backup_temp.c_str());
        ::unlink(temp.c_str());
        return failure;
    }
    if (Result<void> applied = apply(next); !applied) {
        ::unlink(temp.c_str());
        return applied;
    }
    if (::rename(temp.c_str(), target.c_str()) != 0) {
        std::string error = "cannot rename " + temp + " to " + target + ": " + errno_text(errno);
        ::unlink(temp.c_str());
        Result<void> undone = apply(current_);
        if (!undone) return fail(error + "; restoring the previous configuration failed too: " + undone.error());
        return fail(error + "; the change was undone");
    }
    // The rename is durable once the directory is synced; failing that, the
    // change is live and in the file, and a crash might bring back the old one.
    UniqueFd dir(::open(directory_of(target).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (dir) ::fsync(dir.get());
    current_ = std::move(next);
    loaded_text_ = text;
    return {};
}

}  // namespace ringlb
