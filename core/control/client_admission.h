// Who gets a control-thread slot (pure: no sockets, no clock). Control-socket and
// metrics clients have separate limits, so idle scrapers cannot lock operators out;
// at the metrics limit the oldest idle metrics client makes room for a new one; root
// gets through on the control socket beyond the limit (a reserve), taking the slot
// of the oldest idle non-root control client when even the reserve is full.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace ringlb {

struct AdmissionLimits {
    size_t max_control = 256;  // control-socket clients (ringlbctl), root's included
    size_t max_metrics = 64;   // metrics endpoint (HTTP) clients
    size_t root_reserve = 16;  // control-socket clients of uid 0 beyond max_control
};

// One client the control thread holds, as the admission sees it.
struct AdmittedClient {
    int key = -1;              // its fd
    bool http = false;         // metrics endpoint (else control socket)
    bool root = false;         // control socket, peer uid 0
    bool idle = false;         // no request under way and no answer pending
    int64_t accepted_ms = 0;   // when it connected: the oldest idle one goes first
};

struct Admission {
    enum class Verdict { kAdmit, kAdmitAfterEvicting, kRefuse };
    Verdict verdict = Verdict::kAdmit;
    int evict = -1;            // kAdmitAfterEvicting: the client to close first
};

// A new client (`http`: of the metrics endpoint; `root`: a control client of uid 0)
// arrives while `clients` are held.
Admission admit_client(const AdmissionLimits& limits, bool http, bool root, std::span<const AdmittedClient> clients);

}  // namespace ringlb
