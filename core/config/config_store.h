// The configuration file as the daemon owns it (DESIGN §6): loads and reloads
// it, and writes ringlbctl's changes back atomically — a new file under a random
// name in the same directory (O_CREAT|O_EXCL|O_NOFOLLOW, the original's owner and
// mode), fsync, rename, the previous content kept as FILE.bak, directory fsync.
// A write is refused when the file changed on disk since it was last loaded or
// written, so an operator's edit is never silently overwritten.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "core/base/result.h"
#include "core/config/config.h"
#include "core/config/config_parse.h"

namespace ringlb {

class ConfigStore {
public:
    // Applies a config to the running daemon, or fails with why not.
    using Apply = std::function<Result<void>(std::shared_ptr<const Config>)>;
    // Edits a copy of the current config, or fails with why not.
    using Change = std::function<Result<void>(Config&)>;

    explicit ConfigStore(std::string path);

    const std::string& path() const { return path_; }

    // Reads and parses the file; on success it becomes the current config and
    // its content the reference for "changed on disk".
    ConfigParseResult load();

    // Reads and parses the file and applies it. On any error (every FILE:LINE
    // error, one per line, or the apply error) nothing changes.
    Result<void> reload(const Apply& apply);

    // Copies the current config, edits it with `change`, validates it exactly
    // as the file would be parsed, applies it and persists it. Order, so that a
    // failure at any step leaves the file, FILE.bak and the running config as they were:
    //   1. refuse if the file on disk differs from what was last loaded/written;
    //   2. write the new text to FILE.tmp-RANDOM (O_EXCL|O_NOFOLLOW: nothing planted in
    //      the directory is followed or reused), with FILE's owner and mode — refused
    //      when the daemon may not give it that owner — and fsync it;
    //   3. apply; on failure remove the temp file and stop (FILE.bak is untouched);
    //   4. write the replaced content the same way and rename it over FILE.bak, then
    //      rename the temp file over FILE and fsync the directory; if a step fails,
    //      apply the previous config again and report both.
    // A FILE that is a symlink is replaced where it points, in that directory.
    // Errors carry no FILE:LINE (the lines would be those of generated text).
    // Serialised with load/reload: safe from any thread.
    Result<void> update(const Change& change, const Apply& apply);

    // The comment that opens every file this store writes.
    static std::string header(const std::string& path);

private:
    Result<void> persist_and_apply(const std::string& text, std::shared_ptr<const Config> next, const Apply& apply);

    const std::string path_;
    mutable std::mutex mutex_;
    std::shared_ptr<const Config> current_;
    std::string loaded_text_;  // the file's content when last loaded or written
    bool loaded_ = false;
};

}  // namespace ringlb
