// The VRRP thread's epoll loop; see runner_loop.h. The state machines decide, the
// executor acts; this file feeds the one and hands over to the other.
#include "vrrp/runner_loop.h"

#include <signal.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <spdlog/spdlog.h>

#include "vrrp/runner_setup.h"
#include "vrrp/vrrp_packet.h"

namespace ringlb {
namespace {

using namespace std::chrono_literals;

// Links and addresses are re-read on every rtnetlink notification and at least this
// often, in case a notification was lost.
constexpr Duration kLinkCheckInterval = 1s;
constexpr Duration kNotifyPollInterval = 50ms;
constexpr Duration kNotifyWaitAtStop = 1s;
// Bounds on one wake-up's work, so that no instance can starve the others.
constexpr int kMaxPacketsPerWake = 64;
constexpr int kMaxTimerRounds = 8;

// What woke epoll: the high 32 bits of its data, an instance index in the low ones.
enum class WakeSource : uint32_t { kSocket, kTimer, kMailbox, kLinkWatch };

uint64_t epoll_tag(WakeSource source, uint32_t index = 0) { return (uint64_t(source) << 32) | index; }

UniqueFd checked_fd(int fd, const char* what) {
    if (fd < 0) throw std::runtime_error(std::string("vrrp: ") + what + ": " + std::strerror(errno));
    return UniqueFd(fd);
}

void epoll_add(int epoll_fd, int fd, uint64_t data) {
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.u64 = data;
    if (::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &event) < 0)
        throw std::runtime_error(std::string("vrrp: epoll_ctl: ") + std::strerror(errno));
}

// The IPv4 source of a raw packet, for the drop log: "?" when too short to have one.
std::string packet_source_text(std::span<const uint8_t> packet) {
    if (packet.size() < 20) return "?";
    return format_ipv4(Ipv4(packet[12]) << 24 | Ipv4(packet[13]) << 16 | Ipv4(packet[14]) << 8 | packet[15]);
}

}  // namespace

RunnerLoop::RunnerLoop(std::vector<VrrpInstanceConfig> configs, RunnerMailbox& mailbox, VrrpClock clock,
                       std::string state_file)
    : configs_(std::move(configs)), mailbox_(mailbox), clock_(std::move(clock)), held_(std::move(state_file)) {}

void RunnerLoop::setup() {
    netlink_ = NetlinkRoute::open();
    link_watch_ = LinkWatch::open();
    garp_ = GarpSender::open();
    executor_.emplace(*netlink_, garp_, held_);
    epoll_fd_ = checked_fd(::epoll_create1(EPOLL_CLOEXEC), "epoll_create1");
    timer_fd_ = checked_fd(::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC), "timerfd_create");
    // A run that crashed (and no --release after it) may have left VIPs the config no
    // longer names: the state file knows them.
    if (!held_.path().empty()) {
        if (auto recorded = read_held_vips_file(held_.path()); !recorded)
            spdlog::error("vrrp: {}; removing only the VIPs the config names", recorded.error());
        else if (*recorded)
            (void)remove_recorded_vips(*netlink_, **recorded, "vrrp");
    }
    instances_ = open_instances(configs_, *netlink_);
    held_.write(whole_milliseconds(clock_()));  // nothing held yet
    for (size_t i = 0; i < instances_.size(); ++i)
        epoll_add(epoll_fd_.get(), instances_[i]->socket.fd(), epoll_tag(WakeSource::kSocket, uint32_t(i)));
    epoll_add(epoll_fd_.get(), timer_fd_.get(), epoll_tag(WakeSource::kTimer));
    epoll_add(epoll_fd_.get(), mailbox_.wake_fd(), epoll_tag(WakeSource::kMailbox));
    epoll_add(epoll_fd_.get(), link_watch_->fd(), epoll_tag(WakeSource::kLinkWatch));
    publish_status();
}

void RunnerLoop::run() noexcept {
    // Process signals belong to the daemon's main thread.
    sigset_t blocked;
    sigemptyset(&blocked);
    for (int sig : {SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGCHLD, SIGUSR1, SIGUSR2, SIGPIPE}) sigaddset(&blocked, sig);
    pthread_sigmask(SIG_BLOCK, &blocked, nullptr);
    try {
        main_loop();
        shutdown();
    } catch (const std::exception& failure) {
        // Sharing fate with the forwarder is the point, but silently keeping a VIP
        // nobody advertises for would make a split brain: drop them.
        spdlog::critical("vrrp thread failed: {}; removing every VIP", failure.what());
        remove_every_vip();
        mailbox_.publish_thread_failed(failure.what());
    }
}

void RunnerLoop::remove_every_vip() {
    if (!netlink_) return;
    const int64_t now_ms = whole_milliseconds(clock_());
    for (auto& instance : instances_)
        for (const Ipv4Prefix& vip : instance->config.vips) {
            if (auto result = netlink_->remove_address(instance->ifindex, vip); !result)
                spdlog::error("vrrp {}: cannot remove VIP {}: {}", instance->config.name, format_vip(vip),
                              result.error());
            else
                held_.removed(*instance, vip, now_ms);
        }
}

void RunnerLoop::main_loop() {
    RunnerInputs inputs = mailbox_.inputs();
    const TimePoint start = clock_();
    for (auto& instance : instances_) {
        apply_health(*instance, inputs, start);  // FAULT before start if the link is down
        executor_->execute(*instance, instance->fsm.on_start(start), start);
    }
    next_link_check_ = start + kLinkCheckInterval;
    publish_status();

    std::array<epoll_event, 16> events;
    for (;;) {
        arm_timerfd();
        const int n = ::epoll_wait(epoll_fd_.get(), events.data(), int(events.size()), -1);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw std::runtime_error(std::string("epoll_wait: ") + std::strerror(errno));
        }
        bool links_changed = false;
        for (int i = 0; i < n; ++i) {
            const uint64_t data = events[size_t(i)].data.u64;
            const uint32_t index = uint32_t(data);
            switch (WakeSource(data >> 32)) {
                case WakeSource::kSocket:
                    if (index < instances_.size()) receive_adverts(*instances_[index]);
                    break;
                case WakeSource::kTimer: {
                    uint64_t expirations = 0;
                    [[maybe_unused]] ssize_t r = ::read(timer_fd_.get(), &expirations, sizeof expirations);
                    break;
                }
                case WakeSource::kMailbox:
                    mailbox_.drain_wake();
                    break;
                case WakeSource::kLinkWatch:
                    links_changed |= link_watch_->drain();
                    break;
            }
        }
        inputs = mailbox_.inputs();
        if (inputs.stop) return;
        if (auto next = mailbox_.take_reconfigure()) mailbox_.answer_reconfigure(reconfigure(*next));
        TimePoint now = clock_();
        if (links_changed || now >= next_link_check_) {
            check_links();
            for (auto& instance : instances_) instance->notify.poll();
            next_link_check_ = now + kLinkCheckInterval;
        }
        now = clock_();
        for (auto& instance : instances_) apply_health(*instance, inputs, now);
        fire_due_timers();
        for (auto& instance : instances_) instance->notify.poll();
        poll_retired();
        publish_status();
    }
}

void RunnerLoop::shutdown() {
    const TimePoint now = clock_();
    const std::vector<Ipv4> held = held_.addresses();
    for (auto& instance : instances_) executor_->execute(*instance, instance->fsm.on_shutdown(now), now);
    const std::vector<Ipv4> still = held_.addresses();
    for (Ipv4 address : held)
        if (std::find(still.begin(), still.end(), address) == still.end()) released_at_stop_.push_back(address);
    held_.remove_if_empty();
    publish_status();
    // Let the INIT notifications run, so a script sees the instance stop; bounded.
    const TimePoint give_up = now + kNotifyWaitAtStop;
    for (;;) {
        bool busy = false;
        for (auto& instance : instances_) {
            instance->notify.poll();
            busy |= instance->notify.busy();
        }
        if (!busy) break;
        if (clock_() >= give_up) {
            spdlog::warn("vrrp: notify scripts still running at stop; not waiting for them");
            break;
        }
        ::usleep(10000);
    }
}

void RunnerLoop::apply_health(RunnerInstance& instance, const RunnerInputs& inputs, TimePoint now) {
    HealthInputs facts;
    facts.interface_fault = instance.interface_fault;
    facts.forwarder_stuck = inputs.forwarder_stuck;
    for (const auto& [listener, healthy] : inputs.tracking)
        if (listener == instance.config.track_listener) facts.listener_healthy = healthy;
    const InstanceHealth health = evaluate_health(instance.config, facts);
    if (health == instance.applied) return;
    if (health.effective_priority != instance.applied.effective_priority) {
        spdlog::info("vrrp {}: priority {} -> {}{}", instance.config.name, instance.applied.effective_priority,
                     health.effective_priority,
                     health.effective_priority < instance.config.priority
                         ? " (listener '" + instance.config.track_listener + "' has no healthy backend)"
                         : "");
        executor_->execute(instance, instance.fsm.on_priority_change(health.effective_priority, now), now);
    }
    if (health.faulted != instance.applied.faulted || health.fault_reason != instance.applied.fault_reason) {
        // On recovery the state machine logs why the fault was: the reason that cleared.
        const std::string& reason = health.faulted ? health.fault_reason : instance.applied.fault_reason;
        executor_->execute(instance, instance.fsm.on_fault(health.faulted, reason, now), now);
    }
    instance.applied = health;
}

void RunnerLoop::check_links() {
    for (size_t i = 0; i < instances_.size(); ++i) refresh_link(*instances_[i], uint32_t(i));
}

void RunnerLoop::refresh_link(RunnerInstance& instance, uint32_t index) {
    const VrrpInstanceConfig& config = instance.config;
    // Not knowing is not a fault of the link: on a failed read the last verdict stays.
    auto cannot_read = [&](const std::string& why) {
        spdlog::error("vrrp {}: cannot read interface {}: {}", config.name, config.interface, why);
    };
    auto lookup = netlink_->get_link(config.interface);
    if (!lookup) return cannot_read(lookup.error());
    const std::optional<LinkInfo>& link = *lookup;
    if (link && link->ifindex != instance.ifindex) {
        // Deleted and created again: the socket is bound to the old device.
        try {
            VrrpSocket socket = VrrpSocket::open(config.interface, link->ifindex, config.unicast_peers.empty());
            epoll_add(epoll_fd_.get(), socket.fd(), epoll_tag(WakeSource::kSocket, index));
            instance.socket = std::move(socket);  // closing the old fd drops it from epoll
            instance.ifindex = link->ifindex;
            spdlog::info("vrrp {}: interface {} re-created (index {})", config.name, config.interface, link->ifindex);
        } catch (const std::exception& failure) {
            spdlog::error("vrrp {}: {}", config.name, failure.what());
        }
    }
    std::vector<InterfaceAddress> addresses;
    if (link) {
        auto listed = netlink_->ipv4_addresses(link->ifindex);
        if (!listed) return cannot_read(listed.error());
        addresses = std::move(*listed);
        instance.mac = link->mac;
    }
    std::string fault = interface_fault(config.interface, link, instance.ifindex, addresses, config.primary_address);
    if (fault == instance.interface_fault) return;
    if (fault.empty()) spdlog::info("vrrp {}: interface {} is usable again", config.name, config.interface);
    else spdlog::warn("vrrp {}: {}", config.name, fault);
    instance.interface_fault = std::move(fault);
}

void RunnerLoop::receive_adverts(RunnerInstance& instance) {
    std::array<uint8_t, 2048> buffer;
    for (int i = 0; i < kMaxPacketsPerWake; ++i) {
        const ssize_t n = instance.socket.receive(buffer);
        if (n == 0) return;
        const TimePoint now = clock_();
        uint64_t suppressed = 0;
        if (n < 0) {
            if (instance.drop_log.allow(whole_milliseconds(now), &suppressed))
                spdlog::warn("vrrp {}: receive failed: {}", instance.config.name, std::strerror(int(-n)));
            return;
        }
        const std::span<const uint8_t> packet(buffer.data(), std::min(size_t(n), buffer.size()));
        const DecodedAdvert decoded = decode_advert(packet);
        if (decoded.verdict != AdvertVerdict::kOk) {
            ++instance.counters.dropped[size_t(decoded.verdict)];
            if (instance.drop_log.allow(whole_milliseconds(now), &suppressed))
                spdlog::warn("vrrp {}: dropped a packet from {}: {} ({} more dropped since the last message)",
                             instance.config.name, packet_source_text(packet), to_string(decoded.verdict),
                             suppressed);
            continue;
        }
        const Advert& advert = decoded.advert;
        if (const AdvertVerdict verdict = instance.filter.judge(advert, now); verdict != AdvertVerdict::kOk) {
            ++instance.counters.dropped[size_t(verdict)];
            if (instance.mismatch_log.allow(whole_milliseconds(now), &suppressed))
                spdlog::warn("vrrp {}: dropped an advert from {} for vrid {}: {} (it lists {}, we have {}; {} more "
                             "dropped since the last message)",
                             instance.config.name, format_ipv4(advert.source), advert.vrid, to_string(verdict),
                             format_ipv4_list(advert.addresses),
                             format_ipv4_list(instance.fsm.build_advert(0, 0).addresses), suppressed);
            continue;
        }
        ++instance.counters.adverts_received;
        if (advert.vrid == instance.config.vrid && advert.source != instance.config.primary_address &&
            advert.priority != kVrrpPriorityStop)
            instance.last_advert = now;
        executor_->execute(instance, instance.fsm.on_advert(advert, now), now);
    }
}

void RunnerLoop::fire_due_timers() {
    // Each round reads the clock again: while one timer's actions run, another may fall
    // due. Bounded, so a clock that jumps cannot hold the loop here.
    for (int round = 0; round < kMaxTimerRounds; ++round) {
        bool fired = false;
        const TimePoint now = clock_();
        for (auto& instance : instances_) {
            for (TimerKind kind : VrrpTimers::kFiringOrder) {
                if (!instance->timers.take_due(kind, now)) continue;
                executor_->execute(*instance, instance->fsm.on_timer(kind, now), now);
                fired = true;
            }
        }
        if (!fired) return;
    }
}

void RunnerLoop::arm_timerfd() {
    const TimePoint now = clock_();
    TimePoint next = next_link_check_;
    for (auto& instance : instances_) {
        if (auto deadline = instance->timers.earliest()) next = std::min(next, *deadline);
        if (instance->notify.busy()) next = std::min(next, now + kNotifyPollInterval);
    }
    if (!retired_.empty()) next = std::min(next, now + kNotifyPollInterval);
    // Relative to the injected clock's now, so any clock works; a deadline already past
    // still wants a wake-up (an all-zero value would disarm the timer).
    const int64_t delay_ns = std::max<int64_t>(std::chrono::nanoseconds(next - now).count(), 1);
    itimerspec spec{};
    spec.it_value.tv_sec = delay_ns / 1000000000;
    spec.it_value.tv_nsec = delay_ns % 1000000000;
    if (::timerfd_settime(timer_fd_.get(), 0, &spec, nullptr) < 0)
        throw std::runtime_error(std::string("timerfd_settime: ") + std::strerror(errno));
}

void RunnerLoop::register_socket(uint32_t index) {
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.u64 = epoll_tag(WakeSource::kSocket, index);
    const int fd = instances_[index]->socket.fd();
    if (::epoll_ctl(epoll_fd_.get(), EPOLL_CTL_MOD, fd, &event) == 0) return;
    if (errno == ENOENT && ::epoll_ctl(epoll_fd_.get(), EPOLL_CTL_ADD, fd, &event) == 0) return;
    spdlog::error("vrrp {}: epoll_ctl: {}; its adverts are not read", instances_[index]->config.name,
                  std::strerror(errno));
}

void RunnerLoop::publish_status() {
    std::vector<VrrpInstanceStatus> status;
    status.reserve(instances_.size());
    for (const auto& instance : instances_) status.push_back(build_status(instance->fsm, instance->counters));
    mailbox_.publish(std::move(status));
}

}  // namespace ringlb
