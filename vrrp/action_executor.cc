// The I/O half of carrying out VRRP actions; see action_executor.h.
#include "vrrp/action_executor.h"

#include <cstring>

#include <spdlog/spdlog.h>

#include "vrrp/vrrp_clock.h"

namespace ringlb {

void ActionExecutor::execute(RunnerInstance& instance, const std::vector<Action>& actions, TimePoint now) {
    const PlanFacts facts{instance.mac, instance.last_advert, now};
    for (const ActionStep& step : plan_action_steps(instance.fsm, actions, facts))
        std::visit([&](const auto& one) { carry_out(instance, one, now); }, step);
}

void ActionExecutor::carry_out(RunnerInstance& instance, const SendAdvertTo& send, TimePoint now) {
    const int error = instance.socket.send(send.payload, instance.config.primary_address, send.destination);
    if (error == 0) {
        ++instance.counters.adverts_sent;
        return;
    }
    ++instance.counters.send_errors;
    uint64_t suppressed = 0;
    if (instance.send_log.allow(whole_milliseconds(now), &suppressed))
        spdlog::warn("vrrp {}: advert to {} failed: {} ({} more failures since the last message)",
                     instance.config.name, format_ipv4(send.destination), std::strerror(error), suppressed);
}

void ActionExecutor::carry_out(RunnerInstance& instance, const AddAddress& add, TimePoint now) {
    // Recorded before it is added: a crash in between leaves a line for an address that
    // is not there (skipped by --release), never an address without a line.
    held_.added(instance, add.vip, whole_milliseconds(now));
    if (auto result = netlink_.add_address(instance.ifindex, add.vip); !result) {
        spdlog::error("vrrp {}: cannot add VIP {} to {}: {}", instance.config.name, format_vip(add.vip),
                      instance.config.interface, result.error());
        held_.removed(instance, add.vip, whole_milliseconds(now));
    }
}

void ActionExecutor::carry_out(RunnerInstance& instance, const RemoveAddress& remove, TimePoint now) {
    if (auto result = netlink_.remove_address(instance.ifindex, remove.vip); !result)
        spdlog::error("vrrp {}: cannot remove VIP {} from {}: {}", instance.config.name, format_vip(remove.vip),
                      instance.config.interface, result.error());
    else
        held_.removed(instance, remove.vip, whole_milliseconds(now));
}

void ActionExecutor::carry_out(RunnerInstance& instance, const SendGarpFrame& garp, TimePoint now) {
    const int error = garp_.send(instance.ifindex, garp.frame);
    uint64_t suppressed = 0;
    if (error != 0 && instance.garp_log.allow(whole_milliseconds(now), &suppressed))
        spdlog::warn("vrrp {}: gratuitous ARP for {} on {} failed: {}", instance.config.name, format_ipv4(garp.vip),
                     instance.config.interface, std::strerror(error));
}

void ActionExecutor::carry_out(RunnerInstance& instance, const ArmTimer& arm, TimePoint) {
    instance.timers.apply(arm);
}

void ActionExecutor::carry_out(RunnerInstance& instance, const CancelTimer& cancel, TimePoint) {
    instance.timers.apply(cancel);
}

void ActionExecutor::carry_out(RunnerInstance& instance, const RunNotify& run, TimePoint) {
    instance.notify.queue(run.state);
}

void ActionExecutor::carry_out(RunnerInstance& instance, const RecordTransition& transition, TimePoint) {
    ++instance.counters.transitions;
    instance.counters.last_transition = transition.reason;
    const auto level = transition.to == VrrpState::kFault ? spdlog::level::warn : spdlog::level::info;
    spdlog::log(level, "vrrp {}: {} -> {} ({})", instance.config.name, to_string(transition.from),
                to_string(transition.to), transition.reason);
}

}  // namespace ringlb
