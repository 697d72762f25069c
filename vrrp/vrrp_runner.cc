// The VRRP thread: one epoll loop around every VrrpInstance; see vrrp_runner.h. The state
// machines decide, this file only feeds them events and carries out their actions.
#include "vrrp/vrrp_runner.h"

#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <optional>
#include <stdexcept>

#include <spdlog/spdlog.h>

#include "core/base/log.h"
#include "core/base/unique_fd.h"
#include "vrrp/garp_sender.h"
#include "vrrp/link_state.h"
#include "vrrp/notify_script.h"
#include "vrrp/vip_netlink.h"
#include "vrrp/vrrp_fsm.h"
#include "vrrp/vrrp_packet.h"
#include "vrrp/vrrp_socket.h"

namespace ringlb {
namespace {

using namespace std::chrono_literals;

// Links and addresses are re-read on every rtnetlink notification and at least this
// often, in case a notification was lost.
constexpr Duration kLinkCheckInterval = 1s;
constexpr Duration kNotifyPollInterval = 50ms;
constexpr Duration kNotifyWaitAtStop = 1s;
constexpr int kMaxPacketsPerWake = 64;
constexpr int kMaxTimerRounds = 8;

enum class Source : uint32_t { kSocket, kTimer, kWake, kLinkWatch };

uint64_t tag(Source source, uint32_t index = 0) { return (uint64_t(source) << 32) | index; }

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

std::string seconds_text(Duration duration) {
    return fmt::format("{:.3f}s", std::chrono::duration<double>(duration).count());
}

bool same_addresses(const Advert& advert, const std::vector<Ipv4Prefix>& vips) {
    if (advert.addresses.size() != vips.size()) return false;
    for (size_t i = 0; i < vips.size(); ++i)
        if (advert.addresses[i] != vips[i].address) return false;
    return true;
}

template <class... F>
struct Overloaded : F... {
    using F::operator()...;
};
template <class... F>
Overloaded(F...) -> Overloaded<F...>;

}  // namespace

struct VrrpRunner::Shared {
    std::mutex mutex;
    std::vector<std::pair<std::string, bool>> tracking;  // listener → has a healthy backend
    bool forwarder_stuck = false;
    bool stop_requested = false;
    std::vector<InstanceStatus> status;
    UniqueFd wake_fd;  // eventfd: an input changed or stop was requested

    void wake() const {
        const uint64_t one = 1;
        [[maybe_unused]] ssize_t n = ::write(wake_fd.get(), &one, sizeof one);
    }
};

class VrrpRunner::Loop {
public:
    Loop(std::vector<VrrpInstanceConfig> configs, Shared& shared);
    void run() noexcept;

private:
    struct Instance {
        explicit Instance(VrrpInstanceConfig c)
            : config(std::move(c)), fsm(config), notify(config.notify, config.name) {}
        VrrpInstanceConfig config;  // primary_address filled in
        VrrpInstance fsm;
        NotifyScript notify;
        int ifindex = 0;
        std::optional<MacAddress> mac;
        VrrpSocket socket;
        std::string interface_fault;
        InstanceHealth applied;     // what the state machine was last told
        std::optional<TimePoint> last_advert;  // latest advert from another router (priority > 0)
        int64_t transitions = 0;
        std::string last_transition;
        uint64_t adverts_sent = 0;
        uint64_t adverts_received = 0;
        uint64_t send_errors = 0;
        std::array<uint64_t, kAdvertVerdictCount> dropped{};
        LogRateLimit drop_log{10000};
        LogRateLimit send_log{10000};
        LogRateLimit mismatch_log{60000};
        LogRateLimit garp_log{10000};
    };

    struct Inputs {
        std::vector<std::pair<std::string, bool>> tracking;
        bool forwarder_stuck = false;
        bool stop = false;
    };

    void setup();
    void main_loop();
    void shutdown();
    Inputs read_inputs();
    void apply_health(Instance& instance, const Inputs& inputs, TimePoint now);
    void check_links();
    void refresh_link(Instance& instance, uint32_t index);
    void receive_adverts(Instance& instance);
    void fire_due_timers();
    void arm_timerfd();
    void execute(Instance& instance, const std::vector<Action>& actions);
    void send_advert(Instance& instance, uint8_t priority);
    void publish_status();

    std::vector<VrrpInstanceConfig> configs_;
    Shared& shared_;
    std::vector<std::unique_ptr<Instance>> instances_;
    std::optional<NetlinkRoute> netlink_;
    std::optional<LinkWatch> link_watch_;
    GarpSender garp_;
    UniqueFd epoll_fd_;
    UniqueFd timer_fd_;
    TimePoint next_link_check_{};

    friend class VrrpRunner;
};

VrrpRunner::Loop::Loop(std::vector<VrrpInstanceConfig> configs, Shared& shared)
    : configs_(std::move(configs)), shared_(shared) {}

// Runs on the caller of start(), so every setup error is an exception there.
void VrrpRunner::Loop::setup() {
    netlink_ = NetlinkRoute::open();
    link_watch_ = LinkWatch::open();
    garp_ = GarpSender::open();
    epoll_fd_ = checked_fd(::epoll_create1(EPOLL_CLOEXEC), "epoll_create1");
    timer_fd_ = checked_fd(::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC), "timerfd_create");

    // A crashed run may have left VIPs behind; an instance must start without them
    // (RFC 5798 §6.4.1: a backup does not own the addresses).
    std::vector<LinkInfo> links;
    for (const VrrpInstanceConfig& config : configs_) {
        auto lookup = netlink_->get_link(config.interface);
        if (!lookup) throw std::runtime_error("vrrp " + config.name + ": " + lookup.error());
        const std::optional<LinkInfo>& link = *lookup;
        if (!link) throw std::runtime_error("vrrp " + config.name + ": interface " + config.interface + " does not exist");
        auto cannot_remove = [&](Ipv4 vip, const std::string& error) {
            return std::runtime_error("vrrp " + config.name + ": cannot remove VIP " + format_ipv4(vip) + " from " +
                                      config.interface + ": " + error + " (needs root or CAP_NET_ADMIN)");
        };
        auto addresses = netlink_->ipv4_addresses(link->ifindex);
        if (!addresses) throw std::runtime_error("vrrp " + config.name + ": " + addresses.error());
        const std::vector<Ipv4Prefix> stale = vips_held(*addresses, config.vips);
        for (const Ipv4Prefix& vip : stale) {
            if (auto result = netlink_->remove_address(link->ifindex, vip); !result)
                throw cannot_remove(vip.address, result.error());
            spdlog::warn("vrrp {}: removed VIP {} left on {} by an earlier run", config.name, format_vip(vip),
                         config.interface);
        }
        // Removing an absent VIP succeeds only with the right to change addresses: find
        // out now rather than on the first takeover.
        if (stale.empty() && !config.vips.empty())
            if (auto result = netlink_->remove_address(link->ifindex, config.vips.front()); !result)
                throw cannot_remove(config.vips.front().address, result.error());
        links.push_back(*link);
    }

    for (size_t i = 0; i < configs_.size(); ++i) {
        VrrpInstanceConfig config = configs_[i];
        const LinkInfo& link = links[i];
        auto listed = netlink_->ipv4_addresses(link.ifindex);
        if (!listed) throw std::runtime_error("vrrp " + config.name + ": " + listed.error());
        const std::vector<InterfaceAddress>& addresses = *listed;
        auto source = advert_source_address(config, addresses, vips_on_interface(configs_, config.interface));
        if (!source) throw std::runtime_error("vrrp " + config.name + ": " + source.error());
        config.primary_address = *source;
        auto instance = std::make_unique<Instance>(config);
        instance->ifindex = link.ifindex;
        instance->mac = link.mac;
        instance->socket = VrrpSocket::open(config.interface, link.ifindex, config.unicast_peers.empty());
        instance->interface_fault =
            interface_fault(config.interface, link, link.ifindex, addresses, config.primary_address);
        instance->applied.effective_priority = config.priority;
        epoll_add(epoll_fd_.get(), instance->socket.fd(), tag(Source::kSocket, uint32_t(i)));
        spdlog::info("vrrp {}: vrid {} priority {} on {} from {}, {} {}", config.name, config.vrid, config.priority,
                     config.interface, format_ipv4(config.primary_address),
                     config.unicast_peers.empty() ? "multicast" : "unicast to",
                     config.unicast_peers.empty() ? format_ipv4(kVrrpMulticastGroup)
                                                  : format_ipv4_list(config.unicast_peers));
        instances_.push_back(std::move(instance));
    }
    epoll_add(epoll_fd_.get(), timer_fd_.get(), tag(Source::kTimer));
    epoll_add(epoll_fd_.get(), shared_.wake_fd.get(), tag(Source::kWake));
    epoll_add(epoll_fd_.get(), link_watch_->fd(), tag(Source::kLinkWatch));
    publish_status();
}

void VrrpRunner::Loop::run() noexcept {
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
        for (auto& instance : instances_)
            for (const Ipv4Prefix& vip : instance->config.vips)
                if (netlink_)
                    if (auto result = netlink_->remove_address(instance->ifindex, vip); !result)
                        spdlog::error("vrrp {}: cannot remove VIP {}: {}", instance->config.name, format_vip(vip),
                                      result.error());
        std::lock_guard lock(shared_.mutex);
        for (InstanceStatus& status : shared_.status) {
            status.state = VrrpState::kInit;
            status.master.clear();
            status.last_transition = std::string("vrrp thread failed: ") + failure.what();
        }
    }
}

void VrrpRunner::Loop::main_loop() {
    Inputs inputs = read_inputs();
    const TimePoint start = std::chrono::steady_clock::now();
    for (auto& instance : instances_) {
        apply_health(*instance, inputs, start);  // FAULT before start if the link is down
        execute(*instance, instance->fsm.on_start(start));
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
            const auto source = Source(data >> 32);
            const uint32_t index = uint32_t(data);
            switch (source) {
                case Source::kSocket:
                    if (index < instances_.size()) receive_adverts(*instances_[index]);
                    break;
                case Source::kTimer: {
                    uint64_t expirations = 0;
                    [[maybe_unused]] ssize_t r = ::read(timer_fd_.get(), &expirations, sizeof expirations);
                    break;
                }
                case Source::kWake: {
                    uint64_t count = 0;
                    [[maybe_unused]] ssize_t r = ::read(shared_.wake_fd.get(), &count, sizeof count);
                    break;
                }
                case Source::kLinkWatch:
                    links_changed |= link_watch_->drain();
                    break;
            }
        }
        inputs = read_inputs();
        if (inputs.stop) return;
        TimePoint now = std::chrono::steady_clock::now();
        if (links_changed || now >= next_link_check_) {
            check_links();
            for (auto& instance : instances_) instance->notify.poll();
            next_link_check_ = now + kLinkCheckInterval;
        }
        now = std::chrono::steady_clock::now();
        for (auto& instance : instances_) apply_health(*instance, inputs, now);
        fire_due_timers();
        for (auto& instance : instances_) instance->notify.poll();
        publish_status();
    }
}

void VrrpRunner::Loop::shutdown() {
    const TimePoint now = std::chrono::steady_clock::now();
    for (auto& instance : instances_) execute(*instance, instance->fsm.on_shutdown(now));
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
        if (std::chrono::steady_clock::now() >= give_up) {
            spdlog::warn("vrrp: notify scripts still running at stop; not waiting for them");
            break;
        }
        ::usleep(10000);
    }
}

VrrpRunner::Loop::Inputs VrrpRunner::Loop::read_inputs() {
    std::lock_guard lock(shared_.mutex);
    return Inputs{shared_.tracking, shared_.forwarder_stuck, shared_.stop_requested};
}

void VrrpRunner::Loop::apply_health(Instance& instance, const Inputs& inputs, TimePoint now) {
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
        execute(instance, instance.fsm.on_priority_change(health.effective_priority, now));
    }
    if (health.faulted != instance.applied.faulted || health.fault_reason != instance.applied.fault_reason) {
        // On recovery the state machine logs why the fault was: the reason that cleared.
        const std::string& reason = health.faulted ? health.fault_reason : instance.applied.fault_reason;
        execute(instance, instance.fsm.on_fault(health.faulted, reason, now));
    }
    instance.applied = health;
}

void VrrpRunner::Loop::check_links() {
    for (size_t i = 0; i < instances_.size(); ++i) refresh_link(*instances_[i], uint32_t(i));
}

void VrrpRunner::Loop::refresh_link(Instance& instance, uint32_t index) {
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
            epoll_add(epoll_fd_.get(), socket.fd(), tag(Source::kSocket, index));
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

void VrrpRunner::Loop::receive_adverts(Instance& instance) {
    std::array<uint8_t, 2048> buffer;
    for (int i = 0; i < kMaxPacketsPerWake; ++i) {
        const ssize_t n = instance.socket.receive(buffer);
        if (n == 0) return;
        const TimePoint now = std::chrono::steady_clock::now();
        if (n < 0) {
            uint64_t suppressed = 0;
            if (instance.drop_log.allow(monotonic_ms(), &suppressed))
                spdlog::warn("vrrp {}: receive failed: {}", instance.config.name, std::strerror(int(-n)));
            return;
        }
        const std::span<const uint8_t> packet(buffer.data(), std::min(size_t(n), buffer.size()));
        const DecodedAdvert decoded = decode_advert(packet);
        if (decoded.verdict != AdvertVerdict::kOk) {
            ++instance.dropped[size_t(decoded.verdict)];
            uint64_t suppressed = 0;
            if (instance.drop_log.allow(monotonic_ms(), &suppressed)) {
                const std::string from =
                    packet.size() >= 20 ? format_ipv4(Ipv4(packet[12]) << 24 | Ipv4(packet[13]) << 16 |
                                                      Ipv4(packet[14]) << 8 | packet[15])
                                        : "?";
                spdlog::warn("vrrp {}: dropped a packet from {}: {} ({} more dropped since the last message)",
                             instance.config.name, from, to_string(decoded.verdict), suppressed);
            }
            continue;
        }
        ++instance.adverts_received;
        const Advert& advert = decoded.advert;
        if (advert.vrid == instance.config.vrid && advert.source != instance.config.primary_address) {
            if (advert.priority != kVrrpPriorityStop) instance.last_advert = now;
            uint64_t suppressed = 0;
            // RFC 5798 §7.1: a mismatch MAY be logged; the advert still counts.
            if (!same_addresses(advert, instance.config.vips) && instance.mismatch_log.allow(monotonic_ms(), &suppressed))
                spdlog::warn("vrrp {}: {} advertises vrid {} with addresses {}, we have {}", instance.config.name,
                             format_ipv4(advert.source), advert.vrid, format_ipv4_list(advert.addresses),
                             format_ipv4_list(instance.fsm.build_advert(0, 0).addresses));
        }
        execute(instance, instance.fsm.on_advert(advert, now));
    }
}

void VrrpRunner::Loop::fire_due_timers() {
    constexpr TimerKind kKinds[] = {TimerKind::kMasterDown, TimerKind::kAdver, TimerKind::kGarp};
    for (int round = 0; round < kMaxTimerRounds; ++round) {
        bool fired = false;
        const TimePoint now = std::chrono::steady_clock::now();
        for (auto& instance : instances_) {
            for (TimerKind kind : kKinds) {
                const auto deadline = instance->fsm.timer_deadline(kind);
                if (!deadline || *deadline > now) continue;
                execute(*instance, instance->fsm.on_timer(kind, now));
                fired = true;
            }
        }
        if (!fired) return;
    }
}

void VrrpRunner::Loop::arm_timerfd() {
    TimePoint next = next_link_check_;
    constexpr TimerKind kKinds[] = {TimerKind::kMasterDown, TimerKind::kAdver, TimerKind::kGarp};
    const TimePoint now = std::chrono::steady_clock::now();
    for (auto& instance : instances_) {
        for (TimerKind kind : kKinds)
            if (auto deadline = instance->fsm.timer_deadline(kind)) next = std::min(next, *deadline);
        if (instance->notify.busy()) next = std::min(next, now + kNotifyPollInterval);
    }
    // steady_clock is CLOCK_MONOTONIC on Linux, so its epoch is the timerfd's.
    const auto since_epoch = std::chrono::duration_cast<std::chrono::nanoseconds>(next.time_since_epoch()).count();
    itimerspec spec{};
    spec.it_value.tv_sec = std::max<int64_t>(since_epoch / 1000000000, 0);
    spec.it_value.tv_nsec = since_epoch % 1000000000;
    if (spec.it_value.tv_sec == 0 && spec.it_value.tv_nsec == 0) spec.it_value.tv_nsec = 1;  // 0 would disarm
    if (::timerfd_settime(timer_fd_.get(), TFD_TIMER_ABSTIME, &spec, nullptr) < 0)
        throw std::runtime_error(std::string("timerfd_settime: ") + std::strerror(errno));
}

void VrrpRunner::Loop::execute(Instance& instance, const std::vector<Action>& actions) {
    const VrrpInstanceConfig& config = instance.config;
    for (const Action& action : actions) {
        std::visit(
            Overloaded{
                [&](const SendAdvert& send) { send_advert(instance, send.priority); },
                [&](const AddVip&) {
                    for (const Ipv4Prefix& vip : config.vips)
                        if (auto result = netlink_->add_address(instance.ifindex, vip); !result)
                            spdlog::error("vrrp {}: cannot add VIP {} to {}: {}", config.name, format_vip(vip),
                                          config.interface, result.error());
                },
                [&](const RemoveVip&) {
                    for (const Ipv4Prefix& vip : config.vips)
                        if (auto result = netlink_->remove_address(instance.ifindex, vip); !result)
                            spdlog::error("vrrp {}: cannot remove VIP {} from {}: {}", config.name, format_vip(vip),
                                          config.interface, result.error());
                },
                [&](const SendGarp&) {
                    if (!instance.mac) return;  // no Ethernet address: nothing to announce
                    for (const Ipv4Prefix& vip : config.vips) {
                        const int error = garp_.send(instance.ifindex, build_garp_frame(*instance.mac, vip.address));
                        uint64_t suppressed = 0;
                        if (error != 0 && instance.garp_log.allow(monotonic_ms(), &suppressed))
                            spdlog::warn("vrrp {}: gratuitous ARP for {} on {} failed: {}", config.name,
                                         format_ipv4(vip.address), config.interface, std::strerror(error));
                    }
                },
                [&](const ArmTimer&) {},     // deadlines are read back from the state machine
                [&](const CancelTimer&) {},
                [&](const RunNotify& run) { instance.notify.queue(run.state); },
                [&](const LogTransition& transition) {
                    std::string reason = transition.reason;
                    if (transition.from == VrrpState::kBackup && transition.to == VrrpState::kMaster &&
                        instance.last_advert)
                        reason += "; last advert " +
                                  seconds_text(std::chrono::steady_clock::now() - *instance.last_advert) + " ago";
                    ++instance.transitions;
                    instance.last_transition = reason;
                    const auto level = transition.to == VrrpState::kFault ? spdlog::level::warn : spdlog::level::info;
                    spdlog::log(level, "vrrp {}: {} -> {} ({})", config.name, to_string(transition.from),
                                to_string(transition.to), reason);
                },
            },
            action);
    }
}

void VrrpRunner::Loop::send_advert(Instance& instance, uint8_t priority) {
    for (Ipv4 destination : advert_destinations(instance.config)) {
        const std::vector<uint8_t> payload = encode_advert(instance.fsm.build_advert(priority, destination));
        const int error = instance.socket.send(payload, instance.config.primary_address, destination);
        if (error == 0) {
            ++instance.adverts_sent;
            continue;
        }
        ++instance.send_errors;
        uint64_t suppressed = 0;
        if (instance.send_log.allow(monotonic_ms(), &suppressed))
            spdlog::warn("vrrp {}: advert to {} failed: {} ({} more failures since the last message)",
                         instance.config.name, format_ipv4(destination), std::strerror(error), suppressed);
    }
}

void VrrpRunner::Loop::publish_status() {
    std::vector<InstanceStatus> status;
    for (const auto& instance : instances_) {
        InstanceStatus s;
        s.name = instance->config.name;
        s.state = instance->fsm.state();
        s.priority = instance->fsm.priority();
        s.master = instance->fsm.master_address() ? format_ipv4(instance->fsm.master_address()) : "";
        s.last_transition = instance->last_transition;
        s.transitions = instance->transitions;
        s.adverts_sent = instance->adverts_sent;
        s.adverts_received = instance->adverts_received;
        s.send_errors = instance->send_errors;
        s.dropped = instance->dropped;
        status.push_back(std::move(s));
    }
    std::lock_guard lock(shared_.mutex);
    shared_.status = std::move(status);
}

// ---------------------------------------------------------------------------

VrrpRunner::VrrpRunner(std::vector<VrrpInstanceConfig> instances)
    : configs_(std::move(instances)), shared_(std::make_shared<Shared>()) {
    for (const auto& config : configs_) {
        InstanceStatus status;
        status.name = config.name;
        status.priority = config.priority;
        shared_->status.push_back(std::move(status));
    }
}

VrrpRunner::~VrrpRunner() { stop_graceful(); }

void VrrpRunner::start() {
    if (started_) throw std::logic_error("VrrpRunner::start called twice");
    started_ = true;
    shared_->wake_fd = checked_fd(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC), "eventfd");
    loop_ = std::make_unique<Loop>(configs_, *shared_);
    try {
        loop_->setup();
    } catch (...) {
        loop_.reset();
        stopped_ = true;
        throw;
    }
    thread_ = std::thread([loop = loop_.get()] { loop->run(); });
}

void VrrpRunner::stop_graceful() {
    if (!started_ || stopped_) return;
    stopped_ = true;
    {
        std::lock_guard lock(shared_->mutex);
        shared_->stop_requested = true;
    }
    shared_->wake();
    if (thread_.joinable()) thread_.join();
    loop_.reset();
}

void VrrpRunner::set_tracking(const std::string& listener, bool has_healthy_backend) {
    {
        std::lock_guard lock(shared_->mutex);
        auto it = std::find_if(shared_->tracking.begin(), shared_->tracking.end(),
                               [&](const auto& entry) { return entry.first == listener; });
        if (it == shared_->tracking.end()) shared_->tracking.emplace_back(listener, has_healthy_backend);
        else if (it->second == has_healthy_backend) return;
        else it->second = has_healthy_backend;
    }
    if (shared_->wake_fd) shared_->wake();
}

void VrrpRunner::set_forwarder_stuck(bool stuck) {
    {
        std::lock_guard lock(shared_->mutex);
        if (shared_->forwarder_stuck == stuck) return;
        shared_->forwarder_stuck = stuck;
    }
    if (shared_->wake_fd) shared_->wake();
}

std::vector<VrrpRunner::InstanceStatus> VrrpRunner::status() const {
    std::lock_guard lock(shared_->mutex);
    return shared_->status;
}

}  // namespace ringlb
