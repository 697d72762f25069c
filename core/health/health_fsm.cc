// Health decisions; see health_fsm.h. Pure.
#include "core/health/health_fsm.h"

#include <algorithm>
#include <charconv>

#include "core/base/text.h"

namespace ringlb {

namespace {

bool equals_ignoring_case(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return (x | 0x20) == (y | 0x20);
           });
}

std::optional<uint32_t> parse_percent(std::string_view word) {
    if (word.size() < 2 || word.back() != '%') return std::nullopt;
    std::string_view digits = word.substr(0, word.size() - 1);
    uint32_t value = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    if (ec != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
    return value;
}

}  // namespace

// ------------------------------------------------------------------ agent

Result<AgentReply> parse_agent_reply(std::string_view line) {
    line = line.substr(0, line.find('\n'));
    AgentReply reply;
    const size_t sharp = line.find('#');
    if (sharp != std::string_view::npos) {
        reply.description = std::string(trim(line.substr(sharp + 1)));
        line = line.substr(0, sharp);
    }
    size_t pos = 0;
    while (pos < line.size()) {
        const size_t start = line.find_first_not_of(" \t\r,", pos);
        if (start == std::string_view::npos) break;
        size_t end = line.find_first_of(" \t\r,", start);
        if (end == std::string_view::npos) end = line.size();
        const std::string_view word = line.substr(start, end - start);
        pos = end;
        if (equals_ignoring_case(word, "up")) {
            reply.up = true;
        } else if (equals_ignoring_case(word, "down") || equals_ignoring_case(word, "fail") ||
                   equals_ignoring_case(word, "stopped")) {
            reply.up = false;
        } else if (equals_ignoring_case(word, "ready")) {
            reply.admin = BackendAdminState::kReady;
        } else if (equals_ignoring_case(word, "drain")) {
            reply.admin = BackendAdminState::kDrain;
        } else if (equals_ignoring_case(word, "maint")) {
            reply.admin = BackendAdminState::kMaint;
        } else if (word.back() == '%') {
            auto percent = parse_percent(word);
            if (!percent || *percent > kMaxAgentPercent) {
                return fail("bad weight '" + std::string(word) + "' (expected 0% to " +
                            std::to_string(kMaxAgentPercent) + "%)");
            }
            reply.weight_percent = *percent;
        } else {
            reply.ignored.emplace_back(word);
        }
    }
    if (!reply.up && !reply.admin && !reply.weight_percent) {
        return fail(reply.ignored.empty() && reply.description.empty()
                        ? std::string("empty reply")
                        : "no state or weight in '" + std::string(trim(line)) + "'");
    }
    return reply;
}

// ------------------------------------------------------------------ passive

PassiveStep passive_on_connect(const PassiveWindow& window, bool ok, int64_t now_ms, const PassiveParams& params) {
    if (params.max_fails == 0) return {window, false};
    const bool expired = now_ms - window.start_ms >= params.fail_timeout_ms;
    if (ok) {
        if (window.probation || (window.fails > 0 && expired)) return {PassiveWindow{}, false};
        return {window, false};
    }
    if (window.probation) return {PassiveWindow{now_ms, params.max_fails, false}, true};
    if (window.fails == 0 || expired) {
        return {PassiveWindow{now_ms, 1, false}, params.max_fails <= 1};
    }
    PassiveWindow next = window;
    next.fails = std::min(window.fails + 1, PassiveWindow::kMaxFails);
    return {next, window.fails < params.max_fails && next.fails >= params.max_fails};
}

PassiveWindow passive_probation(int64_t now_ms, const PassiveParams& params) {
    return PassiveWindow{now_ms, params.max_fails > 0 ? params.max_fails - 1 : 0, true};
}

// ------------------------------------------------------------------ the state machine

BackendStatus HealthFsm::status() const {
    if (admin_ == BackendAdminState::kMaint || agent_admin_ == BackendAdminState::kMaint)
        return BackendStatus::kMaint;
    if (!check_up_ || passive_down_ || agent_down_) return BackendStatus::kDown;
    if (admin_ == BackendAdminState::kDrain || agent_admin_ == BackendAdminState::kDrain || agent_percent_ == 0)
        return BackendStatus::kDrain;
    return BackendStatus::kUp;
}

bool HealthFsm::active_checks_paused() const { return status() == BackendStatus::kMaint; }

void HealthFsm::restart_checks() {
    check_up_ = true;
    confirmed_ = false;
    streak_ = 0;
}

std::optional<HealthTransition> HealthFsm::settle(BackendStatus before, std::string reason, int64_t now_ms) {
    const BackendStatus after = status();
    if (after == before) return std::nullopt;
    if (after == BackendStatus::kUp && params_.slow_start_ms > 0) ramp_start_ms_ = now_ms;
    else if (after != BackendStatus::kUp) ramp_start_ms_.reset();
    return HealthTransition{before, after, std::move(reason)};
}

std::optional<HealthTransition> HealthFsm::set_params(const HealthParams& params, int64_t now_ms) {
    const BackendStatus before = status();
    const bool was_active = params_.active;
    params_ = params;
    if (was_active == params.active) return std::nullopt;
    // Passive-down without checks becomes "checks must pass" with them, and vice versa.
    const bool was_down = !check_up_ || passive_down_;
    restart_checks();
    passive_down_ = false;
    if (params.active && was_down) {
        check_up_ = false;
        confirmed_ = true;
    }
    return settle(before, params.active ? "health checks switched on" : "health checks switched off", now_ms);
}

std::optional<HealthTransition> HealthFsm::on_check(bool passed, std::string_view detail, int64_t now_ms) {
    if (!params_.active || active_checks_paused()) return std::nullopt;
    const BackendStatus before = status();
    std::string reason;
    if (check_up_) {
        if (passed) {
            confirmed_ = true;
            streak_ = 0;
            return std::nullopt;
        }
        ++streak_;
        if (!confirmed_) {
            reason = std::string(detail) + ", first check";
        } else if (streak_ >= params_.fall) {
            reason = std::string(detail) + ", " + std::to_string(streak_) + "/" + std::to_string(params_.fall);
        } else {
            return std::nullopt;
        }
        check_up_ = false;
        confirmed_ = true;
        streak_ = 0;
    } else {
        if (!passed) {
            streak_ = 0;
            return std::nullopt;
        }
        ++streak_;
        if (streak_ < params_.rise) return std::nullopt;
        reason = std::string(detail) + ", " + std::to_string(streak_) + "/" + std::to_string(params_.rise);
        check_up_ = true;
        streak_ = 0;
    }
    return settle(before, std::move(reason), now_ms);
}

std::optional<HealthTransition> HealthFsm::on_agent(const AgentReply& reply, std::string_view line, int64_t now_ms) {
    const BackendStatus before = status();
    const bool was_maint = before == BackendStatus::kMaint;
    if (reply.up) agent_down_ = !*reply.up;
    if (reply.admin) agent_admin_ = *reply.admin;
    if (reply.weight_percent) agent_percent_ = *reply.weight_percent;
    if (was_maint && status() != BackendStatus::kMaint && params_.active) restart_checks();
    return settle(before, "agent: " + std::string(trim(line)), now_ms);
}

std::optional<HealthTransition> HealthFsm::on_passive_trip(std::string_view detail, int64_t now_ms) {
    const BackendStatus before = status();
    if (params_.active) {
        check_up_ = false;
        confirmed_ = true;
        streak_ = 0;
    } else {
        passive_down_ = true;
    }
    return settle(before, std::string(detail), now_ms);
}

std::optional<HealthTransition> HealthFsm::on_passive_recovery(int64_t now_ms) {
    if (!passive_down_) return std::nullopt;
    const BackendStatus before = status();
    passive_down_ = false;
    return settle(before, "fail_timeout over", now_ms);
}

std::optional<HealthTransition> HealthFsm::on_admin(BackendAdminState state, int64_t now_ms) {
    if (state == admin_) return std::nullopt;
    const BackendStatus before = status();
    admin_ = state;
    if (before == BackendStatus::kMaint && status() != BackendStatus::kMaint && params_.active) restart_checks();
    std::string_view name = state == BackendAdminState::kReady   ? "ready"
                            : state == BackendAdminState::kDrain ? "drain"
                                                                 : "maint";
    return settle(before, "operator: " + std::string(name), now_ms);
}

bool HealthFsm::ramping(int64_t now_ms) const {
    return ramp_start_ms_ && now_ms - *ramp_start_ms_ < params_.slow_start_ms;
}

uint32_t HealthFsm::weight_permille(int64_t now_ms) const {
    const uint64_t full = uint64_t(agent_percent_) * 10;
    if (!ramping(now_ms)) return uint32_t(full);
    const int64_t elapsed = std::max<int64_t>(now_ms - *ramp_start_ms_, 0);
    const uint64_t ramped = full * uint64_t(elapsed) / uint64_t(params_.slow_start_ms);
    return uint32_t(std::max<uint64_t>(ramped, 1));
}

// ------------------------------------------------------------------ HTTP check

std::string build_http_check_request(const HealthCheckSpec& spec, const InetAddr& target) {
    const std::string host = spec.http_host.empty() ? target.to_string() : spec.http_host;
    return spec.http_method + " " + spec.http_path + " HTTP/1.1\r\nHost: " + host +
           "\r\nUser-Agent: ringlb-health-check\r\nAccept: */*\r\nConnection: close\r\n\r\n";
}

std::optional<HttpCheckVerdict> evaluate_http_check(std::string_view received, const HealthCheckSpec& spec,
                                                    bool complete) {
    const size_t eol = received.find('\n');
    if (eol == std::string_view::npos && !complete) return std::nullopt;
    if (eol == std::string_view::npos && received.empty())
        return HttpCheckVerdict{false, "closed before the status line"};
    std::string_view line = received.substr(0, eol);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    // "HTTP/1.1 200 OK": version, one space, three digits, then a space or the end.
    const bool shaped = line.size() >= 12 && line.starts_with("HTTP/") && line[8] == ' ' &&
                        std::all_of(line.begin() + 9, line.begin() + 12, [](char c) { return c >= '0' && c <= '9'; }) &&
                        (line.size() == 12 || line[12] == ' ');
    if (!shaped) {
        return HttpCheckVerdict{false, "bad status line '" + printable(line, 40) + "'"};
    }
    const int status = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
    const bool passed = status >= spec.expect_status_min && status <= spec.expect_status_max;
    return HttpCheckVerdict{passed, "HTTP " + std::to_string(status)};
}

}  // namespace ringlb
