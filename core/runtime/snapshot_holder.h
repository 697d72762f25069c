// Where the daemon publishes the running snapshot for the threads that read it
// (workers when woken, the health checker on each round). Swapped whole.
#pragma once

#include <memory>
#include <mutex>

#include "core/runtime/runtime.h"

namespace ringlb {

class SnapshotHolder {
public:
    std::shared_ptr<const RuntimeSnapshot> load() const {
        std::lock_guard lock(mutex_);
        return snapshot_;
    }
    void store(std::shared_ptr<const RuntimeSnapshot> snapshot) {
        std::lock_guard lock(mutex_);
        snapshot_ = std::move(snapshot);
    }

private:
    mutable std::mutex mutex_;
    std::shared_ptr<const RuntimeSnapshot> snapshot_;
};

}  // namespace ringlb
