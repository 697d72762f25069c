// The VRRP thread's record of held VIPs; see held_vips_record.h.
#include "vrrp/held_vips_record.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <spdlog/spdlog.h>

namespace ringlb {

HeldInstance& HeldVipsRecord::entry_for(const RunnerInstance& instance) {
    auto found = std::find_if(instances_.begin(), instances_.end(),
                              [&](const HeldInstance& held) { return held.name == instance.config.name; });
    HeldInstance& entry = found != instances_.end() ? *found : instances_.emplace_back();
    // The advert facts as the instance has them now (a reload may have changed them).
    const VrrpInstanceConfig& config = instance.config;
    entry.name = config.name;
    entry.interface = config.interface;
    entry.vrid = config.vrid;
    entry.source = config.primary_address;
    entry.advert_interval_cs = uint16_t(std::clamp<int64_t>(config.advert_interval.count() / 10, 1, 4095));
    entry.unicast_peers = config.unicast_peers;
    entry.announced.clear();
    for (const Ipv4Prefix& vip : config.vips) entry.announced.push_back(vip.address);
    return entry;
}

void HeldVipsRecord::added(const RunnerInstance& instance, const Ipv4Prefix& vip, int64_t now_ms) {
    HeldInstance& entry = entry_for(instance);
    if (std::find(entry.held.begin(), entry.held.end(), vip) == entry.held.end()) entry.held.push_back(vip);
    write(now_ms);
}

void HeldVipsRecord::removed(const RunnerInstance& instance, const Ipv4Prefix& vip, int64_t now_ms) {
    auto found = std::find_if(instances_.begin(), instances_.end(),
                              [&](const HeldInstance& held) { return held.name == instance.config.name; });
    if (found == instances_.end()) return;
    std::erase(found->held, vip);
    if (found->held.empty()) instances_.erase(found);
    write(now_ms);
}

void HeldVipsRecord::refresh(const RunnerInstance& instance, int64_t now_ms) {
    const bool holds = std::any_of(instances_.begin(), instances_.end(),
                                   [&](const HeldInstance& held) { return held.name == instance.config.name; });
    if (!holds) return;
    entry_for(instance);
    write(now_ms);
}

void HeldVipsRecord::write(int64_t now_ms) {
    if (path_.empty()) return;
    uint64_t suppressed = 0;
    if (Result<void> written = write_held_vips_file(path_, instances_);
        !written && write_log_.allow(now_ms, &suppressed))
        spdlog::error("vrrp: {} ({} more failures since the last message)", written.error(), suppressed);
}

void HeldVipsRecord::remove_if_empty() {
    if (path_.empty() || !instances_.empty()) return;
    if (::unlink(path_.c_str()) != 0 && errno != ENOENT)
        spdlog::warn("vrrp: state file {}: cannot remove: {}", path_, std::strerror(errno));
}

std::vector<Ipv4> HeldVipsRecord::addresses() const {
    std::vector<Ipv4> all;
    for (const HeldInstance& instance : instances_)
        for (const Ipv4Prefix& vip : instance.held) all.push_back(vip.address);
    return all;
}

}  // namespace ringlb
