// Database (store/database.h) against a real SQLite file in a fresh directory per test: opening
// and migrating, leads, the DNC list, call records, users and tokens, flows.
#include "store/database.h"

#include <SQLiteCpp/SQLiteCpp.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "unit/store/temp_dir.h"

namespace callflow {
namespace {

using test_support::TempDir;

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

Lead leadWith(std::string phone, std::string reference = {}, std::string name = {}) {
  Lead lead;
  lead.field(LeadField::kPhoneNum) = std::move(phone);
  lead.field(LeadField::kReferenceId) = std::move(reference);
  lead.field(LeadField::kName) = std::move(name);
  return lead;
}

class DatabaseTest : public ::testing::Test {
 protected:
  void SetUp() override { db_ = openDb(path_); }

  static std::unique_ptr<Database> openDb(const std::string& path, DatabaseOptions options = {}) {
    auto opened = Database::open(path, std::move(options));
    if (!opened) ADD_FAILURE() << opened.error().message;
    return opened ? std::move(*opened) : nullptr;
  }

  std::int64_t insert(const Lead& lead) {
    auto id = db_->insertLead(lead);
    EXPECT_TRUE(id.has_value()) << (id ? "" : id.error().message);
    return id ? *id : 0;
  }

  Lead mustGet(std::int64_t id) {
    auto lead = db_->leadById(id);
    EXPECT_TRUE(lead.has_value() && lead->has_value()) << "lead " << id;
    return lead && *lead ? **lead : Lead{};
  }

  TempDir dir_;
  std::string path_ = dir_.file("callflow.db");
  std::unique_ptr<Database> db_;
};

// --- opening ----------------------------------------------------------------------------------

TEST_F(DatabaseTest, OpenCreatesTheFileAndReportsItsSettings) {
  ASSERT_NE(db_, nullptr);
  EXPECT_TRUE(std::filesystem::exists(path_));
  EXPECT_EQ(db_->path(), path_);
  auto report = db_->settingsReport();
  ASSERT_TRUE(report.has_value()) << report.error().message;
  EXPECT_TRUE(contains(*report, "journal_mode=wal ")) << *report;
  EXPECT_TRUE(contains(*report, " synchronous=FULL ")) << *report;
  EXPECT_TRUE(contains(*report, " foreign_keys=on ")) << *report;
  EXPECT_TRUE(contains(*report, " busy_timeout=5000 ")) << *report;
  EXPECT_TRUE(contains(*report, " schema=3 ")) << *report;
  EXPECT_TRUE(contains(*report, " sqlite=3.")) << *report;
  auto integrity = db_->integrityCheck();
  ASSERT_TRUE(integrity.has_value());
  EXPECT_EQ(*integrity, "ok");
}

TEST_F(DatabaseTest, OpenAppliesTheBusyTimeoutOption) {
  db_.reset();
  DatabaseOptions options;
  options.busy_timeout_ms = 1234;
  auto db = openDb(path_, options);
  ASSERT_NE(db, nullptr);
  auto report = db->settingsReport();
  ASSERT_TRUE(report.has_value());
  EXPECT_TRUE(contains(*report, " busy_timeout=1234 ")) << *report;
}

TEST_F(DatabaseTest, ReopeningKeepsDataAndDoesNotMigrateAgain) {
  Lead lead = leadWith("+44 20 7946 0000", "R1", "Ann");
  lead.custom[158] = "Gold";
  std::int64_t id = insert(lead);
  ASSERT_TRUE(db_->addDnc("07700 900123", "api").has_value());
  ASSERT_TRUE(db_->saveFlow("seed", "{}", "tester").has_value());
  db_.reset();

  auto db = openDb(path_);
  ASSERT_NE(db, nullptr);
  auto again = db->leadById(id);
  ASSERT_TRUE(again.has_value() && again->has_value());
  EXPECT_EQ((*again)->field(LeadField::kName), "Ann");
  EXPECT_EQ((*again)->custom.at(158), "Gold");
  EXPECT_EQ(*db->isDnc("+447700900123"), true);
  EXPECT_EQ((*db->flow("seed"))->version, 1);
  EXPECT_EQ(*db->countLeads(), 1);
  EXPECT_EQ(*db->integrityCheck(), "ok");
}

TEST_F(DatabaseTest, NewerSchemaIsRefused) {
  ASSERT_TRUE(db_->exec("PRAGMA user_version = 4").has_value());
  db_.reset();
  auto opened = Database::open(path_);
  ASSERT_FALSE(opened.has_value());
  EXPECT_EQ(opened.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_TRUE(contains(opened.error().message, path_)) << opened.error().message;
  EXPECT_TRUE(contains(opened.error().message,
                       "schema version 4 is newer than this Callflow (3); upgrade Callflow"))
      << opened.error().message;

  DatabaseOptions read_only;
  read_only.read_only = true;
  auto reader = Database::open(path_, read_only);
  ASSERT_FALSE(reader.has_value());
  EXPECT_EQ(reader.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_TRUE(contains(reader.error().message, "has schema 4, this Callflow reads 3"))
      << reader.error().message;
}

// A file of schema 1 (before drafts) gains the draft flag: its versions are not drafts.
TEST_F(DatabaseTest, SchemaOneFileIsMigrated) {
  ASSERT_TRUE(db_->saveFlow("seed", "v1", "ann").has_value());
  ASSERT_TRUE(db_->saveFlow("seed", "v2", "ann").has_value());
  ASSERT_TRUE(db_->exec("ALTER TABLE flow_versions DROP COLUMN draft").has_value());
  ASSERT_TRUE(db_->exec("PRAGMA user_version = 1").has_value());
  db_.reset();

  auto db = openDb(path_);
  ASSERT_NE(db, nullptr);
  EXPECT_TRUE(contains(*db->settingsReport(), " schema=3 ")) << *db->settingsReport();
  auto latest = db->flow("seed");
  ASSERT_TRUE(latest.has_value() && latest->has_value());
  EXPECT_EQ((*latest)->version, 2);
  EXPECT_FALSE((*latest)->draft);
  EXPECT_EQ((*latest)->live_version, 2);
  EXPECT_EQ(*db->saveFlow("seed", "v3", "ann", true), 3);
  EXPECT_EQ((**db->liveFlow("seed")).body, "v2");
  EXPECT_EQ(*db->integrityCheck(), "ok");
}

TEST(DatabaseOpenTest, EmptyPathIsRefused) {
  auto opened = Database::open("");
  ASSERT_FALSE(opened.has_value());
  EXPECT_EQ(opened.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(opened.error().message, "no database file given");
}

TEST(DatabaseOpenTest, DirectoryIsRefused) {
  TempDir dir;
  auto opened = Database::open(dir.path().string());
  ASSERT_FALSE(opened.has_value());
  EXPECT_EQ(opened.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(opened.error().message, "database \"" + dir.path().string() + "\" is a directory");
}

TEST(DatabaseOpenTest, MissingDirectoryCannotBeOpened) {
  TempDir dir;
  std::string path = dir.file("no/such/dir/callflow.db");
  auto opened = Database::open(path);
  ASSERT_FALSE(opened.has_value());
  EXPECT_EQ(opened.error().code, ErrorCode::kUnavailable);
  EXPECT_TRUE(contains(opened.error().message, "cannot open database \"" + path + "\""))
      << opened.error().message;
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "no"));
}

TEST(DatabaseOpenTest, FileThatIsNotADatabaseIsRefused) {
  TempDir dir;
  std::string path = dir.file("notes.txt");
  {
    std::ofstream out(path);
    out << "this is not an SQLite database, just some text that is long enough to have a header"
        << std::string(200, 'x') << "\n";
  }
  auto opened = Database::open(path);
  ASSERT_FALSE(opened.has_value());
  EXPECT_TRUE(contains(opened.error().message, "database \"" + path + "\""))
      << opened.error().message;
  EXPECT_TRUE(contains(opened.error().message, "not a database")) << opened.error().message;
}

TEST(DatabaseOpenTest, ReadOnlyMissingFileIsNotCreated) {
  TempDir dir;
  std::string path = dir.file("missing.db");
  DatabaseOptions options;
  options.read_only = true;
  auto opened = Database::open(path, options);
  ASSERT_FALSE(opened.has_value());
  EXPECT_EQ(opened.error().code, ErrorCode::kUnavailable);
  EXPECT_TRUE(contains(opened.error().message, "cannot open database \"" + path + "\""))
      << opened.error().message;
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST_F(DatabaseTest, ReadOnlyConnectionReadsButCannotWrite) {
  std::int64_t id = insert(leadWith("020 7946 0000", "R1", "Ann"));
  DatabaseOptions options;
  options.read_only = true;
  auto reader = openDb(path_, options);
  ASSERT_NE(reader, nullptr);
  EXPECT_TRUE(reader->options().read_only);
  auto found = reader->leadByPhone("+442079460000");
  ASSERT_TRUE(found.has_value() && found->has_value());
  EXPECT_EQ((*found)->id, id);

  auto written = reader->insertLead(leadWith("5550100"));
  ASSERT_FALSE(written.has_value());
  EXPECT_EQ(written.error().code, ErrorCode::kUnavailable);
  EXPECT_TRUE(contains(written.error().message, "readonly") ||
              contains(written.error().message, "read-only"))
      << written.error().message;
  auto dnc = reader->addDnc("5550100", "api");
  EXPECT_FALSE(dnc.has_value());
  EXPECT_EQ(*db_->countLeads(), 1);
}

TEST_F(DatabaseTest, ReadOnlyConnectionSeesLaterWrites) {
  DatabaseOptions options;
  options.read_only = true;
  auto reader = openDb(path_, options);
  ASSERT_NE(reader, nullptr);
  EXPECT_FALSE(reader->leadByReference("R1")->has_value());
  insert(leadWith("5550100", "R1"));
  EXPECT_TRUE(reader->leadByReference("R1")->has_value());
}

// A cached SELECT stepped to its first row must not keep the connection's WAL read snapshot open.
TEST_F(DatabaseTest, ReadOnlyConnectionSeesWritesAfterOtherQueries) {
  std::int64_t first = insert(leadWith("5550100", "R1"));
  DatabaseOptions options;
  options.read_only = true;
  auto reader = openDb(path_, options);
  ASSERT_NE(reader, nullptr);
  ASSERT_TRUE(reader->leadById(first)->has_value());  // leaves its statement on a row
  insert(leadWith("5550101", "R2"));
  EXPECT_TRUE(reader->leadByReference("R2")->has_value());
  EXPECT_EQ(*reader->countLeads(), 2);
}

// The -wal file's size after 100 single-lead commits of ~3 KB each with a checkpoint every 8
// pages; between commits, lookup (if any) runs on the same connection.
std::uintmax_t walSizeAfterWrites(Database& db, const std::string& path,
                                  const std::function<void()>& lookup) {
  EXPECT_TRUE(db.exec("PRAGMA wal_autocheckpoint = 8").has_value());
  Lead lead;
  lead.field(LeadField::kAddress) = std::string(3000, 'x');
  for (int i = 0; i < 100; ++i) {
    EXPECT_TRUE(db.insertLead(lead).has_value());
    if (lookup) lookup();
  }
  return std::filesystem::file_size(path + "-wal");
}

constexpr std::uintmax_t kWalBound = 64 * 4096;  // 100 commits unchecked would be ~400 pages

TEST_F(DatabaseTest, WalIsReusedAfterCheckpoints) {
  EXPECT_LT(walSizeAfterWrites(*db_, path_, nullptr), kWalBound);
}

TEST_F(DatabaseTest, WalIsReusedWithListingsBetweenWrites) {
  std::int64_t id = insert(leadWith("5550100", "R1"));
  EXPECT_LT(
      walSizeAfterWrites(*db_, path_, [&] { ASSERT_EQ(db_->listLeads(1, id - 1)->size(), 1u); }),
      kWalBound);
}

TEST_F(DatabaseTest, WalIsReusedWithSingleRowLookupsBetweenWrites) {
  std::int64_t id = insert(leadWith("5550100", "R1"));
  EXPECT_LT(walSizeAfterWrites(*db_, path_, [&] { ASSERT_TRUE(db_->leadById(id)->has_value()); }),
            kWalBound);
}

TEST_F(DatabaseTest, ReadOnlyOfAnUnmigratedFileIsRefused) {
  TempDir other;
  std::string path = other.file("empty.db");
  std::ofstream(path).close();  // a zero-length file is an empty SQLite database
  DatabaseOptions options;
  options.read_only = true;
  auto opened = Database::open(path, options);
  ASSERT_FALSE(opened.has_value());
  EXPECT_EQ(opened.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_TRUE(contains(opened.error().message, "has schema 0, this Callflow reads 3"))
      << opened.error().message;
}

// --- leads ------------------------------------------------------------------------------------

TEST_F(DatabaseTest, InsertAndGetEveryField) {
  Lead lead;
  for (std::size_t i = 0; i < kLeadFieldCount; ++i) {
    lead.fields[i] = "value " + std::to_string(i);
  }
  lead.field(LeadField::kPhoneNum) = "+44 20 7946 0000";
  lead.custom[158] = "Gold";
  lead.custom[7] = "x";
  lead.id = 5;  // ignored: the store gives ids
  std::int64_t id = insert(lead);
  EXPECT_GT(id, 1000);  // ids start above 1000
  Lead got = mustGet(id);
  EXPECT_EQ(got.id, id);
  EXPECT_EQ(got.fields, lead.fields);
  EXPECT_EQ(got.custom, lead.custom);
  EXPECT_FALSE(db_->leadById(id + 1)->has_value());
  EXPECT_FALSE(db_->leadById(5)->has_value());
}

TEST_F(DatabaseTest, IdsIncrease) {
  std::int64_t a = insert(leadWith("1"));
  std::int64_t b = insert(leadWith("2"));
  EXPECT_EQ(a, 1001);
  EXPECT_EQ(b, a + 1);
  ASSERT_TRUE(*db_->deleteLead(b));
  EXPECT_EQ(insert(leadWith("3")), b + 1);  // AUTOINCREMENT: a deleted id is not reused
}

TEST_F(DatabaseTest, LeadByPhoneInEveryForm) {
  std::int64_t id = insert(leadWith("020 7946 0000", "R1", "Ann"));
  insert(leadWith("+1 212 555 0100", "R2", "Bob"));
  for (const char* form :
       {"+44 20 7946 0000", "0044 20 7946 0000", "02079460000", "442079460000", "(020) 7946-0000",
        "sip:+442079460000@pbx.example", "tel:+44-20-7946-0000"}) {
    auto found = db_->leadByPhone(form);
    ASSERT_TRUE(found.has_value()) << form;
    ASSERT_TRUE(found->has_value()) << form;
    EXPECT_EQ((*found)->id, id) << form;
  }
  for (const char* other : {"2079460000", "+44 20 7946 0001", "", "anonymous", "+"}) {
    auto found = db_->leadByPhone(other);
    ASSERT_TRUE(found.has_value()) << other;
    EXPECT_FALSE(found->has_value()) << other;
  }
}

TEST_F(DatabaseTest, DefaultCountryOptionKeysNationalNumbers) {
  db_.reset();
  DatabaseOptions options;
  options.default_country = "1";
  auto db = openDb(path_, options);
  ASSERT_NE(db, nullptr);
  auto id = db->insertLead(leadWith("(212) 555-0100"));
  ASSERT_TRUE(id.has_value());
  auto found = db->leadByPhone("+1 212 555 0100");
  ASSERT_TRUE(found.has_value() && found->has_value());
  EXPECT_EQ((*found)->id, *id);
}

TEST_F(DatabaseTest, LeadsByPhoneInIdOrderWithLimit) {
  std::int64_t a = insert(leadWith("+44 20 7946 0000", "", "A"));
  std::int64_t b = insert(leadWith("020 7946 0000", "", "B"));
  insert(leadWith("5550100", "", "other"));
  std::int64_t c = insert(leadWith("0044 20 7946 0000", "", "C"));
  auto all = db_->leadsByPhone("442079460000", 10);
  ASSERT_TRUE(all.has_value());
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].id, a);
  EXPECT_EQ((*all)[1].id, b);
  EXPECT_EQ((*all)[2].id, c);
  auto two = db_->leadsByPhone("442079460000", 2);
  ASSERT_TRUE(two.has_value());
  EXPECT_EQ(two->size(), 2u);
  EXPECT_EQ((*db_->leadByPhone("02079460000"))->id, a);  // the first of several
  EXPECT_TRUE(db_->leadsByPhone("no digits", 10)->empty());
}

TEST_F(DatabaseTest, LeadByReferenceIsExact) {
  insert(leadWith("1", ""));  // leads without a reference are never found by an empty one
  std::int64_t id = insert(leadWith("2", "ACC-42"));
  auto found = db_->leadByReference("ACC-42");
  ASSERT_TRUE(found.has_value() && found->has_value());
  EXPECT_EQ((*found)->id, id);
  for (const char* other : {"acc-42", "ACC-4", "ACC-42 ", "", "%", "ACC%"}) {
    auto missing = db_->leadByReference(other);
    ASSERT_TRUE(missing.has_value()) << other;
    EXPECT_FALSE(missing->has_value()) << other;
  }
}

TEST_F(DatabaseTest, UpdateLeadReplacesEverythingAndReKeys) {
  Lead lead = leadWith("020 7946 0000", "R1", "Ann");
  lead.custom[1] = "one";
  lead.custom[2] = "two";
  std::int64_t id = insert(lead);

  Lead changed = leadWith("+1 212 555 0100", "R9", "Annie");
  changed.id = id;
  changed.field(LeadField::kCity) = "Leeds";
  changed.custom[2] = "TWO";
  changed.custom[3] = "three";
  auto updated = db_->updateLead(changed);
  ASSERT_TRUE(updated.has_value());
  EXPECT_TRUE(*updated);

  Lead got = mustGet(id);
  EXPECT_EQ(got.fields, changed.fields);
  EXPECT_EQ(got.custom, changed.custom);  // field 1 is gone
  EXPECT_FALSE(db_->leadByPhone("02079460000")->has_value());
  EXPECT_EQ((*db_->leadByPhone("12125550100"))->id, id);
  EXPECT_FALSE(db_->leadByReference("R1")->has_value());

  changed.id = id + 100;
  auto missing = db_->updateLead(changed);
  ASSERT_TRUE(missing.has_value());
  EXPECT_FALSE(*missing);
  EXPECT_EQ(*db_->countLeads(), 1);
}

TEST_F(DatabaseTest, SetLeadFieldWritesOneField) {
  std::int64_t id = insert(leadWith("5550100", "R1", "Ann"));
  auto set = db_->setLeadField(id, LeadField::kName, "Annabel");
  ASSERT_TRUE(set.has_value());
  EXPECT_TRUE(*set);
  ASSERT_TRUE(*db_->setLeadField(id, LeadField::kListId, "L7"));
  Lead got = mustGet(id);
  EXPECT_EQ(got.field(LeadField::kName), "Annabel");
  EXPECT_EQ(got.field(LeadField::kListId), "L7");
  EXPECT_EQ(got.field(LeadField::kReferenceId), "R1");
  EXPECT_EQ(got.field(LeadField::kPhoneNum), "5550100");

  auto missing = db_->setLeadField(id + 1, LeadField::kName, "x");
  ASSERT_TRUE(missing.has_value());
  EXPECT_FALSE(*missing);
}

TEST_F(DatabaseTest, SetLeadFieldEveryStandardField) {
  std::int64_t id = insert(leadWith("5550100"));
  for (std::size_t i = 0; i < kLeadFieldCount; ++i) {
    auto field = static_cast<LeadField>(i);
    if (field == LeadField::kPhoneNum) continue;
    ASSERT_TRUE(*db_->setLeadField(id, field, "v" + std::to_string(i))) << i;
  }
  Lead got = mustGet(id);
  for (std::size_t i = 0; i < kLeadFieldCount; ++i) {
    if (static_cast<LeadField>(i) == LeadField::kPhoneNum) continue;
    EXPECT_EQ(got.fields[i], "v" + std::to_string(i)) << i;
  }
}

TEST_F(DatabaseTest, SetLeadFieldPhoneNumReKeys) {
  std::int64_t id = insert(leadWith("020 7946 0000", "R1"));
  ASSERT_TRUE(*db_->setLeadField(id, LeadField::kPhoneNum, "07700 900123"));
  EXPECT_FALSE(db_->leadByPhone("+442079460000")->has_value());
  auto found = db_->leadByPhone("+44 7700 900123");
  ASSERT_TRUE(found.has_value() && found->has_value());
  EXPECT_EQ((*found)->id, id);
  EXPECT_EQ((*found)->field(LeadField::kPhoneNum), "07700 900123");  // kept as written
  // Cleared: no longer found by any number.
  ASSERT_TRUE(*db_->setLeadField(id, LeadField::kPhoneNum, ""));
  EXPECT_FALSE(db_->leadByPhone("+447700900123")->has_value());
}

TEST_F(DatabaseTest, CustomFields) {
  std::int64_t id = insert(leadWith("5550100"));
  EXPECT_FALSE(db_->customField(id, 158)->has_value());
  auto set = db_->setCustomField(id, 158, "Gold");
  ASSERT_TRUE(set.has_value());
  EXPECT_TRUE(*set);
  EXPECT_EQ(**db_->customField(id, 158), "Gold");
  ASSERT_TRUE(*db_->setCustomField(id, 158, "Silver"));  // overwrites
  ASSERT_TRUE(*db_->setCustomField(id, 0, ""));          // empty values are kept
  EXPECT_EQ(**db_->customField(id, 158), "Silver");
  EXPECT_EQ(**db_->customField(id, 0), "");
  EXPECT_EQ(mustGet(id).custom, (std::map<int, std::string>{{0, ""}, {158, "Silver"}}));

  auto missing = db_->setCustomField(id + 1, 158, "x");
  ASSERT_TRUE(missing.has_value());
  EXPECT_FALSE(*missing);
  EXPECT_FALSE(db_->customField(id + 1, 158)->has_value());
}

TEST_F(DatabaseTest, DeleteCascadesToCustomFields) {
  Lead lead = leadWith("5550100");
  lead.custom[158] = "Gold";
  std::int64_t id = insert(lead);
  std::int64_t other = insert(lead);
  auto deleted = db_->deleteLead(id);
  ASSERT_TRUE(deleted.has_value());
  EXPECT_TRUE(*deleted);
  EXPECT_FALSE(db_->leadById(id)->has_value());
  EXPECT_FALSE(db_->customField(id, 158)->has_value());
  EXPECT_EQ(**db_->customField(other, 158), "Gold");
  EXPECT_FALSE(*db_->deleteLead(id));
  EXPECT_EQ(*db_->countLeads(), 1);
  EXPECT_EQ(*db_->integrityCheck(), "ok");
}

TEST_F(DatabaseTest, ListLeadsPages) {
  std::vector<std::int64_t> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(insert(leadWith(std::to_string(5550100 + i))));
  auto first = db_->listLeads(2, 0);
  ASSERT_TRUE(first.has_value());
  ASSERT_EQ(first->size(), 2u);
  EXPECT_EQ((*first)[0].id, ids[0]);
  EXPECT_EQ((*first)[1].id, ids[1]);
  auto rest = db_->listLeads(10, (*first)[1].id);
  ASSERT_TRUE(rest.has_value());
  ASSERT_EQ(rest->size(), 3u);
  EXPECT_EQ((*rest)[2].id, ids[4]);
  EXPECT_TRUE(db_->listLeads(10, ids[4])->empty());
  EXPECT_EQ(*db_->countLeads(), 5);
}

TEST_F(DatabaseTest, SqlLookingTextIsStoredVerbatim) {
  const std::vector<std::string> nasty = {
      "'; DROP TABLE leads; --",
      "Robert'); DROP TABLE students;--",
      "\"double\" and 'single' quotes",
      "O'Brien",
      "Zoë Ñoño 日本語 🎉",
      "%_*?[]\\",
      "line one\nline two\r\n\ttabbed",
      "x' OR '1'='1",
  };
  std::vector<std::int64_t> ids;
  for (const std::string& text : nasty) {
    Lead lead = leadWith("5550100", text, text);
    lead.field(LeadField::kAddress) = text;
    lead.custom[158] = text;
    ids.push_back(insert(lead));
  }
  for (std::size_t i = 0; i < nasty.size(); ++i) {
    Lead got = mustGet(ids[i]);
    EXPECT_EQ(got.field(LeadField::kName), nasty[i]);
    EXPECT_EQ(got.field(LeadField::kAddress), nasty[i]);
    EXPECT_EQ(got.custom.at(158), nasty[i]);
    auto by_reference = db_->leadByReference(nasty[i]);
    ASSERT_TRUE(by_reference.has_value() && by_reference->has_value()) << nasty[i];
    EXPECT_EQ((*by_reference)->id, ids[i]);
  }
  ASSERT_TRUE(*db_->setLeadField(ids[0], LeadField::kCity, nasty[0]));
  ASSERT_TRUE(*db_->setCustomField(ids[0], 9, nasty[1]));
  EXPECT_EQ(mustGet(ids[0]).field(LeadField::kCity), nasty[0]);
  EXPECT_EQ(**db_->customField(ids[0], 9), nasty[1]);
  EXPECT_FALSE(db_->leadByReference("x")->has_value());
  ASSERT_TRUE(db_->saveFlow(nasty[0], nasty[1], nasty[2]).has_value());
  EXPECT_EQ((*db_->flow(nasty[0]))->body, nasty[1]);
  ASSERT_TRUE(db_->addDnc("555 0199 " + nasty[0], nasty[0]).has_value());
  EXPECT_EQ(db_->listDnc(10)->front().source, nasty[0]);
  EXPECT_EQ(*db_->countLeads(), static_cast<std::int64_t>(nasty.size()));
  EXPECT_EQ(*db_->integrityCheck(), "ok");
}

TEST_F(DatabaseTest, TransactionRollsBackOnError) {
  auto failed = db_->transaction([&]() -> Result<int> {
    if (auto id = db_->insertLead(leadWith("5550100")); !id) return id.error();
    return fail(ErrorCode::kInvalidArgument, "changed my mind");
  });
  ASSERT_FALSE(failed.has_value());
  EXPECT_EQ(failed.error().message, "changed my mind");
  EXPECT_EQ(*db_->countLeads(), 0);
  auto done = db_->transaction([&]() -> Result<int> {
    (void)db_->insertLead(leadWith("5550100"));
    (void)db_->insertLead(leadWith("5550101"));
    return 2;
  });
  ASSERT_TRUE(done.has_value());
  EXPECT_EQ(*db_->countLeads(), 2);
}

// --- do not call ------------------------------------------------------------------------------

TEST_F(DatabaseTest, DncAddIsIdempotentAcrossForms) {
  EXPECT_FALSE(*db_->isDnc("+44 20 7946 0000"));
  ASSERT_TRUE(db_->addDnc("+44 20 7946 0000", "api").has_value());
  ASSERT_TRUE(db_->addDnc("0044 20 7946 0000", "flow seed").has_value());
  ASSERT_TRUE(db_->addDnc("020 7946 0000", "import").has_value());
  auto list = db_->listDnc(10);
  ASSERT_TRUE(list.has_value());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].number, "+44 20 7946 0000");  // the first as given
  EXPECT_EQ((*list)[0].key, "442079460000");
  EXPECT_EQ((*list)[0].source, "api");
  EXPECT_GT((*list)[0].added_ms, 0);
}

TEST_F(DatabaseTest, IsDncMatchesAnyFormOfTheNumber) {
  ASSERT_TRUE(db_->addDnc("020 7946 0000", "api").has_value());
  for (const char* form : {"+442079460000", "0044 20 7946 0000", "(020) 7946-0000",
                           "sip:+442079460000@pbx", "tel:+44-20-7946-0000"}) {
    auto dnc = db_->isDnc(form);
    ASSERT_TRUE(dnc.has_value()) << form;
    EXPECT_TRUE(*dnc) << form;
  }
  for (const char* other : {"+44 20 7946 0001", "2079460000", "", "anonymous"}) {
    auto dnc = db_->isDnc(other);
    ASSERT_TRUE(dnc.has_value()) << other;
    EXPECT_FALSE(*dnc) << other;
  }
}

TEST_F(DatabaseTest, DncRefusesNumbersWithoutDigits) {
  for (const char* bad : {"", "anonymous", "+-()", "sip:anonymous@pbx"}) {
    auto added = db_->addDnc(bad, "api");
    ASSERT_FALSE(added.has_value()) << bad;
    EXPECT_EQ(added.error().code, ErrorCode::kInvalidArgument);
    EXPECT_TRUE(contains(added.error().message, "has no digits")) << added.error().message;
  }
  EXPECT_TRUE(db_->listDnc(10)->empty());
}

TEST_F(DatabaseTest, DncRemoveByAnotherForm) {
  ASSERT_TRUE(db_->addDnc("+44 20 7946 0000", "api").has_value());
  ASSERT_TRUE(db_->addDnc("5550199", "api").has_value());
  auto removed = db_->removeDnc("020 7946 0000");
  ASSERT_TRUE(removed.has_value());
  EXPECT_TRUE(*removed);
  EXPECT_FALSE(*db_->isDnc("+442079460000"));
  EXPECT_FALSE(*db_->removeDnc("020 7946 0000"));
  EXPECT_FALSE(*db_->removeDnc(""));
  EXPECT_TRUE(*db_->isDnc("5550199"));
  EXPECT_EQ(db_->listDnc(10)->size(), 1u);
  // Added again after removal.
  ASSERT_TRUE(db_->addDnc("0044 20 7946 0000", "import").has_value());
  EXPECT_TRUE(*db_->isDnc("+442079460000"));
}

TEST_F(DatabaseTest, ListDncWithLimit) {
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(db_->addDnc("555010" + std::to_string(i), "api").has_value());
  }
  auto all = db_->listDnc(100);
  ASSERT_TRUE(all.has_value());
  EXPECT_EQ(all->size(), 5u);
  for (std::size_t i = 1; i < all->size(); ++i) {
    EXPECT_GE((*all)[i - 1].added_ms, (*all)[i].added_ms);  // newest first
  }
  EXPECT_EQ(db_->listDnc(3)->size(), 3u);
}

// --- call records -----------------------------------------------------------------------------

CallRecord openRecord(std::string uuid, std::int64_t started_ms) {
  CallRecord record;
  record.uuid = std::move(uuid);
  record.started_ms = started_ms;
  record.status = "open";
  record.from = "+442079460000";
  record.to = "8000";
  record.flow = "seed";
  record.flow_version = 2;
  return record;
}

CallRecord finished(CallRecord record) {
  record.ended_ms = record.started_ms + 5000;
  record.status = "completed";
  record.result_code = "Gold";
  record.hung_up_by = "flow";
  record.path = {"Lookup", "GETAPI", "Bye"};
  record.trace_json = R"({"steps":[1,2,3]})";
  return record;
}

TEST_F(DatabaseTest, CallBeginThenFinishLeavesOneRow) {
  CallRecord begun = openRecord("uuid-1", 1000);
  ASSERT_TRUE(db_->beginCall(begun).has_value());
  auto open = db_->callByUuid("uuid-1");
  ASSERT_TRUE(open.has_value() && open->has_value());
  EXPECT_EQ((*open)->status, "open");
  EXPECT_EQ((*open)->ended_ms, 0);
  EXPECT_TRUE((*open)->path.empty());

  CallRecord done = finished(begun);
  done.from = "changed";  // the finished values win
  ASSERT_TRUE(db_->finishCall(done).has_value());
  auto calls = db_->listCalls(10, true);
  ASSERT_TRUE(calls.has_value());
  ASSERT_EQ(calls->size(), 1u);
  const CallRecord& got = (*calls)[0];
  EXPECT_EQ(got.uuid, "uuid-1");
  EXPECT_EQ(got.started_ms, 1000);
  EXPECT_EQ(got.ended_ms, 6000);
  EXPECT_EQ(got.status, "completed");
  EXPECT_EQ(got.from, "changed");
  EXPECT_EQ(got.to, "8000");
  EXPECT_EQ(got.flow, "seed");
  EXPECT_EQ(got.flow_version, 2);
  EXPECT_EQ(got.result_code, "Gold");
  EXPECT_EQ(got.hung_up_by, "flow");
  EXPECT_EQ(got.path, (std::vector<std::string>{"Lookup", "GETAPI", "Bye"}));
  EXPECT_EQ(got.trace_json, R"({"steps":[1,2,3]})");
}

TEST_F(DatabaseTest, CallBeginTwiceKeepsTheFirst) {
  ASSERT_TRUE(db_->beginCall(openRecord("uuid-1", 1000)).has_value());
  CallRecord again = openRecord("uuid-1", 2000);
  again.from = "other";
  ASSERT_TRUE(db_->beginCall(again).has_value());
  auto got = db_->callByUuid("uuid-1");
  ASSERT_TRUE(got.has_value() && got->has_value());
  EXPECT_EQ((*got)->started_ms, 1000);
  EXPECT_EQ((*got)->from, "+442079460000");
  EXPECT_EQ(db_->listCalls(10, false)->size(), 1u);
}

TEST_F(DatabaseTest, CallFinishTwiceIsIdempotent) {
  CallRecord done = finished(openRecord("uuid-1", 1000));
  ASSERT_TRUE(db_->beginCall(openRecord("uuid-1", 1000)).has_value());
  ASSERT_TRUE(db_->finishCall(done).has_value());
  ASSERT_TRUE(db_->finishCall(done).has_value());
  auto calls = db_->listCalls(10, true);
  ASSERT_EQ(calls->size(), 1u);
  EXPECT_EQ((*calls)[0].status, "completed");
  EXPECT_EQ((*calls)[0].trace_json, done.trace_json);
  // A begin that arrives after the finish changes nothing.
  ASSERT_TRUE(db_->beginCall(openRecord("uuid-1", 1000)).has_value());
  EXPECT_EQ((**db_->callByUuid("uuid-1")).status, "completed");
}

TEST_F(DatabaseTest, CallFinishWithoutBegin) {
  CallRecord done = finished(openRecord("uuid-9", 4242));
  ASSERT_TRUE(db_->finishCall(done).has_value());
  auto got = db_->callByUuid("uuid-9");
  ASSERT_TRUE(got.has_value() && got->has_value());
  EXPECT_EQ((*got)->started_ms, 4242);
  EXPECT_EQ((*got)->status, "completed");
  EXPECT_EQ((*got)->path, done.path);
  EXPECT_FALSE(db_->callByUuid("uuid-8")->has_value());
}

TEST_F(DatabaseTest, ListCallsNewestFirstWithLimitAndTrace) {
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(db_->finishCall(finished(openRecord("uuid-" + std::to_string(i), 1000 + i * 10)))
                    .has_value());
  }
  auto three = db_->listCalls(3, false);
  ASSERT_TRUE(three.has_value());
  ASSERT_EQ(three->size(), 3u);
  EXPECT_EQ((*three)[0].uuid, "uuid-4");
  EXPECT_EQ((*three)[1].uuid, "uuid-3");
  EXPECT_EQ((*three)[2].uuid, "uuid-2");
  for (const CallRecord& record : *three) {
    EXPECT_TRUE(record.trace_json.empty());  // left out unless asked for
    EXPECT_EQ(record.path.size(), 3u);       // the path is always there
  }
  auto with_trace = db_->listCalls(1, true);
  ASSERT_EQ(with_trace->size(), 1u);
  EXPECT_EQ((*with_trace)[0].trace_json, R"({"steps":[1,2,3]})");
  EXPECT_EQ(db_->listCalls(100, false)->size(), 5u);
}

TEST_F(DatabaseTest, ListCallsFilters) {
  struct Row {
    const char* uuid;
    std::int64_t started_ms;
    const char* from;
    const char* to;
    const char* flow;
    const char* result_code;
  };
  const Row rows[] = {
      {"a", 1000, "+44 1632 960001", "100", "seed", "SALE"},
      {"b", 2000, "01632-960002", "200", "seed", "NO_LEAD"},
      {"c", 3000, "sip:anonymous", "+44 (20) 7946 0000", "other", "SALE"},
      {"d", 4000, "+1 555 0100", "100", "other", ""},
  };
  for (const Row& row : rows) {
    CallRecord record = finished(openRecord(row.uuid, row.started_ms));
    record.from = row.from;
    record.to = row.to;
    record.flow = row.flow;
    record.result_code = row.result_code;
    ASSERT_TRUE(db_->finishCall(record).has_value());
  }
  auto uuids = [&](const CallFilter& filter, int limit = 100) {
    std::vector<std::string> out;
    auto records = db_->listCalls(limit, false, filter);
    EXPECT_TRUE(records.has_value()) << records.error().message;
    if (records) {
      for (const CallRecord& record : *records) out.push_back(record.uuid);
    }
    return out;
  };
  using Uuids = std::vector<std::string>;
  EXPECT_EQ(uuids({}), (Uuids{"d", "c", "b", "a"}));
  EXPECT_EQ(uuids({}, 2), (Uuids{"d", "c"}));
  // Phone: the digits of the caller's or the dialled number contain the digits given.
  EXPECT_EQ(uuids({.phone_digits = "1632960"}), (Uuids{"b", "a"}));
  EXPECT_EQ(uuids({.phone_digits = "441632960001"}), (Uuids{"a"}));
  EXPECT_EQ(uuids({.phone_digits = "2079460000"}), (Uuids{"c"}));  // the dialled number
  EXPECT_EQ(uuids({.phone_digits = "100"}), (Uuids{"d", "a"}));
  EXPECT_EQ(uuids({.phone_digits = "999"}), Uuids{});
  // Flow and result code: exact.
  EXPECT_EQ(uuids({.flow = "seed"}), (Uuids{"b", "a"}));
  EXPECT_EQ(uuids({.flow = "see"}), Uuids{});
  EXPECT_EQ(uuids({.result_code = "SALE"}), (Uuids{"c", "a"}));
  EXPECT_EQ(uuids({.result_code = ""}), (Uuids{"d"}));
  // Start time, both ends inclusive.
  EXPECT_EQ(uuids({.since_ms = 2000}), (Uuids{"d", "c", "b"}));
  EXPECT_EQ(uuids({.until_ms = 2000}), (Uuids{"b", "a"}));
  EXPECT_EQ(uuids({.since_ms = 2000, .until_ms = 3000}), (Uuids{"c", "b"}));
  // Together: AND.
  EXPECT_EQ(uuids({.flow = "other", .result_code = "SALE"}), (Uuids{"c"}));
  EXPECT_EQ(uuids({.phone_digits = "100", .flow = "seed", .since_ms = 500}), (Uuids{"a"}));
  EXPECT_EQ(uuids({.phone_digits = "100", .flow = "seed", .since_ms = 1001}), Uuids{});
  // Values are bound, never SQL.
  EXPECT_EQ(uuids({.flow = "seed' OR '1'='1"}), Uuids{});
}

TEST_F(DatabaseTest, CallByUuidHasTheTrace) {
  CallRecord done = finished(openRecord("uuid-1", 1000));
  done.trace_json = R"({"quote":"it's \"fine\"","drop":"'; DROP TABLE calls; --"})";
  done.path = {"a \"quoted\" name", "Zoë"};
  ASSERT_TRUE(db_->finishCall(done).has_value());
  auto got = db_->callByUuid("uuid-1");
  ASSERT_TRUE(got.has_value() && got->has_value());
  EXPECT_EQ((*got)->trace_json, done.trace_json);
  EXPECT_EQ((*got)->path, done.path);
}

TEST_F(DatabaseTest, CloseInterruptedCallsClosesOnlyOpenOnes) {
  ASSERT_TRUE(db_->beginCall(openRecord("open-1", 1000)).has_value());
  ASSERT_TRUE(db_->beginCall(openRecord("open-2", 2000)).has_value());
  ASSERT_TRUE(db_->finishCall(finished(openRecord("done-1", 3000))).has_value());
  auto closed = db_->closeInterruptedCalls();
  ASSERT_TRUE(closed.has_value());
  EXPECT_EQ(*closed, 2);
  for (const char* uuid : {"open-1", "open-2"}) {
    auto got = db_->callByUuid(uuid);
    ASSERT_TRUE(got.has_value() && got->has_value());
    EXPECT_EQ((*got)->status, "interrupted");
    EXPECT_GT((*got)->ended_ms, 0);
  }
  EXPECT_EQ((**db_->callByUuid("done-1")).status, "completed");
  EXPECT_EQ((**db_->callByUuid("done-1")).ended_ms, 8000);
  EXPECT_EQ(*db_->closeInterruptedCalls(), 0);
}

// --- users and tokens -------------------------------------------------------------------------

// Argon2id is slow on purpose (and slower under ASan): these tests hash few passwords.
TEST_F(DatabaseTest, UsersAddAndVerify) {
  auto id = db_->addUser("alice", "correct horse", "admin");
  ASSERT_TRUE(id.has_value()) << id.error().message;
  EXPECT_GT(*id, 0);

  auto right = db_->verifyUser("alice", "correct horse");
  ASSERT_TRUE(right.has_value());
  ASSERT_TRUE(right->has_value());
  EXPECT_EQ((*right)->id, *id);
  EXPECT_EQ((*right)->name, "alice");
  EXPECT_EQ((*right)->role, "admin");

  auto wrong = db_->verifyUser("alice", "correct horsE");
  ASSERT_TRUE(wrong.has_value());
  EXPECT_FALSE(wrong->has_value());

  auto unknown = db_->verifyUser("bob", "correct horse");
  ASSERT_TRUE(unknown.has_value());
  EXPECT_FALSE(unknown->has_value());

  auto duplicate = db_->addUser("alice", "another password", "api");
  ASSERT_FALSE(duplicate.has_value());
  EXPECT_EQ(duplicate.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_EQ(duplicate.error().message, "user \"alice\" exists already");

  auto users = db_->listUsers();
  ASSERT_TRUE(users.has_value());
  ASSERT_EQ(users->size(), 1u);
  EXPECT_EQ((*users)[0].role, "admin");

  // Only a hash is stored.
  db_.reset();
  std::ifstream file(path_, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  std::ifstream wal(path_ + "-wal", std::ios::binary);
  bytes.append((std::istreambuf_iterator<char>(wal)), std::istreambuf_iterator<char>());
  EXPECT_FALSE(contains(bytes, "correct horse"));
  EXPECT_TRUE(contains(bytes, "$argon2id$"));
}

TEST_F(DatabaseTest, AddUserRefusesBadInputBeforeHashing) {
  struct Case {
    const char* name;
    const char* password;
    const char* role;
    const char* message;
  };
  for (const Case& c : {
           Case{"carol", "long enough", "root", "role \"root\" is not one of"},
           Case{"carol", "long enough", "", "role \"\" is not one of"},
           Case{"carol", "short", "api", "password must be at least 8 characters"},
           Case{"carol", "", "api", "password must be at least 8 characters"},
           Case{"", "long enough", "api", "user name must be 1-128 characters"},
           Case{"car ol", "long enough", "api", "user name must be 1-128 characters"},
           Case{"car:ol", "long enough", "api", "user name must be 1-128 characters"},
       }) {
    auto added = db_->addUser(c.name, c.password, c.role);
    ASSERT_FALSE(added.has_value()) << c.name << "/" << c.role;
    EXPECT_EQ(added.error().code, ErrorCode::kInvalidArgument);
    EXPECT_TRUE(contains(added.error().message, c.message)) << added.error().message;
  }
  EXPECT_TRUE(db_->listUsers()->empty());
  for (const char* role : {"api", "admin", "supervisor", "agent"}) EXPECT_TRUE(isRole(role));
  for (const char* role : {"Admin", "root", "", "api "}) EXPECT_FALSE(isRole(role));
}

// Users for the token tests are written directly, so no Argon2 hash is computed.
std::int64_t addUserWithoutHash(Database& db, const std::string& name, const std::string& role) {
  std::string sql = "INSERT INTO users (name, password_hash, role, created_ms) VALUES ('" + name +
                    "', 'not-a-hash', '" + role + "', 0)";
  EXPECT_TRUE(db.exec(sql.c_str()).has_value());
  auto users = db.listUsers();
  EXPECT_TRUE(users.has_value());
  if (!users) return 0;
  for (const User& user : *users) {
    if (user.name == name) return user.id;
  }
  ADD_FAILURE() << "user " << name << " was not added";
  return 0;
}

TEST_F(DatabaseTest, TokensCreateAndLookUp) {
  std::int64_t alice = addUserWithoutHash(*db_, "alice", "admin");
  std::int64_t bob = addUserWithoutHash(*db_, "bob", "api");
  auto token = db_->createToken(alice, 3600);
  ASSERT_TRUE(token.has_value()) << token.error().message;
  EXPECT_EQ(token->substr(0, 3), "cf_");
  EXPECT_EQ(token->size(), 3u + 64u);
  auto bob_token = db_->createToken(bob, 3600);
  ASSERT_TRUE(bob_token.has_value());
  EXPECT_NE(*token, *bob_token);

  auto user = db_->userForToken(*token);
  ASSERT_TRUE(user.has_value() && user->has_value());
  EXPECT_EQ((*user)->id, alice);
  EXPECT_EQ((*user)->name, "alice");
  EXPECT_EQ((*user)->role, "admin");
  EXPECT_EQ((**db_->userForToken(*bob_token)).name, "bob");

  std::string altered = *token;
  altered.back() = altered.back() == '0' ? '1' : '0';
  for (const std::string& bad : {altered, std::string(), std::string("cf_"), token->substr(3)}) {
    auto none = db_->userForToken(bad);
    ASSERT_TRUE(none.has_value()) << bad;
    EXPECT_FALSE(none->has_value()) << bad;
  }
}

TEST_F(DatabaseTest, ExpiredTokensAreRefused) {
  std::int64_t alice = addUserWithoutHash(*db_, "alice", "admin");
  for (std::int64_t ttl : {0, -1, -3600}) {
    auto token = db_->createToken(alice, ttl);
    ASSERT_TRUE(token.has_value()) << ttl;
    auto user = db_->userForToken(*token);
    ASSERT_TRUE(user.has_value()) << ttl;
    EXPECT_FALSE(user->has_value()) << "ttl " << ttl;
  }
}

TEST_F(DatabaseTest, TokenForUnknownUserIsRefused) {
  auto token = db_->createToken(424242, 3600);
  ASSERT_FALSE(token.has_value());
  EXPECT_EQ(token.error().code, ErrorCode::kFailedPrecondition);
}

TEST_F(DatabaseTest, DeletingAUserRevokesItsTokens) {
  std::int64_t alice = addUserWithoutHash(*db_, "alice", "admin");
  auto token = db_->createToken(alice, 3600);
  ASSERT_TRUE(token.has_value());
  ASSERT_TRUE(db_->exec("DELETE FROM users WHERE name = 'alice'").has_value());
  EXPECT_FALSE(db_->userForToken(*token)->has_value());
}

// --- flows ------------------------------------------------------------------------------------

TEST_F(DatabaseTest, SaveFlowAddsVersions) {
  for (int expected = 1; expected <= 3; ++expected) {
    auto version = db_->saveFlow("seed", "{\"v\":" + std::to_string(expected) + "}", "ann");
    ASSERT_TRUE(version.has_value()) << version.error().message;
    EXPECT_EQ(*version, expected);
  }
  EXPECT_EQ(*db_->saveFlow("other", "{}", "bob"), 1);  // versions count per name

  auto latest = db_->flow("seed", 0);
  ASSERT_TRUE(latest.has_value() && latest->has_value());
  EXPECT_EQ((*latest)->name, "seed");
  EXPECT_EQ((*latest)->version, 3);
  EXPECT_EQ((*latest)->body, "{\"v\":3}");
  EXPECT_EQ((*latest)->saved_by, "ann");
  EXPECT_GT((*latest)->saved_ms, 0);
  EXPECT_EQ((**db_->flow("seed")).version, 3);  // 0 is the default

  auto second = db_->flow("seed", 2);
  ASSERT_TRUE(second.has_value() && second->has_value());
  EXPECT_EQ((*second)->version, 2);
  EXPECT_EQ((*second)->body, "{\"v\":2}");

  EXPECT_FALSE(db_->flow("seed", 4)->has_value());
  EXPECT_FALSE(db_->flow("seed", -1)->has_value());
  EXPECT_FALSE(db_->flow("missing")->has_value());
  EXPECT_FALSE(db_->flow("SEED")->has_value());
}

TEST_F(DatabaseTest, SaveFlowNeedsAName) {
  auto saved = db_->saveFlow("", "{}", "ann");
  ASSERT_FALSE(saved.has_value());
  EXPECT_EQ(saved.error().code, ErrorCode::kInvalidArgument);
  EXPECT_TRUE(db_->listFlows()->empty());
}

TEST_F(DatabaseTest, ListFlowsShowsTheLatestOfEach) {
  ASSERT_TRUE(db_->saveFlow("zeta", "z1", "ann").has_value());
  ASSERT_TRUE(db_->saveFlow("alpha", "a1", "ann").has_value());
  ASSERT_TRUE(db_->saveFlow("zeta", "z2", "bob").has_value());
  ASSERT_TRUE(db_->saveFlow("alpha", "a2", "bob").has_value());
  ASSERT_TRUE(db_->saveFlow("alpha", "a3", "cat").has_value());
  auto flows = db_->listFlows();
  ASSERT_TRUE(flows.has_value());
  ASSERT_EQ(flows->size(), 2u);
  EXPECT_EQ((*flows)[0].name, "alpha");
  EXPECT_EQ((*flows)[0].version, 3);
  EXPECT_EQ((*flows)[0].body, "a3");
  EXPECT_EQ((*flows)[0].saved_by, "cat");
  EXPECT_EQ((*flows)[1].name, "zeta");
  EXPECT_EQ((*flows)[1].version, 2);
  EXPECT_EQ((*flows)[1].body, "z2");
}

TEST_F(DatabaseTest, FlowVersionsNewestFirstWithoutBodies) {
  for (const char* who : {"ann", "bob", "cat"}) {
    ASSERT_TRUE(db_->saveFlow("seed", "a long body", who).has_value());
  }
  auto versions = db_->flowVersions("seed");
  ASSERT_TRUE(versions.has_value());
  ASSERT_EQ(versions->size(), 3u);
  EXPECT_EQ((*versions)[0].version, 3);
  EXPECT_EQ((*versions)[0].saved_by, "cat");
  EXPECT_EQ((*versions)[1].version, 2);
  EXPECT_EQ((*versions)[2].version, 1);
  EXPECT_EQ((*versions)[2].saved_by, "ann");
  for (const FlowVersion& version : *versions) {
    EXPECT_EQ(version.name, "seed");
    EXPECT_TRUE(version.body.empty());
    EXPECT_GT(version.saved_ms, 0);
  }
  EXPECT_TRUE(db_->flowVersions("missing")->empty());
}

TEST_F(DatabaseTest, DraftsAreVersionsButNeverLive) {
  ASSERT_EQ(*db_->saveFlow("seed", "v1", "ann"), 1);
  ASSERT_EQ(*db_->saveFlow("seed", "v2 draft", "bob", true), 2);
  ASSERT_EQ(*db_->saveFlow("seed", "v3 draft", "bob", true), 3);
  ASSERT_EQ(*db_->saveFlow("sketch", "only a draft", "bob", true), 1);

  // What the designer opens: the latest, drafts included, with the live version beside it.
  auto latest = db_->flow("seed");
  ASSERT_TRUE(latest.has_value() && latest->has_value());
  EXPECT_EQ((*latest)->version, 3);
  EXPECT_TRUE((*latest)->draft);
  EXPECT_EQ((*latest)->body, "v3 draft");
  EXPECT_EQ((*latest)->live_version, 1);
  auto first = db_->flow("seed", 1);
  EXPECT_FALSE((**first).draft);
  EXPECT_EQ((**first).live_version, 1);

  // What calls run: the newest version that is not a draft.
  auto live = db_->liveFlow("seed");
  ASSERT_TRUE(live.has_value() && live->has_value());
  EXPECT_EQ((*live)->version, 1);
  EXPECT_EQ((*live)->body, "v1");
  EXPECT_FALSE((*live)->draft);
  EXPECT_FALSE(db_->liveFlow("sketch")->has_value());
  EXPECT_FALSE(db_->liveFlow("missing")->has_value());
  EXPECT_EQ((**db_->flow("sketch")).live_version, 0);

  auto flows = db_->listFlows();
  ASSERT_EQ(flows->size(), 2u);
  EXPECT_EQ((*flows)[0].name, "seed");
  EXPECT_EQ((*flows)[0].version, 3);
  EXPECT_TRUE((*flows)[0].draft);
  EXPECT_EQ((*flows)[0].live_version, 1);
  EXPECT_EQ((*flows)[1].name, "sketch");
  EXPECT_TRUE((*flows)[1].draft);
  EXPECT_EQ((*flows)[1].live_version, 0);

  auto live_flows = db_->listLiveFlows();
  ASSERT_EQ(live_flows->size(), 1u);
  EXPECT_EQ((*live_flows)[0].name, "seed");
  EXPECT_EQ((*live_flows)[0].version, 1);
  EXPECT_EQ((*live_flows)[0].body, "v1");

  auto versions = db_->flowVersions("seed");
  ASSERT_EQ(versions->size(), 3u);
  EXPECT_TRUE((*versions)[0].draft);
  EXPECT_TRUE((*versions)[1].draft);
  EXPECT_FALSE((*versions)[2].draft);
  EXPECT_EQ((*versions)[0].live_version, 1);

  // A later deployment is live again; the drafts stay in the history.
  ASSERT_EQ(*db_->saveFlow("seed", "v4", "ann"), 4);
  EXPECT_EQ((**db_->liveFlow("seed")).version, 4);
  EXPECT_EQ((**db_->flow("seed")).live_version, 4);
  EXPECT_EQ((*db_->listLiveFlows())[0].version, 4);
}

TEST_F(DatabaseTest, RenameFlowKeepsVersions) {
  ASSERT_TRUE(db_->saveFlow("old", "v1", "ann").has_value());
  ASSERT_TRUE(db_->saveFlow("old", "v2", "ann").has_value());
  ASSERT_TRUE(db_->saveFlow("taken", "t1", "ann").has_value());

  auto refused = db_->renameFlow("old", "taken");
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_EQ(refused.error().message, "a flow named \"taken\" exists already");
  EXPECT_EQ((**db_->flow("taken")).body, "t1");

  auto empty = db_->renameFlow("old", "");
  ASSERT_FALSE(empty.has_value());
  EXPECT_EQ(empty.error().code, ErrorCode::kInvalidArgument);

  auto renamed = db_->renameFlow("old", "new");
  ASSERT_TRUE(renamed.has_value());
  EXPECT_TRUE(*renamed);
  EXPECT_FALSE(db_->flow("old")->has_value());
  EXPECT_EQ((**db_->flow("new")).version, 2);
  EXPECT_EQ((**db_->flow("new", 1)).body, "v1");

  auto missing = db_->renameFlow("old", "newer");
  ASSERT_TRUE(missing.has_value());
  EXPECT_FALSE(*missing);
  // The old name is free again and starts over.
  EXPECT_EQ(*db_->saveFlow("old", "fresh", "ann"), 1);
}

TEST_F(DatabaseTest, DeleteFlowRemovesEveryVersion) {
  ASSERT_TRUE(db_->saveFlow("seed", "v1", "ann").has_value());
  ASSERT_TRUE(db_->saveFlow("seed", "v2", "ann").has_value());
  ASSERT_TRUE(db_->saveFlow("keep", "k1", "ann").has_value());
  auto deleted = db_->deleteFlow("seed");
  ASSERT_TRUE(deleted.has_value());
  EXPECT_TRUE(*deleted);
  EXPECT_FALSE(db_->flow("seed")->has_value());
  EXPECT_TRUE(db_->flowVersions("seed")->empty());
  EXPECT_EQ(db_->listFlows()->size(), 1u);
  EXPECT_FALSE(*db_->deleteFlow("seed"));
  EXPECT_EQ(*db_->saveFlow("seed", "again", "ann"), 1);  // versions start over
  EXPECT_EQ(*db_->integrityCheck(), "ok");
}

}  // namespace
}  // namespace callflow
