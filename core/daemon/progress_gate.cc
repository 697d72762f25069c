// ProgressGate: heartbeat comparison between two looks.
#include "core/daemon/progress_gate.h"

#include <algorithm>

namespace ringlb {

std::vector<size_t> ProgressGate::stalled(const std::vector<uint64_t>& heartbeats) {
    std::vector<size_t> stuck;
    for (size_t i = 0; i < std::max(heartbeats.size(), last_.size()); ++i) {
        if (i >= heartbeats.size() || i >= last_.size() || heartbeats[i] == last_[i]) stuck.push_back(i);
    }
    last_ = heartbeats;
    return stuck;
}

}  // namespace ringlb
