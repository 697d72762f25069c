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

// Reads the whole file; returns 0 or an errno value.
int read_file(const std::string& path, std::string* text) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return errno;
    text->clear();
    char buffer[65536];
    for (;;) {
        ssize_t n = ::read(fd.get(), buffer, sizeof(buffer));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return errno;
        if (n == 0) return 0;
        text->append(buffer, size_t(n));
    }
}

struct FileOwner {
    mode_t mode = 0640;
    uid_t uid = uid_t(-1);
    gid_t gid = gid_t(-1);
};

// Writes `text` to `path` (created or truncated) with the given mode and owner
// and fsyncs it. Returns "" or the error.
std::string write_synced(const std::string& path, const std::string& text, const FileOwner& owner) {
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, owner.mode));
    if (!fd) return "cannot create " + path + ": " + errno_text(errno);
    size_t done = 0;
    while (done < text.size()) {
        ssize_t n = ::write(fd.get(), text.data() + done, text.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            std::string error = "cannot write " + path + ": " + errno_text(errno);
            ::unlink(path.c_str());
            return error;
        }
        done += size_t(n);
    }
    // O_CREAT's mode went through the umask; keep the original file's exactly.
    fchmod(fd.get(), owner.mode);
    if (owner.uid != uid_t(-1) && fchown(fd.get(), owner.uid, owner.gid) != 0) {
        // Not root: the file stays ours, which is what a non-root daemon can do.
    }
    if (::fsync(fd.get()) != 0) {
        std::string error = "cannot fsync " + path + ": " + errno_text(errno);
        ::unlink(path.c_str());
        return error;
    }
    if (::close(fd.release()) != 0) {
        std::string error = "cannot write " + path + ": " + errno_text(errno);
        ::unlink(path.c_str());
        return error;
    }
    return "";
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
    std::string text;
    if (int error = read_file(path_, &text); error != 0) {
        ConfigParseResult result;
        result.errors.push_back({path_, 0, "cannot read: " + errno_text(error)});
        return result;
    }
    ConfigParseResult result = parse_config(text, path_);
    if (result.ok()) {
        current_ = result.config;
        loaded_text_ = std::move(text);
        loaded_ = true;
    }
    return result;
}

std::string ConfigStore::reload(const Apply& apply) {
    std::lock_guard lock(mutex_);
    std::string text;
    if (int error = read_file(path_, &text); error != 0) return path_ + ":0: cannot read: " + errno_text(error);
    ConfigParseResult result = parse_config(text, path_);
    if (!result.ok()) {
        std::string why;
        for (const ConfigError& error : result.errors) why += (why.empty() ? "" : "\n") + error.to_string();
        return why;
    }
    if (std::string error = apply(result.config); !error.empty()) return error;
    current_ = result.config;
    loaded_text_ = std::move(text);
    loaded_ = true;
    return "";
}

std::shared_ptr<const Config> ConfigStore::current() const {
    std::lock_guard lock(mutex_);
    return current_;
}

std::string ConfigStore::update(const Change& change, const Apply& apply) {
    std::lock_guard lock(mutex_);
    if (!current_ || !loaded_) return "no configuration loaded";
    Config next = *current_;
    if (std::string error = change(next); !error.empty()) return error;
    const std::string text = header(path_) + format_config(next);
    ConfigParseResult parsed = parse_config(text, path_);
    if (!parsed.ok()) return join_messages(parsed.errors);
    return persist_and_apply(text, parsed.config, apply);
}

std::string ConfigStore::persist_and_apply(const std::string& text, std::shared_ptr<const Config> next,
                                           const Apply& apply) {
    const std::string changed = path_ + " changed on disk since it was loaded; run 'ringlbctl reload'";
    std::string on_disk;
    if (int error = read_file(path_, &on_disk); error != 0) return changed + " (cannot read it: " + errno_text(error) + ")";
    if (on_disk != loaded_text_) return changed;

    const std::string target = resolve_target(path_);
    FileOwner owner;
    struct stat st{};
    if (::stat(target.c_str(), &st) == 0) owner = {st.st_mode & 07777, st.st_uid, st.st_gid};
    const std::string temp = target + ".tmp";
    const std::string backup = target + ".bak";
    const std::string backup_temp = backup + ".tmp";

    if (std::string error = write_synced(temp, text, owner); !error.empty()) return error;
    if (std::string error = write_synced(backup_temp, loaded_text_, owner); !error.empty()) {
        ::unlink(temp.c_str());
        return error;
    }
    if (::rename(backup_temp.c_str(), backup.c_str()) != 0) {
        std::string error = "cannot rename " + backup_temp + " to " + backup + ": " + errno_text(errno);
        ::unlink(backup_temp.c_str());
        ::unlink(temp.c_str());
        return error;
    }
    if (std::string error = apply(next); !error.empty()) {
        ::unlink(temp.c_str());
        return error;
    }
    if (::rename(temp.c_str(), target.c_str()) != 0) {
        std::string error = "cannot rename " + temp + " to " + target + ": " + errno_text(errno);
        ::unlink(temp.c_str());
        std::string undo = apply(current_);
        if (!undo.empty()) return error + "; restoring the previous configuration failed too: " + undo;
        return error + "; the change was undone";
    }
    // The rename is durable once the directory is synced; failing that, the
    // change is live and in the file, and a crash might bring back the old one.
    UniqueFd dir(::open(directory_of(target).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (dir) ::fsync(dir.get());
    current_ = std::move(next);
    loaded_text_ = text;
    return "";
}

}  // namespace ringlb
