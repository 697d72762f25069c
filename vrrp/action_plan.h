// What one instance's state-machine actions mean on this host, step by step: each
// SendAdvert becomes one encoded advert per destination, AddVip/RemoveVip one address
// change per VIP, SendGarp one frame per VIP, LogTransition a transition record whose
// reason says how long ago the master was last heard. Pure: the action executor
// (action_executor.h) carries the steps out; the time comes in with PlanFacts.
#pragma once

#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "vrrp/garp.h"
#include "vrrp/vrrp_fsm.h"

namespace ringlb {

struct SendAdvertTo {
    Ipv4 destination = 0;
    std::vector<uint8_t> payload;  // encode_advert's bytes, checksummed for this destination
    friend bool operator==(const SendAdvertTo&, const SendAdvertTo&) = default;
};
struct AddAddress {
    Ipv4Prefix vip;
    friend bool operator==(const AddAddress&, const AddAddress&) = default;
};
struct RemoveAddress {
    Ipv4Prefix vip;
    friend bool operator==(const RemoveAddress&, const RemoveAddress&) = default;
};
struct SendGarpFrame {
    Ipv4 vip = 0;
    GarpFrame frame{};
    friend bool operator==(const SendGarpFrame&, const SendGarpFrame&) = default;
};
// A state change to count, log and show in the status.
struct RecordTransition {
    VrrpState from{};
    VrrpState to{};
    std::string reason;
    friend bool operator==(const RecordTransition&, const RecordTransition&) = default;
};

// Timer and notify actions pass through as they are.
using ActionStep = std::variant<SendAdvertTo, AddAddress, RemoveAddress, SendGarpFrame, ArmTimer, CancelTimer,
                                RunNotify, RecordTransition>;

// What the plan needs to know about the host besides the instance's configuration.
struct PlanFacts {
    std::optional<MacAddress> mac;          // the interface's; unset = no ARP to send
    std::optional<TimePoint> last_advert;   // the latest advert from another router (priority > 0)
    TimePoint now{};
};

// The steps for `actions`, in their order. `fsm` builds the adverts (its configuration
// gives the VIPs, destinations and source address).
std::vector<ActionStep> plan_action_steps(const VrrpInstance& fsm, const std::vector<Action>& actions,
                                          const PlanFacts& facts);

}  // namespace ringlb
