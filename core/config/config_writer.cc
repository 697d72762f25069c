// Config → ringlb.conf text; see config_writer.h.
#include "core/config/config_writer.h"

#include <algorithm>

#include "core/base/duration.h"
#include "core/config/config_names.h"

namespace ringlb {

namespace {

std::string format_prefix(const Ipv4Prefix& prefix) {
    return format_ipv4(prefix.address) + "/" + std::to_string(prefix.prefix_len);
}

// Writes the keys of one section. A key whose field holds the model's default is left
// out, so that a written file shows what the operator chose.
template <class Section>
class SectionWriter {
public:
    SectionWriter(std::string& out, const Section& section) : out_(out), section_(section) {}

    void key(std::string_view key, std::string_view text) {
        out_.append(key).append(" = ").append(text).append("\n");
    }

    template <class Field, class Format>
    void unless_default(std::string_view key, Field Section::*field, Format format) {
        if (section_.*field != defaults_.*field) this->key(key, format(section_.*field));
    }
    template <class Field>
    void number_unless_default(std::string_view key, Field Section::*field) {
        unless_default(key, field, [](Field value) { return std::to_string(value); });
    }
    void duration_unless_default(std::string_view key, Millis Section::*field) {
        unless_default(key, field, [](Millis value) { return format_duration(value); });
    }
    void text_unless_default(std::string_view key, std::string Section::*field) {
        unless_default(key, field, [](const std::string& value) { return value; });
    }

private:
    std::string& out_;
    const Section& section_;
    const Section defaults_{};
};

void write_global(std::string& out, const GlobalConfig& global) {
    SectionWriter<GlobalConfig> w(out, global);
    out += "[global]\n";
    w.unless_default("workers", &GlobalConfig::workers,
                     [](int workers) { return workers == 0 ? std::string("auto") : std::to_string(workers); });
    w.text_unless_default("control_socket", &GlobalConfig::control_socket);
    if (global.metrics) w.key("metrics", global.metrics->to_string());
    w.text_unless_default("log_level", &GlobalConfig::log_level);
    w.text_unless_default("access_log", &GlobalConfig::access_log);
    w.duration_unless_default("shutdown_grace", &GlobalConfig::shutdown_grace);
}

std::string format_backend(const BackendConfig& backend) {
    std::string text = backend.address.to_string();
    if (backend.weight != 1) text += " weight=" + std::to_string(backend.weight);
    if (backend.backup) text += " backup";
    if (backend.state != BackendAdminState::kReady)
        text += " state=" + std::string(format_backend_state(backend.state));
    return text;
}

// A long list on several lines of at most 8 prefixes: each line reads back as an addition.
void write_prefixes(std::string& out, std::string_view key, const std::vector<InetPrefix>& prefixes) {
    constexpr size_t kPerLine = 8;
    for (size_t start = 0; start < prefixes.size(); start += kPerLine) {
        const size_t count = std::min(kPerLine, prefixes.size() - start);
        out.append(key).append(" = ").append(format_prefix_list({prefixes.data() + start, count})).append("\n");
    }
}

std::string on_off(bool on) { return on ? "on" : "off"; }

void write_listener(std::string& out, const ListenerConfig& listener) {
    using L = ListenerConfig;
    SectionWriter<L> w(out, listener);
    out += "\n[listener." + listener.name + "]\n";
    w.key("bind", listener.bind.to_string());
    w.key("scheduler", format_scheduler(listener.scheduler));
    for (const BackendConfig& backend : listener.backends) w.key("backend", format_backend(backend));
    w.unless_default("check", &L::check, format_health_check);
    if (listener.check_port) w.key("check_port", std::to_string(*listener.check_port));
    w.duration_unless_default("check_interval", &L::check_interval);
    w.duration_unless_default("check_timeout", &L::check_timeout);
    w.number_unless_default("rise", &L::rise);
    w.number_unless_default("fall", &L::fall);
    w.number_unless_default("max_fails", &L::max_fails);
    w.duration_unless_default("fail_timeout", &L::fail_timeout);
    w.duration_unless_default("slow_start", &L::slow_start);
    if (listener.agent_port) w.key("agent_port", std::to_string(*listener.agent_port));
    w.duration_unless_default("agent_interval", &L::agent_interval);
    w.duration_unless_default("connect_timeout", &L::connect_timeout);
    w.duration_unless_default("idle_timeout", &L::idle_timeout);
    w.duration_unless_default("half_close_timeout", &L::half_close_timeout);
    w.duration_unless_default("queue_timeout", &L::queue_timeout);
    w.unless_default("splice", &L::splice, format_splice_mode);
    w.number_unless_default("retries", &L::retries);
    w.number_unless_default("max_connections", &L::max_connections);
    w.number_unless_default("max_conn_per_source", &L::max_conn_per_source);
    w.number_unless_default("rate_per_source", &L::rate_per_source);
    w.unless_default("proxy_protocol", &L::proxy_protocol, format_proxy_protocol);
    w.number_unless_default("hash_table_size", &L::hash_table_size);
    write_prefixes(out, "allow", listener.allow);
    write_prefixes(out, "deny", listener.deny);
    w.unless_default("accept_proxy", &L::accept_proxy, format_accept_proxy);
    w.duration_unless_default("accept_proxy_timeout", &L::accept_proxy_timeout);
    write_prefixes(out, "accept_proxy_from", listener.accept_proxy_from);
    w.unless_default("transparent", &L::transparent, on_off);
    w.number_unless_default("transparent_mark", &L::transparent_mark);
    w.unless_default("tcp_keepalive", &L::tcp_keepalive, on_off);
    w.duration_unless_default("keepalive_idle", &L::keepalive_idle);
    w.duration_unless_default("keepalive_interval", &L::keepalive_interval);
    w.number_unless_default("keepalive_count", &L::keepalive_count);
    w.duration_unless_default("drain_timeout", &L::drain_timeout);
}

void write_vrrp(std::string& out, const VrrpInstanceConfig& vrrp) {
    using V = VrrpInstanceConfig;
    SectionWriter<V> w(out, vrrp);
    out += "\n[vrrp." + vrrp.name + "]\n";
    w.key("interface", vrrp.interface);
    w.key("vrid", std::to_string(vrrp.vrid));
    w.key("priority", std::to_string(vrrp.priority));
    w.duration_unless_default("advert_interval", &V::advert_interval);
    for (const Ipv4Prefix& vip : vrrp.vips) w.key("vip", format_prefix(vip));
    w.unless_default("preempt", &V::preempt, [](bool preempt) { return preempt ? "true" : "false"; });
    w.duration_unless_default("preempt_delay", &V::preempt_delay);
    for (Ipv4 peer : vrrp.unicast_peers) w.key("unicast_peer", format_ipv4(peer));
    if (vrrp.primary_address != 0) w.key("source_address", format_ipv4(vrrp.primary_address));
    w.text_unless_default("track_listener", &V::track_listener);
    w.number_unless_default("track_weight", &V::track_weight);
    w.text_unless_default("notify", &V::notify);
    w.text_unless_default("notify_user", &V::notify_user);
    w.number_unless_default("garp_repeat", &V::garp_repeat);
    w.duration_unless_default("garp_interval", &V::garp_interval);
    w.duration_unless_default("garp_refresh", &V::garp_refresh);
    w.unless_default("accept_mismatched_addresses", &V::accept_mismatched_addresses,
                     [](bool accept) { return accept ? "true" : "false"; });
}

}  // namespace

std::string format_config(const Config& config) {
    std::string out;
    write_global(out, config.global);
    for (const ListenerConfig& listener : config.listeners) write_listener(out, listener);
    for (const VrrpInstanceConfig& vrrp : config.vrrp) write_vrrp(out, vrrp);
    return out;
}

}  // namespace ringlb
