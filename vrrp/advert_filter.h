// The receive rules of RFC 9568 §7.1 that need the instance's configuration, applied
// after decode_advert: with unicast peers configured only they may speak for our VRID,
// and an advert whose address list is not ours is dropped unless it comes from an address
// owner (priority 255) or accept_mismatched_addresses is set (keepalived's rules, which
// RFC 3768 §7.1 required and RFC 9568 §7.1 still allows). Pure: time is passed in.
#pragma once

#include <optional>
#include <vector>

#include "vrrp/vrrp_packet.h"

namespace ringlb {

class AdvertFilter {
public:
    // After a reload changes the VIPs, the peer still sends the old list until it is
    // reloaded too: that list stays accepted for this long, or until the peer is heard
    // with the new one, so reloading the two hosts one after the other moves nothing.
    static constexpr Duration kPreviousListGrace = std::chrono::seconds(60);

    explicit AdvertFilter(const VrrpInstanceConfig& config);

    // The configuration a reload brought in at `now`. When its VIPs differ from the
    // current ones, the current list becomes the previous one (see kPreviousListGrace).
    void reconfigure(const VrrpInstanceConfig& next, TimePoint now);

    // kOk, kUnknownPeer or kAddressMismatch. Adverts for another VRID and our own
    // looped-back adverts pass (the state machine ignores them). An advert carrying the
    // new list ends the previous list's grace.
    AdvertVerdict judge(const Advert& advert, TimePoint now);

    // Whether adverts with the previous address list are still accepted at `now`.
    bool previous_list_accepted(TimePoint now) const;

private:
    VrrpInstanceConfig config_;
    std::vector<Ipv4> addresses_;  // sorted: the order in an advert does not matter
    std::vector<Ipv4> previous_;   // sorted; empty when there is none
    std::optional<TimePoint> previous_until_;
};

// The addresses of `vips`, sorted.
std::vector<Ipv4> sorted_addresses(const std::vector<Ipv4Prefix>& vips);

}  // namespace ringlb
