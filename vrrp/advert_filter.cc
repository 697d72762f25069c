// Configuration-dependent receive rules for adverts; see advert_filter.h.
#include "vrrp/advert_filter.h"

#include <algorithm>

namespace ringlb {

std::vector<Ipv4> sorted_addresses(const std::vector<Ipv4Prefix>& vips) {
    std::vector<Ipv4> addresses;
    addresses.reserve(vips.size());
    for (const Ipv4Prefix& vip : vips) addresses.push_back(vip.address);
    std::sort(addresses.begin(), addresses.end());
    return addresses;
}

AdvertFilter::AdvertFilter(const VrrpInstanceConfig& config)
    : config_(config), addresses_(sorted_addresses(config.vips)) {}

void AdvertFilter::reconfigure(const VrrpInstanceConfig& next, TimePoint now) {
    std::vector<Ipv4> addresses = sorted_addresses(next.vips);
    if (addresses != addresses_) {
        previous_ = std::move(addresses_);
        previous_until_ = now + kPreviousListGrace;
        addresses_ = std::move(addresses);
    }
    config_ = next;
}

bool AdvertFilter::previous_list_accepted(TimePoint now) const {
    return previous_until_ && now < *previous_until_;
}

AdvertVerdict AdvertFilter::judge(const Advert& advert, TimePoint now) {
    if (advert.vrid != config_.vrid) return AdvertVerdict::kOk;
    if (config_.primary_address != 0 && advert.source == config_.primary_address) return AdvertVerdict::kOk;
    // DESIGN §9: with unicast peers, they are the only accepted sources.
    const auto& peers = config_.unicast_peers;
    if (!peers.empty() && std::find(peers.begin(), peers.end(), advert.source) == peers.end())
        return AdvertVerdict::kUnknownPeer;
    if (config_.accept_mismatched_addresses || advert.priority == kVrrpPriorityOwner) return AdvertVerdict::kOk;
    std::vector<Ipv4> received = advert.addresses;
    std::sort(received.begin(), received.end());
    if (received == addresses_) {
        previous_until_.reset();  // the peer has the new list too
        previous_.clear();
        return AdvertVerdict::kOk;
    }
    if (previous_list_accepted(now) && received == previous_) return AdvertVerdict::kOk;
    return AdvertVerdict::kAddressMismatch;
}

}  // namespace ringlb
