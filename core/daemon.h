// The process: builds runtime snapshots from configs (opening listening
// sockets, keeping backend state across reloads), runs the workers, and turns
// signals into reload and graceful stop.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/runtime.h"
#include "core/worker.h"

namespace ringlb {

class Daemon {
public:
    Daemon(std::string config_path, std::shared_ptr<const Config> config);
    ~Daemon();

    // Runs until SIGTERM/SIGINT and the shutdown grace; returns the exit code.
    // Signals must be blocked in every thread before this is called (block_signals).
    int run();

    // Re-reads the config file; an invalid file is logged and changes nothing.
    // Returns false when the file was refused.
    bool reload();

    static void block_signals();

private:
    std::shared_ptr<const RuntimeSnapshot> build_snapshot(std::shared_ptr<const Config> config,
                                                          const RuntimeSnapshot* previous);
    void stop();

    std::string config_path_;
    std::shared_ptr<const Config> config_;
    int worker_count_ = 1;
    uint64_t next_version_ = 1;
    SnapshotHolder snapshots_;
    std::vector<std::unique_ptr<Worker>> workers_;
};

int resolve_worker_count(int configured);

}  // namespace ringlb
