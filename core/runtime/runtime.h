// The running configuration: an immutable snapshot of listeners with their
// sockets, backend states and statistics. Built by the daemon, read by
// workers, swapped whole; a connection keeps the pieces it uses alive.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/base/unique_fd.h"
#include "core/config/config.h"
#include "core/runtime/access_rules.h"
#include "core/runtime/backend.h"
#include "core/runtime/stats.h"

namespace ringlb {

// One SO_REUSEPORT listening socket per worker, bound to the same address.
struct ListenerSockets {
    InetAddr bind;
    std::vector<UniqueFd> per_worker;
};

struct BackendRef {
    BackendConfig config;
    std::shared_ptr<BackendState> state;
};

// What a connection needs of its listener; live connections keep it alive,
// so it must not own the listening sockets (those close when the listener goes).
class MaglevSlot;
class SourceLimiter;

struct ListenerRuntime {
    ListenerConfig config;
    std::vector<BackendRef> backends;
    std::shared_ptr<ListenerStats> stats;
    std::shared_ptr<MaglevSlot> maglev;          // source-hash only; rebuilt on health changes
    // Shared by all workers; null unless max_conn_per_source or rate_per_source
    // is set. Kept across reloads of a listener of the same name, like stats.
    std::shared_ptr<SourceLimiter> source_limiter;
    // allow / deny; null unless the listener sets either (rebuilt with each snapshot).
    std::shared_ptr<const AccessRules> access;
    // accept_proxy_from; null unless accept_proxy is on.
    std::shared_ptr<const PrefixSet> proxy_from;
};

struct ListenerEntry {
    std::shared_ptr<const ListenerRuntime> runtime;
    std::shared_ptr<ListenerSockets> sockets;
};

struct RuntimeSnapshot {
    std::shared_ptr<const Config> config;
    std::vector<ListenerEntry> listeners;   // only listeners whose sockets are bound
    uint64_t version = 0;

    const ListenerEntry* find(const std::string& name) const {
        for (const auto& l : listeners)
            if (l.runtime->config.name == name) return &l;
        return nullptr;
    }
};

}  // namespace ringlb
