#include "http/outbound_policy.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

namespace callflow {
namespace {

bool permits(const OutboundPolicy& policy, const char* address) {
  std::uint8_t bytes[16] = {};
  if (inet_pton(AF_INET, address, bytes) == 1) return policy.permits(false, bytes);
  EXPECT_EQ(inet_pton(AF_INET6, address, bytes), 1) << address;
  return policy.permits(true, bytes);
}

TEST(OutboundPolicyTest, DefaultsDenyEveryAddressThatIsNotPublic) {
  OutboundPolicy policy = OutboundPolicy::defaults();
  for (const char* address : {"169.254.169.254",
                              "169.254.0.1",
                              "::ffff:169.254.169.254",
                              "fe80::1",
                              "127.0.0.1",
                              "127.255.255.254",
                              "0.0.0.0",
                              "10.1.2.3",
                              "172.16.0.1",
                              "172.31.255.255",
                              "192.168.1.1",
                              "100.64.0.1",
                              "224.0.0.1",
                              "255.255.255.255",
                              "::",
                              "::1",
                              "::ffff:127.0.0.1",
                              "::ffff:10.0.0.1",
                              "64:ff9b::7f00:1",
                              "fc00::1",
                              "fd12:3456::1",
                              "ff02::1",
                              "::127.0.0.1"}) {
    EXPECT_FALSE(permits(policy, address)) << address;
  }
  for (const char* address : {"93.184.216.34", "8.8.8.8", "172.32.0.1", "169.255.0.1",
                              "2606:2800:220:1::1", "::ffff:93.184.216.34", "64:ff9b::808:808"}) {
    EXPECT_TRUE(permits(policy, address)) << address;
  }
}

TEST(OutboundPolicyTest, AnAddressWithAPortAllowsThatPortOnly) {
  OutboundPolicy policy = OutboundPolicy::defaults();
  ASSERT_TRUE(policy.add("127.0.0.1:18080", true));
  ASSERT_TRUE(policy.add("[::1]:18081", true));
  std::uint8_t v4[4] = {127, 0, 0, 1};
  EXPECT_TRUE(policy.permits(false, v4, 18080));
  EXPECT_FALSE(policy.permits(false, v4, 8080));  // the admin API's port on the same address
  EXPECT_FALSE(policy.permits(false, v4, 0));
  std::uint8_t v6[16] = {};
  v6[15] = 1;
  EXPECT_TRUE(policy.permits(true, v6, 18081));
  EXPECT_FALSE(policy.permits(true, v6, 18080));
  // An allowed address is not a host rule: the URL's host is not enough.
  EXPECT_EQ(policy.checkHost("127.0.0.1", 18080), OutboundPolicy::Verdict::kCheckAddress);
  EXPECT_FALSE(policy.add("10.0.0.0/8:80", true));
}

TEST(OutboundPolicyTest, ConfiguredTakesFlagsAndTheEnvironment) {
  auto policy =
      OutboundPolicy::configured({"10.1.2.3"}, {"93.184.216.34"}, " 127.0.0.1:9000 , ,crm.local");
  ASSERT_TRUE(policy) << policy.error().message;
  EXPECT_TRUE(permits(*policy, "10.1.2.3"));
  EXPECT_FALSE(permits(*policy, "93.184.216.34"));
  std::uint8_t v4[4] = {127, 0, 0, 1};
  EXPECT_TRUE(policy->permits(false, v4, 9000));
  EXPECT_EQ(policy->checkHost("crm.local", 443), OutboundPolicy::Verdict::kAllow);
  auto bad = OutboundPolicy::configured({}, {}, "good.example,bad host");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("CALLFLOW_ALLOW"), std::string::npos);
  EXPECT_NE(bad.error().message.find("\"bad host\""), std::string::npos);
  auto bad_flag = OutboundPolicy::configured({"x y"}, {}, "");
  ASSERT_FALSE(bad_flag);
  EXPECT_EQ(bad_flag.error().message.rfind("--allow", 0), 0u);
}

TEST(OutboundPolicyTest, AllowWinsOverDeny) {
  OutboundPolicy policy = OutboundPolicy::defaults();
  ASSERT_TRUE(policy.add("10.0.0.0/8", false));
  ASSERT_TRUE(policy.add("10.1.2.3", true));
  EXPECT_FALSE(permits(policy, "10.9.9.9"));
  EXPECT_TRUE(permits(policy, "10.1.2.3"));
  EXPECT_FALSE(permits(policy, "10.1.2.4"));
}

TEST(OutboundPolicyTest, CidrPrefixesThatAreNotWholeBytes) {
  OutboundPolicy policy;
  ASSERT_TRUE(policy.add("172.16.0.0/12", false));
  EXPECT_FALSE(permits(policy, "172.16.0.1"));
  EXPECT_FALSE(permits(policy, "172.31.255.255"));
  EXPECT_TRUE(permits(policy, "172.32.0.1"));
  EXPECT_TRUE(permits(policy, "172.15.255.255"));
}

TEST(OutboundPolicyTest, HostRules) {
  OutboundPolicy policy;
  ASSERT_TRUE(policy.add("CRM.example.com", true));
  ASSERT_TRUE(policy.add("*.internal.example", false));
  ASSERT_TRUE(policy.add("localhost:8080", true));
  using V = OutboundPolicy::Verdict;
  EXPECT_EQ(policy.checkHost("crm.example.com", 443), V::kAllow);
  EXPECT_EQ(policy.checkHost("crm.example.com.", 80), V::kAllow);
  EXPECT_EQ(policy.checkHost("a.crm.example.com", 443), V::kCheckAddress);
  EXPECT_EQ(policy.checkHost("db.internal.example", 5432), V::kDeny);
  EXPECT_EQ(policy.checkHost("internal.example", 80), V::kCheckAddress);
  EXPECT_EQ(policy.checkHost("evilinternal.example", 80), V::kCheckAddress);
  EXPECT_EQ(policy.checkHost("localhost", 8080), V::kAllow);
  EXPECT_EQ(policy.checkHost("localhost", 8081), V::kCheckAddress);
}

TEST(OutboundPolicyTest, BadRulesAreRefusedWithTheirText) {
  OutboundPolicy policy;
  for (const char* rule :
       {"10.0.0.0/33", "host:0", "host:70000", "bad host", "a/b", "", ":80", "::1/129", "x:y"}) {
    auto added = policy.add(rule, true);
    EXPECT_FALSE(added) << rule;
  }
  auto added = policy.add("bad host", true);
  ASSERT_FALSE(added);
  EXPECT_NE(added.error().message.find("\"bad host\""), std::string::npos);
}

}  // namespace
}  // namespace callflow
