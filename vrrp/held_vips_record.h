// What the VRRP thread holds, kept as the executor adds and removes VIPs, and written to
// the state file (held_vips_file.h) after each change, so that a crash never leaves a
// VIP that `ringlbd --release` or the next start does not know of. VRRP thread only.
#pragma once

#include <string>
#include <vector>

#include "core/base/rate_limit.h"
#include "vrrp/held_vips_file.h"
#include "vrrp/runner_instance.h"

namespace ringlb {

class HeldVipsRecord {
public:
    // `path` empty: kept in memory only (no state file).
    explicit HeldVipsRecord(std::string path) : path_(std::move(path)) {}

    // Just before netlink adds `vip` for `instance` / after it removed it: the record
    // follows, and the file is rewritten. A file that cannot be written is logged (once a
    // minute), never fatal: the VIP is on the interface either way.
    void added(const RunnerInstance& instance, const Ipv4Prefix& vip, int64_t now_ms);
    void removed(const RunnerInstance& instance, const Ipv4Prefix& vip, int64_t now_ms);
    // After `instance`'s config changed in place (a reload): when it holds VIPs, its line
    // takes the new advert facts (interval, peers, source, address list), so that a
    // priority-0 advert sent from the file matches what the peer now expects.
    void refresh(const RunnerInstance& instance, int64_t now_ms);
    // Writes the record as it is (at start: nothing held yet).
    void write(int64_t now_ms);
    // At a clean stop: the file goes when nothing is held any more, so that neither
    // --release nor the next start has anything to do.
    void remove_if_empty();

    // Every address held now, over all instances.
    std::vector<Ipv4> addresses() const;
    const std::vector<HeldInstance>& instances() const { return instances_; }
    const std::string& path() const { return path_; }

private:
    HeldInstance& entry_for(const RunnerInstance& instance);

    std::string path_;
    std::vector<HeldInstance> instances_;  // only those holding VIPs, in the order they took them
    LogRateLimit write_log_{60000};
};

}  // namespace ringlb
