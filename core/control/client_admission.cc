// Control-thread admission; see client_admission.h.
#include "core/control/client_admission.h"

namespace ringlb {

namespace {

// The oldest idle client that `pick` accepts; -1 if none.
template <typename Pick>
int oldest_idle(std::span<const AdmittedClient> clients, Pick pick) {
    const AdmittedClient* oldest = nullptr;
    for (const AdmittedClient& c : clients)
        if (c.idle && pick(c) && (!oldest || c.accepted_ms < oldest->accepted_ms)) oldest = &c;
    return oldest ? oldest->key : -1;
}

Admission evict_or_refuse(int key) {
    if (key < 0) return {Admission::Verdict::kRefuse, -1};
    return {Admission::Verdict::kAdmitAfterEvicting, key};
}

}  // namespace

Admission admit_client(const AdmissionLimits& limits, bool http, bool root, std::span<const AdmittedClient> clients) {
    size_t metrics = 0;
    size_t control = 0;  // root's included
    for (const AdmittedClient& c : clients) ++(c.http ? metrics : control);
    if (http) {
        if (metrics < limits.max_metrics) return {};
        return evict_or_refuse(oldest_idle(clients, [](const AdmittedClient& c) { return c.http; }));
    }
    if (control < limits.max_control) return {};
    if (!root) return {Admission::Verdict::kRefuse, -1};
    if (control < limits.max_control + limits.root_reserve) return {};
    return evict_or_refuse(oldest_idle(clients, [](const AdmittedClient& c) { return !c.http && !c.root; }));
}

}  // namespace ringlb
