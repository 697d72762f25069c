// Health decisions, pure: rise/fall, passive windows, agent words, slow start,
// the HTTP check's request and status line. Time is a plain number of ms.
#include <gtest/gtest.h>

#include "core/health/health_fsm.h"

namespace ringlb {
namespace {

HealthParams active(int rise = 2, int fall = 3, int64_t slow_start_ms = 0) {
    return HealthParams{true, rise, fall, slow_start_ms};
}

// Runs `n` checks with the same result; returns the last transition seen.
std::optional<HealthTransition> checks(HealthFsm& fsm, int n, bool passed, std::string_view detail, int64_t& now) {
    std::optional<HealthTransition> last;
    for (int i = 0; i < n; ++i) {
        now += 1000;
        if (auto t = fsm.on_check(passed, detail, now)) last = t;
    }
    return last;
}

AgentReply agent(std::string_view line) {
    Result<AgentReply> reply = parse_agent_reply(line);
    EXPECT_TRUE(reply) << line << ": " << (reply ? "" : reply.error());
    return reply ? *reply : AgentReply{};
}

// ------------------------------------------------------------------ rise and fall

TEST(HealthFsm, StartsUpAndTheFirstFailedCheckMarksItDownAtOnce) {
    HealthFsm fsm(active());
    EXPECT_EQ(fsm.status(), BackendStatus::kUp);
    EXPECT_TRUE(fsm.takes_connections());
    auto t = fsm.on_check(false, "connect refused", 1000);
    ASSERT_TRUE(t);
    EXPECT_EQ(t->from, BackendStatus::kUp);
    EXPECT_EQ(t->to, BackendStatus::kDown);
    EXPECT_EQ(t->reason, "connect refused, first check");
}

TEST(HealthFsm, OnceAPassedCheckConfirmedItTakesFallFailuresInARowToGoDown) {
    HealthFsm fsm(active(2, 3));
    int64_t now = 0;
    EXPECT_FALSE(checks(fsm, 1, true, "connect ok", now));
    EXPECT_FALSE(checks(fsm, 2, false, "connect refused", now));
    EXPECT_EQ(fsm.status(), BackendStatus::kUp);
    auto t = checks(fsm, 1, false, "connect refused", now);
    ASSERT_TRUE(t);
    EXPECT_EQ(t->to, BackendStatus::kDown);
    EXPECT_EQ(t->reason, "connect refused, 3/3");
}

TEST(HealthFsm, APassedCheckResetsTheFailureStreak) {
    HealthFsm fsm(active(2, 3));
    int64_t now = 0;
    checks(fsm, 1, true, "connect ok", now);
    for (int round = 0; round < 5; ++round) {
        EXPECT_FALSE(checks(fsm, 2, false, "timeout", now));
        EXPECT_FALSE(checks(fsm, 1, true, "connect ok", now));
    }
    EXPECT_EQ(fsm.status(), BackendStatus::kUp);
}

TEST(HealthFsm, ComesBackAfterRisePassedChecksInARow) {
    HealthFsm fsm(active(3, 1));
    int64_t now = 0;
    checks(fsm, 1, false, "HTTP 500", now);
    ASSERT_EQ(fsm.status(), BackendStatus::kDown);
    EXPECT_FALSE(checks(fsm, 2, true, "HTTP 200", now));
    EXPECT_FALSE(checks(fsm, 1, false, "HTTP 500", now));  // streak broken
    EXPECT_FALSE(checks(fsm, 2, true, "HTTP 200", now));
    auto t = checks(fsm, 1, true, "HTTP 200", now);
    ASSERT_TRUE(t);
    EXPECT_EQ(t->from, BackendStatus::kDown);
    EXPECT_EQ(t->to, BackendStatus::kUp);
    EXPECT_EQ(t->reason, "HTTP 200, 3/3");
}

TEST(HealthFsm, WithoutActiveChecksCheckResultsAreIgnored) {
    HealthFsm fsm(HealthParams{});
    int64_t now = 0;
    EXPECT_FALSE(checks(fsm, 10, false, "connect refused", now));
    EXPECT_EQ(fsm.status(), BackendStatus::kUp);
}

// ------------------------------------------------------------------ passive trips

TEST(HealthFsm, APassiveTripWithActiveChecksNeedsRisePassedChecksToComeBack) {
    HealthFsm fsm(active(2, 3));
    int64_t now = 0;
    checks(fsm, 1, true, "connect ok", now);
    auto t = fsm.on_passive_trip("1/1 connect failures within 10s (Connection refused)", now);
    ASSERT_TRUE(t);
    EXPECT_EQ(t->to, BackendStatus::kDown);
    EXPECT_EQ(t->reason, "1/1 connect failures within 10s (Connection refused)");
    EXPECT_FALSE(fsm.on_passive_recovery(now + 60000));  // only checks bring it back
    EXPECT_FALSE(checks(fsm, 1, true, "connect ok", now));
    auto back = checks(fsm, 1, true, "connect ok", now);
    ASSERT_TRUE(back);
    EXPECT_EQ(back->to, BackendStatus::kUp);
}

TEST(HealthFsm, APassiveTripWithoutChecksLastsUntilRecovery) {
    HealthFsm fsm(HealthParams{});
    ASSERT_TRUE(fsm.on_passive_trip("trip", 1000));
    EXPECT_EQ(fsm.status(), BackendStatus::kDown);
    EXPECT_TRUE(fsm.passive_down());
    auto t = fsm.on_passive_recovery(11000);
    ASSERT_TRUE(t);
    EXPECT_EQ(t->to, BackendStatus::kUp);
    EXPECT_EQ(t->reason, "fail_timeout over");
    EXPECT_FALSE(fsm.on_passive_recovery(12000));
}

// ------------------------------------------------------------------ agent and admin

TEST(HealthFsm, AgentDrainStopsNewConnectionsAndReadyRestoresThem) {
    HealthFsm fsm(active());
    auto t = fsm.on_agent(agent("drain"), "drain\n", 0);
    ASSERT_TRUE(t);
    EXPECT_EQ(t->to, BackendStatus::kDrain);
    EXPECT_EQ(t->reason, "agent: drain");
    EXPECT_FALSE(fsm.takes_connections());
    auto back = fsm.on_agent(agent("ready"), "ready", 10);
    ASSERT_TRUE(back);
    EXPECT_EQ(back->to, BackendStatus::kUp);
}

TEST(HealthFsm, AgentStateIsStickyAReplyChangesOnlyWhatItNames) {
    HealthFsm fsm(active());
    fsm.on_agent(agent("drain 50%"), "drain 50%", 0);
    EXPECT_FALSE(fsm.on_agent(agent("75%"), "75%", 1));  // still draining
    EXPECT_EQ(fsm.status(), BackendStatus::kDrain);
    EXPECT_EQ(fsm.agent_percent(), 75u);
    fsm.on_agent(agent("ready"), "ready", 2);
    EXPECT_EQ(fsm.status(), BackendStatus::kUp);
    EXPECT_EQ(fsm.weight_permille(2), 750u);
}

TEST(HealthFsm, AgentDownHoldsEvenWhileChecksPassAndAgentUpNeedsPassingChecks) {
    HealthFsm fsm(active(1, 1));
    int64_t now = 0;
    fsm.on_agent(agent("down#disk full"), "down#disk full", now);
    EXPECT_EQ(fsm.status(), BackendStatus::kDown);
    EXPECT_FALSE(checks(fsm, 3, true, "connect ok", now));
    EXPECT_EQ(fsm.status(), BackendStatus::kDown);
    checks(fsm, 1, false, "connect refused", now);
    EXPECT_FALSE(fsm.on_agent(agent("up"), "up", now));  // checks still say down
    auto t = checks(fsm, 1, true, "connect ok", now);
    ASSERT_TRUE(t);
    EXPECT_EQ(t->to, BackendStatus::kUp);
}

TEST(HealthFsm, AgentZeroPercentDrains) {
    HealthFsm fsm(HealthParams{});
    auto t = fsm.on_agent(agent("0%"), "0%", 0);
    ASSERT_TRUE(t);
    EXPECT_EQ(t->to, BackendStatus::kDrain);
}

TEST(HealthFsm, AgentMaintPausesActiveChecksButTheAgentIsStillAsked) {
    HealthFsm fsm(active(2, 1));
    int64_t now = 0;
    auto t = fsm.on_agent(agent("maint"), "maint", now);
    ASSERT_TRUE(t);
    EXPECT_EQ(t->to, BackendStatus::kMaint);
    EXPECT_TRUE(fsm.active_checks_paused());
    EXPECT_FALSE(fsm.agent_paused());
    EXPECT_FALSE(checks(fsm, 5, false, "connect refused", now));  // ignored in maintenance
    auto back = fsm.on_agent(agent("ready"), "ready", now);
    ASSERT_TRUE(back);
    EXPECT_EQ(back->to, BackendStatus::kUp);
}

TEST(HealthFsm, OperatorMaintPausesEverythingAndLeavingItRestartsChecksFresh) {
    HealthFsm fsm(active(2, 3));
    int64_t now = 0;
    checks(fsm, 1, false, "connect refused", now);
    ASSERT_EQ(fsm.status(), BackendStatus::kDown);
    auto t = fsm.on_admin(BackendAdminState::kMaint, now);
    ASSERT_TRUE(t);
    EXPECT_EQ(t->to, BackendStatus::kMaint);
    EXPECT_EQ(t->reason, "operator: maint");
    EXPECT_TRUE(fsm.active_checks_paused());
    EXPECT_TRUE(fsm.agent_paused());
    // Leaving maintenance: up at once, like a fresh start; the first failure downs it.
    auto back = fsm.on_admin(BackendAdminState::kReady, now);
    ASSERT_TRUE(back);
    EXPECT_EQ(back->to, BackendStatus::kUp);
    auto down = checks(fsm, 1, false, "connect refused", now);
    ASSERT_TRUE(down);
    EXPECT_EQ(down->reason, "connect refused, first check");
}

TEST(HealthFsm, StatusPrecedenceIsMaintThenDownThenDrainThenUp) {
    HealthFsm fsm(active(1, 1));
    int64_t now = 0;
    fsm.on_admin(BackendAdminState::kDrain, now);
    EXPECT_EQ(fsm.status(), BackendStatus::kDrain);
    checks(fsm, 1, false, "connect refused", now);
    EXPECT_EQ(fsm.status(), BackendStatus::kDown);
    fsm.on_agent(agent("maint"), "maint", now);
    EXPECT_EQ(fsm.status(), BackendStatus::kMaint);
}

// ------------------------------------------------------------------ weights

TEST(HealthFsm, AgentPercentScalesTheWeight) {
    HealthFsm fsm(HealthParams{});
    EXPECT_EQ(fsm.weight_permille(0), 1000u);
    fsm.on_agent(agent("up 50%"), "up 50%", 0);
    EXPECT_EQ(fsm.weight_permille(0), 500u);
    fsm.on_agent(agent("200%"), "200%", 0);
    EXPECT_EQ(fsm.weight_permille(0), 2000u);
}

TEST(HealthFsm, SlowStartRampsTheWeightLinearlyAfterComingBack) {
    HealthFsm fsm(active(1, 1, 10000));
    int64_t now = 0;
    checks(fsm, 1, false, "connect refused", now);  // now = 1000
    auto up = checks(fsm, 1, true, "connect ok", now);  // now = 2000: ramp starts
    ASSERT_TRUE(up);
    EXPECT_TRUE(fsm.ramping(2000));
    EXPECT_EQ(fsm.weight_permille(2000), 1u);  // never 0: it is up
    EXPECT_EQ(fsm.weight_permille(2000 + 2500), 250u);
    EXPECT_EQ(fsm.weight_permille(2000 + 5000), 500u);
    EXPECT_EQ(fsm.weight_permille(2000 + 9999), 999u);
    EXPECT_FALSE(fsm.ramping(12000));
    EXPECT_EQ(fsm.weight_permille(12000), 1000u);
}

TEST(HealthFsm, SlowStartDoesNotApplyAtStart) {
    HealthFsm fsm(active(1, 1, 10000));
    EXPECT_FALSE(fsm.ramping(0));
    EXPECT_EQ(fsm.weight_permille(0), 1000u);
}

TEST(HealthFsm, SlowStartScalesTheAgentPercentage) {
    HealthFsm fsm(HealthParams{false, 2, 3, 4000});
    fsm.on_agent(agent("50%"), "50%", 0);
    fsm.on_agent(agent("drain"), "drain", 0);
    fsm.on_agent(agent("ready"), "ready", 1000);  // back: ramp from 1000
    EXPECT_EQ(fsm.weight_permille(3000), 250u);   // half way to 500
    EXPECT_EQ(fsm.weight_permille(5000), 500u);
}

TEST(HealthFsm, GoingDownDuringTheRampEndsItAndTheNextReturnRampsAgain) {
    HealthFsm fsm(active(1, 1, 10000));
    int64_t now = 0;
    checks(fsm, 1, false, "x", now);
    checks(fsm, 1, true, "ok", now);  // up at 2000
    checks(fsm, 1, false, "x", now);  // down at 3000
    EXPECT_FALSE(fsm.ramping(3000));
    checks(fsm, 1, true, "ok", now);  // up at 4000
    EXPECT_EQ(fsm.weight_permille(4000 + 1000), 100u);
}

TEST(HealthFsm, SwitchingChecksOnByReloadKeepsAPassiveDownBackendDownUntilRisePasses) {
    HealthFsm fsm(HealthParams{});
    fsm.on_passive_trip("trip", 0);
    EXPECT_FALSE(fsm.set_params(active(2, 3), 10));
    EXPECT_EQ(fsm.status(), BackendStatus::kDown);
    EXPECT_FALSE(fsm.passive_down());
    int64_t now = 10;
    EXPECT_TRUE(checks(fsm, 2, true, "connect ok", now));
    EXPECT_EQ(fsm.status(), BackendStatus::kUp);
}

TEST(HealthFsm, SwitchingChecksOffByReloadBringsACheckedDownBackendUp) {
    HealthFsm fsm(active());
    fsm.on_check(false, "connect refused", 0);
    auto t = fsm.set_params(HealthParams{}, 10);
    ASSERT_TRUE(t);
    EXPECT_EQ(t->to, BackendStatus::kUp);
    EXPECT_EQ(t->reason, "health checks switched off");
}

// ------------------------------------------------------------------ agent words

TEST(AgentReply, ParsesHaproxyWordsAndCombinations) {
    EXPECT_EQ(agent("up").up, true);
    EXPECT_EQ(agent("DOWN").up, false);
    EXPECT_EQ(agent("fail").up, false);
    EXPECT_EQ(agent("stopped").up, false);
    EXPECT_EQ(agent("ready").admin, BackendAdminState::kReady);
    EXPECT_EQ(agent("drain").admin, BackendAdminState::kDrain);
    EXPECT_EQ(agent("maint").admin, BackendAdminState::kMaint);
    EXPECT_EQ(agent("75%").weight_percent, 75u);

    AgentReply both = agent("up 50%\r\n");
    EXPECT_EQ(both.up, true);
    EXPECT_EQ(both.weight_percent, 50u);

    AgentReply haproxy = agent("75%,maxconn:30,maint,down\n");
    EXPECT_EQ(haproxy.weight_percent, 75u);
    EXPECT_EQ(haproxy.admin, BackendAdminState::kMaint);
    EXPECT_EQ(haproxy.up, false);
    EXPECT_EQ(haproxy.ignored, std::vector<std::string>{"maxconn:30"});
}

TEST(AgentReply, TakesTheDescriptionAfterASharpAndOnlyTheFirstLine) {
    AgentReply reply = agent("down#disk full \nup\n");
    EXPECT_EQ(reply.up, false);
    EXPECT_EQ(reply.description, "disk full");
}

// The reason an agent reply is refused, or "" when it is accepted.
std::string refusal(std::string_view line) {
    Result<AgentReply> reply = parse_agent_reply(line);
    return reply ? "" : reply.error();
}

TEST(AgentReply, RejectsRepliesWithNoStateOrWeight) {
    EXPECT_EQ(refusal(""), "empty reply");
    EXPECT_EQ(refusal("hello world\n"), "no state or weight in 'hello world'");
    EXPECT_EQ(refusal("x%"), "bad weight 'x%' (expected 0% to 25600%)");
    EXPECT_EQ(refusal("25601%"), "bad weight '25601%' (expected 0% to 25600%)");
    EXPECT_EQ(refusal("#just a comment"), "no state or weight in ''");
    EXPECT_EQ(refusal("up 25600%"), "");
}

// ------------------------------------------------------------------ passive windows

PassiveStep fail(PassiveWindow& w, int64_t now, const PassiveParams& p) {
    PassiveStep s = passive_on_connect(w, false, now, p);
    w = s.next;
    return s;
}

PassiveStep succeed(PassiveWindow& w, int64_t now, const PassiveParams& p) {
    PassiveStep s = passive_on_connect(w, true, now, p);
    w = s.next;
    return s;
}

TEST(PassiveWindow, PacksIntoOneWordAndBack) {
    PassiveWindow w{123456789012, 42, true};
    EXPECT_EQ(PassiveWindow::unpack(w.pack()), w);
    EXPECT_EQ(PassiveWindow{}.pack(), 0u);
}

TEST(PassiveWindow, MaxFailsWithinFailTimeoutTripsExactlyOnce) {
    PassiveParams p{3, 10000};
    PassiveWindow w;
    EXPECT_FALSE(fail(w, 1000, p).tripped);
    EXPECT_FALSE(fail(w, 5000, p).tripped);
    EXPECT_TRUE(fail(w, 10999, p).tripped);
    EXPECT_FALSE(fail(w, 11000, p).tripped);  // a straggler after the trip
}

TEST(PassiveWindow, FailuresSpreadWiderThanFailTimeoutDoNotTrip) {
    PassiveParams p{2, 10000};
    PassiveWindow w;
    for (int64_t t = 0; t < 100000; t += 10000) EXPECT_FALSE(fail(w, t, p).tripped) << t;
}

TEST(PassiveWindow, SuccessesInBetweenDoNotResetTheCountAsInNginx) {
    PassiveParams p{2, 10000};
    PassiveWindow w;
    fail(w, 0, p);
    succeed(w, 100, p);
    EXPECT_TRUE(fail(w, 200, p).tripped);
}

TEST(PassiveWindow, ASuccessAfterFailTimeoutClearsTheWindow) {
    PassiveParams p{2, 10000};
    PassiveWindow w;
    fail(w, 0, p);
    succeed(w, 10000, p);
    EXPECT_EQ(w, PassiveWindow{});
    // A success with nothing recorded changes nothing (the workers' fast path).
    EXPECT_EQ(succeed(w, 20000, p).next, PassiveWindow{});
}

TEST(PassiveWindow, ProbationTripsOnOneFailureAndClearsOnOneSuccess) {
    PassiveParams p{3, 10000};
    PassiveWindow w = passive_probation(50000, p);
    EXPECT_TRUE(fail(w, 50001, p).tripped);
    w = passive_probation(70000, p);
    succeed(w, 70001, p);
    EXPECT_EQ(w, PassiveWindow{});
    EXPECT_FALSE(fail(w, 70002, p).tripped);
}

TEST(PassiveWindow, OneMaxFailTripsOnTheFirstFailure) {
    PassiveParams p{1, 10000};
    PassiveWindow w;
    EXPECT_TRUE(fail(w, 5, p).tripped);
}

TEST(PassiveWindow, ZeroMaxFailsNeverTrips) {
    PassiveParams p{0, 10000};
    PassiveWindow w;
    for (int i = 0; i < 100; ++i) EXPECT_FALSE(fail(w, i, p).tripped);
    EXPECT_EQ(w, PassiveWindow{});
}

// ------------------------------------------------------------------ HTTP check

HealthCheckSpec http_spec(int min = 200, int max = 200, std::string host = "") {
    HealthCheckSpec spec;
    spec.kind = HealthCheckKind::kHttp;
    spec.http_method = "HEAD";
    spec.http_path = "/health";
    spec.expect_status_min = min;
    spec.expect_status_max = max;
    spec.http_host = std::move(host);
    return spec;
}

TEST(HttpCheck, RequestNamesMethodPathAndHostAndAsksToClose) {
    InetAddr target = *InetAddr::parse("10.0.1.11:8081");
    EXPECT_EQ(build_http_check_request(http_spec(), target),
              "HEAD /health HTTP/1.1\r\nHost: 10.0.1.11:8081\r\nUser-Agent: ringlb-health-check\r\n"
              "Accept: */*\r\nConnection: close\r\n\r\n");
    EXPECT_TRUE(build_http_check_request(http_spec(200, 200, "www.example.com"), target)
                    .starts_with("HEAD /health HTTP/1.1\r\nHost: www.example.com\r\n"));
}

TEST(HttpCheck, StatusInRangePassesAndOutsideFails) {
    auto ok = evaluate_http_check("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n", http_spec(), false);
    ASSERT_TRUE(ok);
    EXPECT_TRUE(ok->passed);
    EXPECT_EQ(ok->detail, "HTTP 200");
    auto bad = evaluate_http_check("HTTP/1.1 500 Internal Server Error\r\n", http_spec(), false);
    ASSERT_TRUE(bad);
    EXPECT_FALSE(bad->passed);
    EXPECT_EQ(bad->detail, "HTTP 500");
    auto ranged = evaluate_http_check("HTTP/1.0 302\n", http_spec(200, 399), false);
    ASSERT_TRUE(ranged);
    EXPECT_TRUE(ranged->passed);
}

TEST(HttpCheck, WaitsForTheWholeStatusLine) {
    EXPECT_FALSE(evaluate_http_check("HTTP/1.1 20", http_spec(), false));
    auto cut = evaluate_http_check("HTTP/1.1 20", http_spec(), true);
    ASSERT_TRUE(cut);
    EXPECT_FALSE(cut->passed);
    auto none = evaluate_http_check("", http_spec(), true);
    ASSERT_TRUE(none);
    EXPECT_EQ(none->detail, "closed before the status line");
}

TEST(HttpCheck, SomethingThatIsNotHttpFails) {
    auto v = evaluate_http_check("SSH-2.0-OpenSSH_9.2\r\n", http_spec(), false);
    ASSERT_TRUE(v);
    EXPECT_FALSE(v->passed);
    EXPECT_EQ(v->detail, "bad status line 'SSH-2.0-OpenSSH_9.2'");
    auto nine = evaluate_http_check("HTTP/1.1 2000 OK\r\n", http_spec(), false);
    ASSERT_TRUE(nine);
    EXPECT_FALSE(nine->passed);
}

}  // namespace
}  // namespace ringlb
