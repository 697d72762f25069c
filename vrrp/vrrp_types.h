// Value types shared by the VRRP codec, state machine and adapters: time, states,
// a decoded advertisement, and how logs write addresses. An instance's configuration and the IPv4 address
// type are part of the config model (core/config/vrrp_config.h).
// No I/O; time is always passed in, never read here.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "core/config/vrrp_config.h"

namespace ringlb {

// The VRRP thread reads its clock (vrrp_clock.h) and hands the value in; pure code
// only compares.
using TimePoint = std::chrono::steady_clock::time_point;
using Duration = std::chrono::steady_clock::duration;

// Numbered as the metric ringlb_vrrp_state exports them (DESIGN §8).
enum class VrrpState { kInit = 0, kBackup = 1, kMaster = 2, kFault = 3 };

// "INIT", "BACKUP", "MASTER", "FAULT" (as keepalived's notify scripts receive them).
inline const char* to_string(VrrpState state) {
    switch (state) {
        case VrrpState::kInit: return "INIT";
        case VrrpState::kBackup: return "BACKUP";
        case VrrpState::kMaster: return "MASTER";
        case VrrpState::kFault: return "FAULT";
    }
    return "UNKNOWN";
}

// "192.0.2.100/24": a VIP as logs name it.
inline std::string format_vip(const Ipv4Prefix& vip) {
    return format_ipv4(vip.address) + "/" + std::to_string(vip.prefix_len);
}

// "10.0.0.1,10.0.0.2": addresses as logs list them.
inline std::string format_ipv4_list(const std::vector<Ipv4>& addresses) {
    std::string text;
    for (Ipv4 address : addresses) text += (text.empty() ? "" : ",") + format_ipv4(address);
    return text;
}

inline constexpr uint8_t kVrrpPriorityOwner = 255;  // RFC 9568 §5.2.4: owns the VIPs
inline constexpr uint8_t kVrrpPriorityStop = 0;     // RFC 9568 §5.2.4: master is leaving

// One received advertisement, as decoded from the wire (vrrp_packet.h).
struct Advert {
    Ipv4 source = 0;                     // IPv4 source: the sender's primary address
    Ipv4 destination = 0;                // 224.0.0.18 or a unicast peer
    uint8_t vrid = 0;
    uint8_t priority = 0;
    // Max Adver Int: centiseconds on the wire, converted here.
    std::chrono::milliseconds max_advert_interval{0};
    std::vector<Ipv4> addresses;         // the virtual addresses, in packet order
};

}  // namespace ringlb
