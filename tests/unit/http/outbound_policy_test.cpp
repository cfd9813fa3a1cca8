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

TEST(OutboundPolicyTest, DefaultsDenyLinkLocalOnly) {
  OutboundPolicy policy = OutboundPolicy::defaults();
  EXPECT_FALSE(permits(policy, "169.254.169.254"));
  EXPECT_FALSE(permits(policy, "169.254.0.1"));
  EXPECT_FALSE(permits(policy, "::ffff:169.254.169.254"));  // IPv4-mapped is checked as IPv4
  EXPECT_FALSE(permits(policy, "fe80::1"));
  EXPECT_TRUE(permits(policy, "169.255.0.1"));
  EXPECT_TRUE(permits(policy, "127.0.0.1"));
  EXPECT_TRUE(permits(policy, "93.184.216.34"));
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
