// The configuration file as the daemon owns it (DESIGN §6): loads and reloads
// it, and writes ringlbctl's changes back atomically — temp file in the same
// directory, fsync, rename, previous content kept as FILE.bak, directory fsync.
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
    // failure at any step leaves the file and the running config as they were:
    //   1. refuse if the file on disk differs from what was last loaded/written;
    //   2. write FILE.tmp (fsync) and FILE.bak (the current content, fsync);
    //   3. apply; on failure remove FILE.tmp and stop;
    //   4. rename FILE.tmp over FILE and fsync the directory; if the rename
    //      fails, apply the previous config again and report both.
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
