// The call-record spool (store/record_spool.h) over a real SQLite file: records kept while the
// file is locked or full, written once it takes them again, kept once per UUID, bounded with
// every loss counted, and the DbWorker retrying by itself (RELIABILITY.md D3, D4).
#include "store/record_spool.h"

#include <SQLiteCpp/SQLiteCpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <string>
#include <thread>

#include "store/database.h"
#include "store/db_worker.h"
#include "unit/store/temp_dir.h"
#include "unit/support/run_awaitable.h"

namespace callflow {
namespace {

using test_support::runAwaitable;
using test_support::TempDir;

std::unique_ptr<Database> openDb(const TempDir& dir, int busy_timeout_ms = 50) {
  DatabaseOptions options;
  options.busy_timeout_ms = busy_timeout_ms;
  auto opened = Database::open(dir.file("callflow.db"), options);
  if (!opened) {
    ADD_FAILURE() << opened.error().message;
    return nullptr;
  }
  return std::move(*opened);
}

CallRecord record(const std::string& uuid, bool final_record) {
  CallRecord r;
  r.uuid = uuid;
  r.started_ms = 1000;
  r.status = final_record ? "completed" : "open";
  r.ended_ms = final_record ? 2000 : 0;
  r.from = "+441632960001";
  r.to = "7000";
  r.flow = "Spool";
  r.path = {"Greet", "Bye"};
  r.result_code = final_record ? "done" : "";
  return r;
}

// Another connection holding the write lock, as another process would (BEGIN EXCLUSIVE).
class Locker {
 public:
  explicit Locker(const std::string& path) : db_(path, SQLite::OPEN_READWRITE) {
    db_.exec("BEGIN EXCLUSIVE");
  }
  void release() {
    if (held_) db_.exec("ROLLBACK");
    held_ = false;
  }
  ~Locker() { release(); }

 private:
  SQLite::Database db_;
  bool held_ = true;
};

std::string statusOf(Database& db, const std::string& uuid) {
  auto found = db.callByUuid(uuid);
  if (!found || !*found) return "";
  return (*found)->status;
}

TEST(RecordSpoolTest, KeepsRecordsWhileLockedAndWritesThemOnceFree) {
  TempDir dir;
  auto db = openDb(dir);
  RecordSpool spool;
  db->attachRecordSpool(&spool);
  auto locker = std::make_unique<Locker>(dir.file("callflow.db"));

  EXPECT_TRUE(db->beginCall(record("a", false)));  // kept, not lost
  EXPECT_TRUE(db->finishCall(record("a", true)));  // behind it, without trying the file
  EXPECT_TRUE(db->beginCall(record("a", false)));  // the same record again: kept once
  RecordSpoolStats stats = spool.stats();
  EXPECT_EQ(stats.spooled_now, 2u);
  EXPECT_EQ(stats.spooled_total, 2u);
  EXPECT_EQ(stats.write_errors_total, 1u);
  EXPECT_EQ(stats.dropped_total, 0u);
  ASSERT_TRUE(spool.nextRetry().has_value());

  spool.retry(*db);  // still locked: nothing moves, the next retry backs off
  EXPECT_EQ(spool.stats().spooled_now, 2u);
  EXPECT_EQ(spool.stats().write_errors_total, 2u);

  locker->release();
  spool.retry(*db);
  stats = spool.stats();
  EXPECT_EQ(stats.spooled_now, 0u);
  EXPECT_EQ(stats.written_total, 2u);
  EXPECT_FALSE(spool.nextRetry().has_value());
  db->attachRecordSpool(nullptr);
  EXPECT_EQ(statusOf(*db, "a"), "completed");  // the start did not overwrite the end
  auto all = db->listCalls(10, false);
  ASSERT_TRUE(all);
  EXPECT_EQ(all->size(), 1u);
}

TEST(RecordSpoolTest, BoundedAndEveryLossCounted) {
  TempDir dir;
  auto db = openDb(dir);
  RecordSpoolOptions options;
  options.max_records = 2;
  RecordSpool spool(options);
  db->attachRecordSpool(&spool);
  Locker locker(dir.file("callflow.db"));
  EXPECT_TRUE(db->beginCall(record("a", false)));
  EXPECT_TRUE(db->beginCall(record("b", false)));
  auto lost = db->beginCall(record("c", false));
  ASSERT_FALSE(lost);
  EXPECT_EQ(lost.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(lost.error().message.find("spool is full"), std::string::npos) << lost.error().message;
  RecordSpoolStats stats = spool.stats();
  EXPECT_EQ(stats.spooled_now, 2u);
  EXPECT_EQ(stats.dropped_total, 1u);
  EXPECT_EQ(stats.max_records, 2u);
  spool.finish(*db);  // still locked: what waits is lost, and counted
  EXPECT_EQ(spool.stats().dropped_total, 3u);
  EXPECT_EQ(spool.stats().spooled_now, 0u);
  db->attachRecordSpool(nullptr);
}

TEST(RecordSpoolTest, KeepsRecordsWhileTheFileIsFull) {
  TempDir dir;
  auto db = openDb(dir);
  RecordSpool spool;
  db->attachRecordSpool(&spool);
  auto pages = db->exec("PRAGMA max_page_count = 1");  // below what the file has: no new page
  ASSERT_TRUE(pages);
  CallRecord big = record("full", true);
  big.trace_json = std::string(64 * 1024, 'x');
  EXPECT_TRUE(db->finishCall(big));
  EXPECT_EQ(spool.stats().spooled_now, 1u);
  EXPECT_EQ(spool.stats().write_errors_total, 1u);
  ASSERT_TRUE(db->exec("PRAGMA max_page_count = 1073741823"));
  spool.retry(*db);
  EXPECT_EQ(spool.stats().spooled_now, 0u);
  db->attachRecordSpool(nullptr);
  EXPECT_EQ(statusOf(*db, "full"), "completed");
}

TEST(RecordSpoolTest, APermanentFailureIsNotSpooled) {
  TempDir dir;
  auto db = openDb(dir);
  RecordSpool spool;
  db->attachRecordSpool(&spool);
  ASSERT_TRUE(
      db->exec("CREATE TRIGGER no_calls BEFORE INSERT ON calls BEGIN "
               "SELECT RAISE(ABORT, 'refused'); END"));
  auto written = db->beginCall(record("a", false));
  EXPECT_FALSE(written);
  EXPECT_EQ(spool.stats().spooled_now, 0u);
  EXPECT_EQ(spool.stats().dropped_total, 1u);
  db->attachRecordSpool(nullptr);
}

TEST(RecordSpoolTest, TheWorkerRetriesByItselfAndReportsItsCounters) {
  TempDir dir;
  RecordSpoolOptions options;
  options.first_retry = std::chrono::milliseconds(20);
  options.max_retry = std::chrono::milliseconds(50);
  DbWorker worker(openDb(dir), options);
  auto locker = std::make_unique<Locker>(dir.file("callflow.db"));
  for (int i = 0; i < 20; ++i) {
    CallRecord r = record("w" + std::to_string(i), false);
    worker.postBatchable([r](Database& database) { (void)database.beginCall(r); });
    CallRecord f = record("w" + std::to_string(i), true);
    worker.postBatchable([f](Database& database) { (void)database.finishCall(f); });
  }
  worker.runSync([](Database&) {});  // everything posted has run: written or kept
  EXPECT_EQ(worker.recordSpool().spooled_now, 40u);
  EXPECT_GE(worker.recordSpool().write_errors_total, 1u);
  locker->release();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (worker.recordSpool().spooled_now > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  RecordSpoolStats stats = worker.recordSpool();
  EXPECT_EQ(stats.spooled_now, 0u);
  EXPECT_EQ(stats.written_total, 40u);
  EXPECT_EQ(stats.dropped_total, 0u);
  std::int64_t completed = -1;
  worker.runSync([&](Database& database) {
    auto calls = database.listCalls(100, false);
    if (!calls) return;
    completed = 0;
    for (const CallRecord& call : *calls) completed += call.status == "completed" ? 1 : 0;
  });
  EXPECT_EQ(completed, 20);
}

// A call's open record: the caller resumes once it is committed, or at its deadline when the
// worker is held up (the job still runs).
TEST(RecordSpoolTest, RunBatchableResumesAfterTheCommitOrAtTheDeadline) {
  TempDir dir;
  DbWorker worker(openDb(dir));
  bool written = false;
  bool in_time = runAwaitable(worker.runBatchable(
      [&](Database& db) { written = db.beginCall(record("rb", false)).has_value(); },
      std::chrono::seconds(30)));
  EXPECT_TRUE(in_time);
  EXPECT_TRUE(written);
  DatabaseOptions read_only;
  read_only.read_only = true;
  auto reader = Database::open(dir.file("callflow.db"), read_only);
  ASSERT_TRUE(reader) << reader.error().message;
  EXPECT_EQ(statusOf(**reader, "rb"), "open");  // committed: another connection sees it

  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  worker.post([released](Database&) { released.wait(); });  // holds the worker up
  std::thread releaser([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    release.set_value();
  });
  bool late = runAwaitable(
      worker.runBatchable([](Database& db) { (void)db.beginCall(record("late", false)); },
                          std::chrono::milliseconds(20)));
  releaser.join();
  EXPECT_FALSE(late);
  worker.runSync([](Database&) {});
  EXPECT_EQ(statusOf(**reader, "late"), "open");  // it ran all the same
}

}  // namespace
}  // namespace callflow
