// A reload's VRRP changes, on the VRRP thread (RunnerLoop::reconfigure): the steps of
// plan_instance_reload carried out in two phases, so that a failure changes nothing.
// First everything that can fail (interfaces looked up, source addresses checked,
// sockets opened); then the changes, which cannot: removed and restarted instances
// stop as on a graceful stop, updated ones take their new settings live, added and
// restarted ones start in BACKUP as at start-up.
#include <stdexcept>

#include <spdlog/spdlog.h>

#include "vrrp/instance_reload_plan.h"
#include "vrrp/runner_loop.h"
#include "vrrp/runner_setup.h"

namespace ringlb {
namespace {

// Every VIP on `interface` in the old and the new list: none may become a source.
std::vector<Ipv4Prefix> not_sources(const std::vector<VrrpInstanceConfig>& old_configs,
                                    const std::vector<VrrpInstanceConfig>& next, const std::string& interface) {
    std::vector<Ipv4Prefix> vips = vips_on_interface(next, interface);
    for (const Ipv4Prefix& vip : vips_on_interface(old_configs, interface)) vips.push_back(vip);
    return vips;
}

bool starts(InstanceReload kind) { return kind == InstanceReload::kAdd || kind == InstanceReload::kRestart; }
bool stops(InstanceReload kind) { return kind == InstanceReload::kRemove || kind == InstanceReload::kRestart; }

}  // namespace

RunnerLoop::PreparedStep RunnerLoop::prepare_update(size_t running, const VrrpInstanceConfig& next_config,
                                                    const std::vector<VrrpInstanceConfig>& next) {
    RunnerInstance& instance = *instances_[running];
    PreparedStep prepared;
    prepared.primary = instance.config.primary_address;
    if (next_config.primary_address != configs_[running].primary_address) {
        // source_address set, changed or taken out: checked against the interface now.
        auto addresses = netlink_->ipv4_addresses(instance.ifindex);
        if (!addresses) throw std::runtime_error("vrrp " + next_config.name + ": " + addresses.error());
        auto source =
            advert_source_address(next_config, *addresses, not_sources(configs_, next, next_config.interface));
        if (!source) throw std::runtime_error("vrrp " + next_config.name + ": " + source.error());
        prepared.primary = *source;
    }
    if (next_config.unicast_peers.empty() != instance.config.unicast_peers.empty())
        prepared.socket = VrrpSocket::open(next_config.interface, instance.ifindex, next_config.unicast_peers.empty());
    return prepared;
}

Result<void> RunnerLoop::reconfigure(const std::vector<VrrpInstanceConfig>& next) {
    const std::vector<InstanceReloadStep> steps = plan_instance_reload(configs_, next);
    std::vector<PreparedStep> prepared(steps.size());
    try {
        for (size_t s = 0; s < steps.size(); ++s) {
            const InstanceReloadStep& step = steps[s];
            if (starts(step.kind)) {
                const VrrpInstanceConfig& config = next[*step.next];
                prepared[s].fresh = open_instance(config, find_link(config, *netlink_),
                                                  not_sources(configs_, next, config.interface), *netlink_);
            } else if (step.kind == InstanceReload::kUpdate) {
                prepared[s] = prepare_update(*step.running, next[*step.next], next);
            }
        }
    } catch (const std::exception& failure) {
        return fail(failure.what());  // what was opened closes with `prepared`
    }

    const TimePoint now = clock_();
    for (const InstanceReloadStep& step : steps) {
        if (!stops(step.kind)) continue;
        RunnerInstance& old = *instances_[*step.running];
        spdlog::info("vrrp {}: {}", step.name,
                     step.kind == InstanceReload::kRemove ? "section removed: stopping"
                                                          : "interface or vrid changed: stopping, then starting again");
        executor_->execute(old, old.fsm.on_shutdown(now), now);
        old.socket = VrrpSocket();  // closing it takes it out of epoll
        retired_.push_back(std::move(instances_[*step.running]));  // its INIT notify may still run
    }
    std::vector<std::unique_ptr<RunnerInstance>> instances(next.size());
    for (size_t s = 0; s < steps.size(); ++s) {
        const InstanceReloadStep& step = steps[s];
        if (step.kind == InstanceReload::kKeep || step.kind == InstanceReload::kUpdate)
            instances[*step.next] = std::move(instances_[*step.running]);
        else if (starts(step.kind))
            instances[*step.next] = std::move(prepared[s].fresh);
    }
    instances_ = std::move(instances);
    configs_ = next;

    const RunnerInputs inputs = mailbox_.inputs();
    for (size_t s = 0; s < steps.size(); ++s)
        if (steps[s].kind == InstanceReload::kUpdate)
            update_instance(*instances_[*steps[s].next], next[*steps[s].next], prepared[s], inputs, now);
    for (size_t i = 0; i < instances_.size(); ++i) register_socket(uint32_t(i));
    for (const InstanceReloadStep& step : steps) {
        if (!starts(step.kind)) continue;
        RunnerInstance& fresh = *instances_[*step.next];
        try {
            remove_stale_vips(fresh.config, fresh.ifindex, *netlink_);
        } catch (const std::exception& failure) {
            spdlog::error("{}", failure.what());
        }
        apply_health(fresh, inputs, now);  // FAULT before start if the link is down
        executor_->execute(fresh, fresh.fsm.on_start(now), now);
    }
    check_links();  // a new source address changes what the interface must hold
    publish_status();
    return {};
}

void RunnerLoop::update_instance(RunnerInstance& instance, const VrrpInstanceConfig& configured,
                                 PreparedStep& prepared, const RunnerInputs& inputs, TimePoint now) {
    VrrpInstanceConfig config = configured;
    config.primary_address = prepared.primary;
    if (config.notify != instance.config.notify || config.notify_user != instance.config.notify_user)
        instance.notify.set_path(config.notify, config.notify_user);
    if (prepared.socket) instance.socket = std::move(*prepared.socket);
    spdlog::info("vrrp {}: settings changed by reload, applied in {}", config.name, to_string(instance.fsm.state()));
    // Before the new VIPs are ours: the peer's adverts with the old list are still
    // accepted for a while, so reloading the two hosts one after the other is no failover.
    instance.filter.reconfigure(config, now);
    instance.config = config;
    executor_->execute(instance, instance.fsm.on_reconfigure(config, now), now);
    held_.refresh(instance, whole_milliseconds(now));  // --release's priority-0 advert carries the new facts
    apply_health(instance, inputs, now);  // a new priority or tracking: advertised, re-elected
}

void RunnerLoop::poll_retired() {
    std::erase_if(retired_, [](const std::unique_ptr<RunnerInstance>& instance) {
        instance->notify.poll();
        return !instance->notify.busy();
    });
}

}  // namespace ringlb
