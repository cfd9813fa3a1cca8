// MemoryLeadStore: leads and the do-not-call list in memory (store/memory_lead_store.h).
#include "store/memory_lead_store.h"

#include <gtest/gtest.h>

#include <string>

#include "unit/support/run_awaitable.h"

namespace callflow {
namespace {

using test_support::runAwaitable;

Lead leadWith(std::string phone, std::string reference = {}, std::string name = {}) {
  Lead lead;
  lead.field(LeadField::kPhoneNum) = std::move(phone);
  lead.field(LeadField::kReferenceId) = std::move(reference);
  lead.field(LeadField::kName) = std::move(name);
  return lead;
}

TEST(PhoneDigitsTest, KeepsDigitsOnly) {
  EXPECT_EQ(phoneDigits("+44 (20) 7946-0000"), "442079460000");
  EXPECT_EQ(phoneDigits("555.0100 ext. 7"), "55501007");
  EXPECT_EQ(phoneDigits("abc"), "");
  EXPECT_EQ(phoneDigits(""), "");
  EXPECT_EQ(phoneDigits("\xD9\xA1\xD9\xA2"), "");  // Arabic-Indic digits are not 0-9
}

TEST(MemoryLeadStoreTest, FindByPhoneIgnoresPunctuation) {
  MemoryLeadStore store;
  store.add(leadWith("+44 (20) 7946-0000", "R1", "Ann"));
  store.add(leadWith("555-0100", "R2", "Bob"));
  for (const char* asked : {"442079460000", "+442079460000", "44-20-7946-0000", "(44)2079460000"}) {
    auto found = runAwaitable(store.findByPhone(asked));
    ASSERT_TRUE(found.has_value()) << asked;
    ASSERT_TRUE(found->has_value()) << asked;
    EXPECT_EQ((*found)->field(LeadField::kName), "Ann") << asked;
  }
  auto bob = runAwaitable(store.findByPhone("5550100"));
  ASSERT_TRUE(bob.has_value() && bob->has_value());
  EXPECT_EQ((*bob)->field(LeadField::kName), "Bob");
}

TEST(MemoryLeadStoreTest, FindByPhoneNeedsAllTheDigits) {
  MemoryLeadStore store;
  store.add(leadWith("+1 555 0100", "R1"));
  store.add(leadWith("", "R2"));  // a lead without a number never matches
  for (const char* asked : {"5550100", "155501000", "15550101", "", "---", "abc"}) {
    auto found = runAwaitable(store.findByPhone(asked));
    ASSERT_TRUE(found.has_value()) << asked;
    EXPECT_FALSE(found->has_value()) << asked;
  }
}

TEST(MemoryLeadStoreTest, FindByPhoneReturnsTheFirstOfSeveral) {
  MemoryLeadStore store;
  std::int64_t first = store.add(leadWith("555-0100", "", "First"));
  store.add(leadWith("5550100", "", "Second"));
  auto found = runAwaitable(store.findByPhone("5550100"));
  ASSERT_TRUE(found.has_value() && found->has_value());
  EXPECT_EQ((*found)->id, first);
}

TEST(MemoryLeadStoreTest, FindByReferenceIsExact) {
  MemoryLeadStore store;
  Lead lead = leadWith("5550100", "ACC-42", "Ann");
  lead.custom[158] = "Gold";
  std::int64_t id = store.add(lead);
  auto found = runAwaitable(store.findByReference("ACC-42"));
  ASSERT_TRUE(found.has_value() && found->has_value());
  EXPECT_EQ((*found)->id, id);
  EXPECT_EQ((*found)->field(LeadField::kName), "Ann");
  EXPECT_EQ((*found)->custom.at(158), "Gold");
  for (const char* asked : {"acc-42", "ACC42", "ACC-42 ", "ACC-4", ""}) {
    auto missing = runAwaitable(store.findByReference(asked));
    ASSERT_TRUE(missing.has_value()) << asked;
    EXPECT_FALSE(missing->has_value()) << asked;
  }
}

TEST(MemoryLeadStoreTest, CreateGivesNewIds) {
  MemoryLeadStore store;
  auto first = runAwaitable(store.create(leadWith("5550100", "R1")));
  auto second = runAwaitable(store.create(leadWith("5550101", "R2")));
  std::int64_t third = store.add(leadWith("5550102", "R3"));
  ASSERT_TRUE(first.has_value());
  ASSERT_TRUE(second.has_value());
  EXPECT_GT(*first, 0);
  EXPECT_NE(*first, *second);
  EXPECT_NE(*second, third);
  EXPECT_NE(*first, third);
  ASSERT_EQ(store.leads().size(), 3u);
  EXPECT_EQ(store.leads()[0].id, *first);
  EXPECT_EQ(store.leads()[1].id, *second);
  // An id the caller set is replaced.
  Lead preset = leadWith("5550103");
  preset.id = *first;
  auto fourth = runAwaitable(store.create(preset));
  ASSERT_TRUE(fourth.has_value());
  EXPECT_NE(*fourth, *first);
  // Created leads are found.
  auto found = runAwaitable(store.findByReference("R2"));
  ASSERT_TRUE(found.has_value() && found->has_value());
  EXPECT_EQ((*found)->id, *second);
}

TEST(MemoryLeadStoreTest, DoNotCallKeepsDigits) {
  MemoryLeadStore store;
  EXPECT_TRUE(store.dnc().empty());
  EXPECT_TRUE(runAwaitable(store.addToDnc("+1 (555) 010-0")).has_value());
  EXPECT_TRUE(runAwaitable(store.addToDnc("15550100")).has_value());  // the same number
  EXPECT_TRUE(runAwaitable(store.addToDnc("555-0199")).has_value());
  EXPECT_EQ(store.dnc(), (std::set<std::string>{"15550100", "5550199"}));
}

TEST(MemoryLeadStoreTest, DoNotCallRefusesNumbersWithoutDigits) {
  MemoryLeadStore store;
  for (const char* bad : {"", "anonymous", "+-()"}) {
    auto added = runAwaitable(store.addToDnc(bad));
    ASSERT_FALSE(added.has_value()) << bad;
    EXPECT_EQ(added.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(added.error().message.find("has no digits"), std::string::npos);
  }
  EXPECT_TRUE(store.dnc().empty());
}

}  // namespace
}  // namespace callflow
