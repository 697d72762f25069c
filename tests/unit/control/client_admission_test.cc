// Control-thread admission (core/control/client_admission.h): separate limits for
// control and metrics clients, the oldest idle metrics client dropped for a new one,
// root's ringlbctl let in beyond the limit.
#include <gtest/gtest.h>

#include <vector>

#include "core/control/client_admission.h"

namespace ringlb {
namespace {

using Verdict = Admission::Verdict;

constexpr AdmissionLimits kLimits{4, 2, 1};

std::vector<AdmittedClient> clients(size_t control, size_t metrics, bool idle = true) {
    std::vector<AdmittedClient> out;
    int key = 10;
    for (size_t i = 0; i < metrics; ++i) out.push_back({key++, true, false, idle, int64_t(100 + i)});
    for (size_t i = 0; i < control; ++i) out.push_back({key++, false, false, idle, int64_t(200 + i)});
    return out;
}

TEST(ClientAdmission, MetricsClientsAtTheirLimitDoNotKeepAControlClientOut) {
    const auto held = clients(0, kLimits.max_metrics);
    EXPECT_EQ(admit_client(kLimits, false, false, held).verdict, Verdict::kAdmit);
}

TEST(ClientAdmission, ANewMetricsClientAtTheLimitDropsTheOldestIdleOne) {
    auto held = clients(0, kLimits.max_metrics);
    held[0].accepted_ms = 500;  // now held[1] (accepted at 101) is the oldest
    const Admission a = admit_client(kLimits, true, false, held);
    EXPECT_EQ(a.verdict, Verdict::kAdmitAfterEvicting);
    EXPECT_EQ(a.evict, held[1].key);
}

TEST(ClientAdmission, MetricsClientsBeingAnsweredAreNotDroppedSoTheNewOneIsRefused) {
    const auto held = clients(0, kLimits.max_metrics, false);
    EXPECT_EQ(admit_client(kLimits, true, false, held).verdict, Verdict::kRefuse);
}

TEST(ClientAdmission, ControlClientsBeyondTheLimitAreRefusedUnlessRoot) {
    const auto held = clients(kLimits.max_control, 0);
    EXPECT_EQ(admit_client(kLimits, false, false, held).verdict, Verdict::kRefuse);
    EXPECT_EQ(admit_client(kLimits, false, true, held).verdict, Verdict::kAdmit);
}

TEST(ClientAdmission, RootBeyondItsReserveTakesTheSlotOfTheOldestIdleNonRootClient) {
    auto held = clients(kLimits.max_control + kLimits.root_reserve, 0);
    held[0].root = true;  // root's own clients are never dropped for root
    const Admission a = admit_client(kLimits, false, true, held);
    EXPECT_EQ(a.verdict, Verdict::kAdmitAfterEvicting);
    EXPECT_EQ(a.evict, held[1].key);
}

TEST(ClientAdmission, AMetricsClientIsNeverDroppedForAControlClient) {
    auto held = clients(kLimits.max_control + kLimits.root_reserve, kLimits.max_metrics, false);
    for (auto& c : held) c.idle = c.http;
    EXPECT_EQ(admit_client(kLimits, false, true, held).verdict, Verdict::kRefuse);
}

}  // namespace
}  // namespace ringlb
