// importLeadsCsv (store/lead_import.h) into a real database: the header, rejected rows with their
// lines, and batches.
#include "store/lead_import.h"

#include <gtest/gtest.h>

#include <sstream>
#include <string>

#include "unit/store/temp_dir.h"

namespace callflow {
namespace {

using test_support::TempDir;

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

class LeadImportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = Database::open(dir_.file("callflow.db"));
    ASSERT_TRUE(opened.has_value()) << opened.error().message;
    db_ = std::move(*opened);
  }

  Result<ImportReport> import(const std::string& text, int batch_size = 500) {
    std::istringstream in(text);
    return importLeadsCsv(*db_, in, batch_size);
  }

  std::int64_t count() { return *db_->countLeads(); }

  TempDir dir_;
  std::unique_ptr<Database> db_;
};

TEST(CustomFieldIdTest, ParsesFieldNames) {
  EXPECT_EQ(customFieldId("field:158"), 158);
  EXPECT_EQ(customFieldId("field:0"), 0);
  for (const char* bad : {"field:", "field:abc", "field:-1", "field:1x", "field: 1", "Field:1",
                          "field158", "158", "", "field:99999999999"}) {
    EXPECT_EQ(customFieldId(bad), -1) << bad;
  }
}

TEST_F(LeadImportTest, HeaderMapsStandardAndCustomFields) {
  auto report = import(
      "referenceid,name,name2,address,city,postalcode,phonenum,campaignid,listid,field:158\n"
      "R1,Ann,Smith,1 High St,Leeds,LS1 1AA,020 7946 0000,C1,L1,Gold\n"
      "R2,Bob,,,,,+1 212 555 0100,C1,L1,\n");
  ASSERT_TRUE(report.has_value()) << report.error().message;
  EXPECT_EQ(report->imported, 2);
  EXPECT_TRUE(report->rejected.empty());

  auto ann = db_->leadByPhone("+44 20 7946 0000");
  ASSERT_TRUE(ann.has_value() && ann->has_value());
  const Lead& lead = **ann;
  EXPECT_EQ(lead.field(LeadField::kReferenceId), "R1");
  EXPECT_EQ(lead.field(LeadField::kName), "Ann");
  EXPECT_EQ(lead.field(LeadField::kName2), "Smith");
  EXPECT_EQ(lead.field(LeadField::kAddress), "1 High St");
  EXPECT_EQ(lead.field(LeadField::kCity), "Leeds");
  EXPECT_EQ(lead.field(LeadField::kPostalCode), "LS1 1AA");
  EXPECT_EQ(lead.field(LeadField::kPhoneNum), "020 7946 0000");
  EXPECT_EQ(lead.field(LeadField::kCampaignId), "C1");
  EXPECT_EQ(lead.field(LeadField::kListId), "L1");
  EXPECT_EQ(lead.custom, (std::map<int, std::string>{{158, "Gold"}}));

  auto bob = db_->leadByReference("R2");
  ASSERT_TRUE(bob.has_value() && bob->has_value());
  EXPECT_TRUE((*bob)->custom.empty());  // an empty custom value is not stored
  EXPECT_EQ((*bob)->field(LeadField::kCity), "");
}

TEST_F(LeadImportTest, ColumnsInAnyOrderAndSubsetWithBlanksAroundNames) {
  auto report = import("\xEF\xBB\xBF field:7 , phonenum,name\r\nx,5550100,Ann\r\n");
  ASSERT_TRUE(report.has_value()) << report.error().message;
  EXPECT_EQ(report->imported, 1);
  auto lead = db_->leadByPhone("5550100");
  ASSERT_TRUE(lead.has_value() && lead->has_value());
  EXPECT_EQ((*lead)->field(LeadField::kName), "Ann");
  EXPECT_EQ((*lead)->custom.at(7), "x");
}

TEST_F(LeadImportTest, UnknownColumnFailsTheWholeImport) {
  auto report = import("name,phonenum,email\nAnn,5550100,ann@example.com\n");
  ASSERT_FALSE(report.has_value());
  EXPECT_EQ(report.error().code, ErrorCode::kInvalidArgument);
  EXPECT_TRUE(contains(report.error().message, "line 1: column 3 \"email\" is not a lead field"))
      << report.error().message;
  EXPECT_EQ(count(), 0);
}

TEST_F(LeadImportTest, HeaderNamesAreCaseSensitive) {
  auto report = import("Name,phonenum\nAnn,5550100\n");
  ASSERT_FALSE(report.has_value());
  EXPECT_TRUE(contains(report.error().message, "column 1 \"Name\"")) << report.error().message;
  EXPECT_EQ(count(), 0);
}

TEST_F(LeadImportTest, BadCustomFieldNameFails) {
  auto report = import("phonenum,field:abc\n5550100,x\n");
  ASSERT_FALSE(report.has_value());
  EXPECT_TRUE(contains(report.error().message, "\"field:abc\"")) << report.error().message;
  EXPECT_EQ(count(), 0);
}

TEST_F(LeadImportTest, DuplicateColumnFails) {
  auto standard = import("name,phonenum,name\nAnn,5550100,Bob\n");
  ASSERT_FALSE(standard.has_value());
  EXPECT_EQ(standard.error().message, "line 1: column \"name\" appears twice");

  auto custom = import("field:158,phonenum,field:158\na,5550100,b\n");
  ASSERT_FALSE(custom.has_value());
  EXPECT_EQ(custom.error().message, "line 1: column \"field:158\" appears twice");
  EXPECT_EQ(count(), 0);
}

TEST_F(LeadImportTest, EmptyFileAndBadHeaderFail) {
  auto empty = import("");
  ASSERT_FALSE(empty.has_value());
  EXPECT_EQ(empty.error().message, "the file is empty");

  auto blank = import("\nAnn\n");
  ASSERT_FALSE(blank.has_value());
  EXPECT_TRUE(contains(blank.error().message, "line 1")) << blank.error().message;

  auto broken = import("\"name,phonenum\n");
  ASSERT_FALSE(broken.has_value());
  EXPECT_EQ(broken.error().message, "line 1: a quoted field opened on line 1 is never closed");
  EXPECT_EQ(count(), 0);
}

TEST_F(LeadImportTest, HeaderOnlyImportsNothing) {
  auto report = import("name,phonenum\n");
  ASSERT_TRUE(report.has_value());
  EXPECT_EQ(report->imported, 0);
  EXPECT_TRUE(report->rejected.empty());
}

TEST_F(LeadImportTest, BadRowsAreRejectedWithTheirLines) {
  std::string text =
      "referenceid,name,phonenum\n"      // 1
      "R1,Ann,5550101\n"                 // 2 ok
      "R2,Bob\n"                         // 3 too few fields
      "R3,Cat,5550103,extra\n"           // 4 too many fields
      "R4,Dan,anonymous\n"               // 5 phonenum without digits
      "R5,\xC3(bad,5550105\n"            // 6 invalid UTF-8
      "R6,\"Eve\"x,5550106\n"            // 7 text after a closing quote
      "\n"                               // 8 blank: skipped, not rejected
      "R7,\"Fay\nMultiline\",5550107\n"  // 9-10 ok
      "R8,Gus,\n"                        // 11 ok: no phone at all
      "R9,\xED\xA0\x80,5550109\n"        // 12 a UTF-16 surrogate: invalid
      "R10,\xF0\x9F\x8E\x89,5550110\n"   // 13 ok: 🎉
      "R11,\"never closed,5550111\n";    // 14 unterminated, to the end
  auto report = import(text);
  ASSERT_TRUE(report.has_value()) << report.error().message;
  EXPECT_EQ(report->imported, 4);
  ASSERT_EQ(report->rejected.size(), 7u);
  const auto& rejected = report->rejected;
  EXPECT_EQ(rejected[0].first, 3);
  EXPECT_EQ(rejected[0].second, "2 fields, the header has 3");
  EXPECT_EQ(rejected[1].first, 4);
  EXPECT_EQ(rejected[1].second, "4 fields, the header has 3");
  EXPECT_EQ(rejected[2].first, 5);
  EXPECT_EQ(rejected[2].second, "phonenum \"anonymous\" has no digits");
  EXPECT_EQ(rejected[3].first, 6);
  EXPECT_EQ(rejected[3].second, "column 2 is not valid UTF-8");
  EXPECT_EQ(rejected[4].first, 7);
  EXPECT_EQ(rejected[4].second, "text after a closing quote");
  EXPECT_EQ(rejected[5].first, 12);
  EXPECT_EQ(rejected[5].second, "column 2 is not valid UTF-8");
  EXPECT_EQ(rejected[6].first, 14);
  EXPECT_EQ(rejected[6].second, "a quoted field opened on line 14 is never closed");

  EXPECT_EQ(count(), 4);
  for (const char* reference : {"R1", "R7", "R8", "R10"}) {
    EXPECT_TRUE(db_->leadByReference(reference)->has_value()) << reference;
  }
  EXPECT_EQ((**db_->leadByReference("R7")).field(LeadField::kName), "Fay\nMultiline");
  EXPECT_EQ((**db_->leadByReference("R10")).field(LeadField::kName), "\xF0\x9F\x8E\x89");
  for (const char* reference : {"R2", "R3", "R4", "R5", "R6", "R9", "R11"}) {
    EXPECT_FALSE(db_->leadByReference(reference)->has_value()) << reference;
  }
}

TEST_F(LeadImportTest, Utf8Validation) {
  std::string text = "referenceid,name\n";
  const std::vector<std::pair<std::string, bool>> cases = {
      {"plain", true},
      {"Zo\xC3\xAB", true},         // ë
      {"\xE6\x97\xA5", true},       // 日
      {"\xF4\x8F\xBF\xBF", true},   // U+10FFFF
      {"\xC0\xAF", false},          // overlong /
      {"\xE0\x80\xAF", false},      // overlong
      {"\xF4\x90\x80\x80", false},  // past U+10FFFF
      {"\xF5\x80\x80\x80", false},  // never valid
      {"\xE6\x97", false},          // cut short
      {"\x80", false},              // a lone continuation byte
  };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    text += "U" + std::to_string(i) + "," + cases[i].first + "\n";
  }
  auto report = import(text);
  ASSERT_TRUE(report.has_value());
  for (std::size_t i = 0; i < cases.size(); ++i) {
    EXPECT_EQ(db_->leadByReference("U" + std::to_string(i))->has_value(), cases[i].second)
        << "case " << i;
  }
}

TEST_F(LeadImportTest, OverlongValueIsRejected) {
  std::string text =
      "referenceid,name\nR1," + std::string(4096, 'a') + "\nR2," + std::string(4097, 'a') + "\n";
  auto report = import(text);
  ASSERT_TRUE(report.has_value());
  EXPECT_EQ(report->imported, 1);
  ASSERT_EQ(report->rejected.size(), 1u);
  EXPECT_EQ(report->rejected[0].first, 3);
  EXPECT_EQ(report->rejected[0].second, "column 2 is longer than 4096 bytes");
}

TEST_F(LeadImportTest, SqlLookingValuesAreStoredVerbatim) {
  auto report = import(
      "referenceid,name,field:1\n"
      "\"'; DROP TABLE leads; --\",\"O'Brien \"\"the\"\" 1st\",\"x' OR '1'='1\"\n");
  ASSERT_TRUE(report.has_value());
  EXPECT_EQ(report->imported, 1);
  auto lead = db_->leadByReference("'; DROP TABLE leads; --");
  ASSERT_TRUE(lead.has_value() && lead->has_value());
  EXPECT_EQ((*lead)->field(LeadField::kName), "O'Brien \"the\" 1st");
  EXPECT_EQ((*lead)->custom.at(1), "x' OR '1'='1");
}

std::string numberedRows(int rows) {
  std::string text = "referenceid,phonenum,field:158\n";
  for (int i = 0; i < rows; ++i) {
    text += "R" + std::to_string(i) + ",+44 20 7946 " + std::to_string(10000 + i) + ",v" +
            std::to_string(i) + "\n";
  }
  return text;
}

TEST_F(LeadImportTest, BatchBoundaries) {
  auto report = import(numberedRows(1201), 500);
  ASSERT_TRUE(report.has_value()) << report.error().message;
  EXPECT_EQ(report->imported, 1201);
  EXPECT_TRUE(report->rejected.empty());
  EXPECT_EQ(count(), 1201);
  for (int i : {0, 499, 500, 999, 1000, 1200}) {
    auto lead = db_->leadByReference("R" + std::to_string(i));
    ASSERT_TRUE(lead.has_value() && lead->has_value()) << i;
    EXPECT_EQ((*lead)->custom.at(158), "v" + std::to_string(i));
  }
  EXPECT_EQ(*db_->integrityCheck(), "ok");
}

TEST_F(LeadImportTest, BatchSizesAroundTheRowCount) {
  int total = 0;
  for (int batch : {1, 2, 9, 10, 11}) {
    auto report = import(numberedRows(10), batch);
    ASSERT_TRUE(report.has_value()) << batch;
    EXPECT_EQ(report->imported, 10) << "batch " << batch;
    total += 10;
    EXPECT_EQ(count(), total) << "batch " << batch;
  }
}

TEST_F(LeadImportTest, RejectedRowsDoNotBreakBatches) {
  std::string text = "referenceid,phonenum\n";
  for (int i = 0; i < 25; ++i) {
    text +=
        "R" + std::to_string(i) + "," + (i % 5 == 0 ? "none" : std::to_string(5550100 + i)) + "\n";
  }
  auto report = import(text, 4);
  ASSERT_TRUE(report.has_value());
  EXPECT_EQ(report->imported, 20);
  ASSERT_EQ(report->rejected.size(), 5u);
  EXPECT_EQ(report->rejected[0].first, 2);
  EXPECT_EQ(report->rejected[4].first, 22);
  EXPECT_EQ(count(), 20);
}

TEST_F(LeadImportTest, ImportsAreAddedNotMerged) {
  ASSERT_TRUE(import("referenceid,phonenum\nR1,5550100\n").has_value());
  ASSERT_TRUE(import("referenceid,phonenum\nR1,5550100\n").has_value());
  EXPECT_EQ(count(), 2);
  EXPECT_EQ(db_->leadsByPhone("5550100", 10)->size(), 2u);
}

}  // namespace
}  // namespace callflow
