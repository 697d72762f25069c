// Has every worker made progress since the last look? Compares the workers'
// heartbeat counters between two looks; the systemd watchdog and VRRP's
// forwarder-stuck FAULT both act on the answer. Pure: the caller reads the counters.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace ringlb {

// A stuck worker keeps the answer "stalled", so systemd's watchdog fires (SIGABRT,
// then Restart=on-failure) instead of being fed by a healthy thread.
class ProgressGate {
public:
    explicit ProgressGate(std::vector<uint64_t> baseline) : last_(std::move(baseline)) {}
    // Returns the indexes of the workers whose heartbeat has not moved; empty when
    // all progressed. Remembers `heartbeats` for the next look. A change in the
    // number of workers counts as no progress for the missing ones.
    std::vector<size_t> stalled(const std::vector<uint64_t>& heartbeats);

private:
    std::vector<uint64_t> last_;
};

}  // namespace ringlb
