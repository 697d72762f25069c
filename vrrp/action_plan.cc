// State-machine actions → concrete steps for one instance; see action_plan.h.
#include "vrrp/action_plan.h"

#include <fmt/format.h>

#include "vrrp/link_state.h"
#include "vrrp/vrrp_packet.h"

namespace ringlb {
namespace {

template <class... F>
struct Overloaded : F... {
    using F::operator()...;
};
template <class... F>
Overloaded(F...) -> Overloaded<F...>;

std::string seconds_text(Duration duration) {
    return fmt::format("{:.3f}s", std::chrono::duration<double>(duration).count());
}

// Constructs the step in place (as vrrp_fsm.cc does for actions): building a temporary
// variant and moving it trips GCC 12's -Wmaybe-uninitialized on a std::string inside.
template <class T>
void emit(std::vector<ActionStep>& out, T&& step) {
    out.emplace_back(std::in_place_type<std::decay_t<T>>, std::forward<T>(step));
}

}  // namespace

std::vector<ActionStep> plan_action_steps(const VrrpInstance& fsm, const std::vector<Action>& actions,
                                          const PlanFacts& facts) {
    const VrrpInstanceConfig& config = fsm.config();
    std::vector<ActionStep> steps;
    for (const Action& action : actions) {
        std::visit(Overloaded{
                       [&](const SendAdvert& send) {
                           for (Ipv4 destination : advert_destinations(config))
                               emit(steps, SendAdvertTo{destination,
                                                        encode_advert(fsm.build_advert(send.priority, destination))});
                       },
                       [&](const AddVip& add) {
                           for (const Ipv4Prefix& vip : add.only.value_or(config.vips)) emit(steps, AddAddress{vip});
                       },
                       [&](const RemoveVip& remove) {
                           for (const Ipv4Prefix& vip : remove.only.value_or(config.vips))
                               emit(steps, RemoveAddress{vip});
                       },
                       [&](const SendGarp&) {
                           if (!facts.mac) return;  // no Ethernet address: nothing to announce
                           for (const Ipv4Prefix& vip : config.vips)
                               emit(steps, SendGarpFrame{vip.address, build_garp_frame(*facts.mac, vip.address)});
                       },
                       [&](const ArmTimer& arm) { emit(steps, ArmTimer(arm)); },
                       [&](const CancelTimer& cancel) { emit(steps, CancelTimer(cancel)); },
                       [&](const RunNotify& run) { emit(steps, RunNotify(run)); },
                       [&](const LogTransition& transition) {
                           std::string reason = transition.reason;
                           // A takeover says how stale the master was: the evidence when a
                           // failover looks too early or too late.
                           if (transition.from == VrrpState::kBackup && transition.to == VrrpState::kMaster &&
                               facts.last_advert)
                               reason += "; last advert " + seconds_text(facts.now - *facts.last_advert) + " ago";
                           emit(steps, RecordTransition{transition.from, transition.to, std::move(reason)});
                       },
                   },
                   action);
    }
    return steps;
}

}  // namespace ringlb
