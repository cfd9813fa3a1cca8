// Admission: the limits a new SIP request meets before anything is allocated for it, driven on a
// clock of the test's own.
#include "sip/admission.h"

#include <gtest/gtest.h>

namespace callflow::sip {
namespace {

using Clock = Admission::Clock;
using std::chrono::milliseconds;
using std::chrono::seconds;

Admission make(AdmissionLimits limits) {
  auto admission = Admission::make(std::move(limits));
  EXPECT_TRUE(admission) << admission.error().message;
  return std::move(*admission);
}

TEST(AdmissionTest, MaxCallsAndDrainingAnswer503WithTheirOwnRetryAfter) {
  AdmissionLimits limits;
  limits.max_calls = 2;
  Admission admission = make(limits);
  Clock::time_point now{seconds(100)};
  EXPECT_EQ(admission.invite(1, false, now), Verdict::kAdmit);
  EXPECT_EQ(admission.invite(2, false, now), Verdict::kBusyCalls);
  EXPECT_EQ(admission.invite(0, true, now), Verdict::kBusyDraining);
  EXPECT_EQ(admission.counters().rejected_calls.load(), 1u);
  EXPECT_EQ(admission.counters().rejected_draining.load(), 1u);
  EXPECT_GT(admission.retryAfter(Verdict::kBusyCalls), 0);
  EXPECT_GT(admission.retryAfter(Verdict::kBusyDraining), 0);
}

TEST(AdmissionTest, MaxCpsIsATokenBucketOfOneSecond) {
  AdmissionLimits limits;
  limits.max_cps = 10;
  Admission admission = make(limits);
  Clock::time_point now{seconds(100)};
  int admitted = 0;
  for (int i = 0; i < 50; ++i) admitted += admission.invite(0, false, now) == Verdict::kAdmit;
  EXPECT_EQ(admitted, 10);  // the burst: one second's worth
  EXPECT_EQ(admission.counters().rejected_rate.load(), 40u);
  now += milliseconds(500);  // half a second later, five more
  admitted = 0;
  for (int i = 0; i < 50; ++i) admitted += admission.invite(0, false, now) == Verdict::kAdmit;
  EXPECT_EQ(admitted, 5);
  // Over ten seconds at 20 attempts a second, about ten a second get in.
  admitted = 0;
  for (int step = 0; step < 200; ++step) {
    now += milliseconds(50);
    admitted += admission.invite(0, false, now) == Verdict::kAdmit;
  }
  EXPECT_GE(admitted, 99);
  EXPECT_LE(admitted, 101);
}

TEST(AdmissionTest, ARateBelowOnePerSecondStillAdmitsOne) {
  AdmissionLimits limits;
  limits.max_cps = 0.5;
  Admission admission = make(limits);
  Clock::time_point now{seconds(100)};
  EXPECT_EQ(admission.invite(0, false, now), Verdict::kAdmit);
  EXPECT_EQ(admission.invite(0, false, now), Verdict::kBusyRate);
  EXPECT_EQ(admission.invite(0, false, now + seconds(2)), Verdict::kAdmit);
}

TEST(AdmissionTest, ASourcePastItsLimitIsBannedThenForgiven) {
  AdmissionLimits limits;
  ASSERT_TRUE(limits.setPerSource("16/2"));
  limits.ban_s = 60;
  Admission admission = make(limits);
  Clock::time_point now{seconds(100)};
  for (int i = 0; i < 16; ++i) {
    EXPECT_EQ(admission.request("127.0.0.3", now), Verdict::kAdmit) << i;
  }
  EXPECT_EQ(admission.request("127.0.0.3", now), Verdict::kDrop);   // the 17th: banned
  EXPECT_EQ(admission.request("127.0.0.2", now), Verdict::kAdmit);  // another source is not
  EXPECT_EQ(admission.request("127.0.0.3", now + seconds(59)), Verdict::kDrop);
  EXPECT_EQ(admission.counters().bans.load(), 1u);
  EXPECT_EQ(admission.counters().dropped_banned.load(), 2u);
  EXPECT_EQ(admission.request("127.0.0.3", now + seconds(61)), Verdict::kAdmit);
  // A source that keeps under its limit window by window is never banned.
  for (int window = 0; window < 10; ++window) {
    for (int i = 0; i < 16; ++i) {
      EXPECT_EQ(admission.request("127.0.0.4", now + seconds(2 * window)), Verdict::kAdmit);
    }
  }
}

TEST(AdmissionTest, TrustedSourcesAreNeverLimitedPerSource) {
  AdmissionLimits limits;
  ASSERT_TRUE(limits.setPerSource("2/1"));
  limits.trusted = {"10.0.0.0/8", "::1"};
  Admission admission = make(limits);
  Clock::time_point now{seconds(5)};
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(admission.request("10.20.30.40", now), Verdict::kAdmit);
    EXPECT_EQ(admission.request("::1", now), Verdict::kAdmit);
  }
  EXPECT_EQ(admission.request("11.0.0.1", now), Verdict::kAdmit);
  EXPECT_EQ(admission.request("11.0.0.1", now), Verdict::kAdmit);
  EXPECT_EQ(admission.request("11.0.0.1", now), Verdict::kDrop);
}

TEST(AdmissionTest, IdleSourcesAreForgotten) {
  AdmissionLimits limits;
  ASSERT_TRUE(limits.setPerSource("5/1"));
  limits.ban_s = 3;
  Admission admission = make(limits);
  Clock::time_point now{seconds(5)};
  for (int i = 0; i < 1000; ++i) admission.request("192.0.2." + std::to_string(i % 250), now);
  EXPECT_EQ(admission.trackedSources(), 250u);
  admission.request("198.51.100.1", now + seconds(10));
  EXPECT_EQ(admission.trackedSources(), 1u);
}

TEST(AdmissionTest, BadLimitsAreRefusedWithTheirText) {
  AdmissionLimits limits;
  for (const char* text : {"16", "16/", "/2", "0/2", "16/0", "x/2", "16/2s", "1.5/2"}) {
    auto set = limits.setPerSource(text);
    ASSERT_FALSE(set) << text;
    EXPECT_NE(set.error().message.find(text), std::string::npos);
  }
  EXPECT_TRUE(limits.setPerSource("0"));
  EXPECT_EQ(limits.source_requests, 0);
  limits.trusted = {"not-an-address"};
  auto made = Admission::make(limits);
  ASSERT_FALSE(made);
  EXPECT_NE(made.error().message.find("not-an-address"), std::string::npos);
  AdmissionLimits zero;
  zero.max_calls = 0;
  EXPECT_FALSE(Admission::make(zero));
}

}  // namespace
}  // namespace callflow::sip
