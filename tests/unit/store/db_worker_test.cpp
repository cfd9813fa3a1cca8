// DbWorker (store/db_worker.h) and SqliteLeadStore (store/sqlite_lead_store.h) over a real
// database: where coroutines resume, job order, shutdown, and many callers at once.
#include "store/db_worker.h"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <future>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "store/sqlite_lead_store.h"
#include "unit/store/temp_dir.h"
#include "unit/support/run_awaitable.h"

namespace callflow {
namespace {

using test_support::runAwaitable;
using test_support::TempDir;

std::unique_ptr<Database> openDb(const TempDir& dir) {
  auto opened = Database::open(dir.file("callflow.db"));
  if (!opened) {
    ADD_FAILURE() << opened.error().message;
    return nullptr;
  }
  return std::move(*opened);
}

Lead leadWith(std::string phone, std::string reference = {}, std::string name = {}) {
  Lead lead;
  lead.field(LeadField::kPhoneNum) = std::move(phone);
  lead.field(LeadField::kReferenceId) = std::move(reference);
  lead.field(LeadField::kName) = std::move(name);
  return lead;
}

// Rethrows what escapes a spawned coroutine, so a failure is not lost.
void rethrow(std::exception_ptr error) {
  if (error) std::rethrow_exception(error);
}

TEST(DbWorkerTest, RunResumesOnTheCallersLoopThread) {
  TempDir dir;
  DbWorker worker(openDb(dir));
  boost::asio::io_context loop(1);
  std::thread::id before, job_thread, after;
  std::int64_t id = 0;
  boost::asio::co_spawn(
      loop,
      [&]() -> boost::asio::awaitable<void> {
        before = std::this_thread::get_id();
        co_await worker.run([&](Database& db) {
          job_thread = std::this_thread::get_id();
          id = *db.insertLead(leadWith("5550100"));
        });
        after = std::this_thread::get_id();
      },
      rethrow);
  std::thread loop_thread([&] { loop.run(); });  // returns once the coroutine has finished
  std::thread::id loop_id = loop_thread.get_id();
  loop_thread.join();
  EXPECT_EQ(before, loop_id);
  EXPECT_EQ(after, loop_id);
  EXPECT_NE(job_thread, loop_id);
  EXPECT_NE(job_thread, std::this_thread::get_id());
  EXPECT_NE(job_thread, std::thread::id());
  EXPECT_GT(id, 0);
}

TEST(DbWorkerTest, RunKeepsTheLoopAliveWhileTheJobRuns) {
  TempDir dir;
  DbWorker worker(openDb(dir));
  std::promise<void> gate;
  std::shared_future<void> opened = gate.get_future().share();
  bool resumed = false;
  std::thread releaser;
  runAwaitable([&]() -> boost::asio::awaitable<void> {
    // The job blocks until released from another thread; the loop must not run out of work.
    releaser = std::thread([&] { gate.set_value(); });
    co_await worker.run([&](Database&) { opened.wait(); });
    resumed = true;
  }());
  releaser.join();
  EXPECT_TRUE(resumed);
}

TEST(DbWorkerTest, PostedJobsRunInOrder) {
  TempDir dir;
  DbWorker worker(openDb(dir));
  std::vector<int> order;  // touched on the worker thread only
  for (int i = 0; i < 200; ++i) {
    worker.post([&order, i](Database&) { order.push_back(i); });
  }
  std::vector<int> seen;
  worker.runSync([&](Database&) { seen = order; });
  ASSERT_EQ(seen.size(), 200u);
  for (int i = 0; i < 200; ++i) EXPECT_EQ(seen[static_cast<std::size_t>(i)], i);
  EXPECT_GE(worker.jobsRun(), 200u);  // runSync's own job may not be counted yet
  EXPECT_EQ(worker.queued(), 0u);
}

TEST(DbWorkerTest, PostedWritesRunInOrder) {
  TempDir dir;
  DbWorker worker(openDb(dir));
  for (int i = 0; i < 20; ++i) {
    worker.post([i](Database& db) {
      (void)db.insertLead(leadWith(std::to_string(5550100 + i), "R" + std::to_string(i)));
    });
  }
  std::vector<Lead> leads;
  worker.runSync([&](Database& db) { leads = *db.listLeads(100, 0); });
  ASSERT_EQ(leads.size(), 20u);
  for (std::size_t i = 0; i < leads.size(); ++i) {
    EXPECT_EQ(leads[i].field(LeadField::kReferenceId), "R" + std::to_string(i));
  }
}

TEST(DbWorkerTest, DestructorRunsQueuedJobs) {
  TempDir dir;
  std::atomic<int> ran{0};
  {
    auto worker = std::make_unique<DbWorker>(openDb(dir));
    std::promise<void> started;
    std::promise<void> gate;
    std::shared_future<void> opened = gate.get_future().share();
    worker->post([&](Database&) {
      started.set_value();
      opened.wait();
    });
    started.get_future().wait();  // the first job holds the thread: the rest stay queued
    for (int i = 0; i < 30; ++i) {
      worker->post([&ran, i](Database& db) {
        // A write with synchronous=FULL: each one syncs the WAL.
        (void)db.insertLead(leadWith(std::to_string(5550100 + i)));
        ++ran;
      });
    }
    EXPECT_EQ(worker->queued(), 30u);
    EXPECT_EQ(ran.load(), 0);
    gate.set_value();
    worker.reset();  // must run all 30 before it returns
  }
  EXPECT_EQ(ran.load(), 30);
  auto db = openDb(dir);
  ASSERT_NE(db, nullptr);
  EXPECT_EQ(*db->countLeads(), 30);
}

TEST(DbWorkerTest, BatchableJobsShareACommitAndSurviveAFailingNeighbour) {
  TempDir dir;
  DbWorker worker(openDb(dir));
  std::promise<void> started;
  std::promise<void> gate;
  std::shared_future<void> opened = gate.get_future().share();
  worker.post([&](Database&) {
    started.set_value();
    opened.wait();
  });
  started.get_future().wait();  // the rest queue up behind it and run as one batch
  auto record = [](int i) {
    CallRecord r;
    r.uuid = "00000000-0000-4000-8000-" + std::to_string(100000000000 + i);
    r.started_ms = 1000 + i;
    r.status = "open";
    return r;
  };
  std::atomic<int> runs{0};
  for (int i = 0; i < 10; ++i) {
    worker.postBatchable([&, i](Database& db) {
      ++runs;
      if (i == 4) throw std::runtime_error("a bug in one job");
      ASSERT_TRUE(db.beginCall(record(i)).has_value());
    });
  }
  EXPECT_EQ(worker.queued(), 10u);
  gate.set_value();
  worker.runSync([](Database&) {});
  // The throw in job 4 rolled the batch back (jobs 0-4 had run), then each job ran on its own:
  // 5 + 10 runs, and every record but the failing job's is stored.
  EXPECT_EQ(runs.load(), 15);
  EXPECT_EQ(worker.jobsRun(), 12u);
  for (int i = 0; i < 10; ++i) {
    std::optional<CallRecord> stored;
    worker.runSync([&](Database& db) { stored = *db.callByUuid(record(i).uuid); });
    EXPECT_EQ(stored.has_value(), i != 4) << i;
  }
}

TEST(DbWorkerTest, DestructorWithNothingQueued) {
  TempDir dir;
  { DbWorker worker(openDb(dir)); }
  SUCCEED();
}

class SqliteLeadStoreTest : public ::testing::Test {
 protected:
  TempDir dir_;
  DbWorker worker_{openDb(dir_)};
  SqliteLeadStore store_{worker_, "flow seed"};
};

TEST_F(SqliteLeadStoreTest, CreateThenFindByPhoneAndReference) {
  Lead lead = leadWith("020 7946 0000", "ACC-1", "Ann");
  lead.custom[158] = "Gold";
  auto id = runAwaitable(store_.create(lead));
  ASSERT_TRUE(id.has_value()) << id.error().message;
  EXPECT_GT(*id, 0);

  for (const char* form : {"+44 20 7946 0000", "sip:+442079460000@pbx", "0044 20 7946 0000"}) {
    auto found = runAwaitable(store_.findByPhone(form));
    ASSERT_TRUE(found.has_value()) << form;
    ASSERT_TRUE(found->has_value()) << form;
    EXPECT_EQ((*found)->id, *id);
    EXPECT_EQ((*found)->field(LeadField::kName), "Ann");
    EXPECT_EQ((*found)->custom.at(158), "Gold");
  }
  auto by_reference = runAwaitable(store_.findByReference("ACC-1"));
  ASSERT_TRUE(by_reference.has_value() && by_reference->has_value());
  EXPECT_EQ((*by_reference)->id, *id);

  auto missing = runAwaitable(store_.findByPhone("+1 212 555 0100"));
  ASSERT_TRUE(missing.has_value());
  EXPECT_FALSE(missing->has_value());
  auto no_reference = runAwaitable(store_.findByReference("ACC-2"));
  ASSERT_TRUE(no_reference.has_value());
  EXPECT_FALSE(no_reference->has_value());
}

// Fails today: Asio awaitables are lazy, so findByPhone's body (and its copy of the string_view)
// runs only when the awaitable is first awaited, not when findByPhone is called, despite what
// sqlite_lead_store.cpp says. Safe only when awaited in the same expression (see the report).
TEST_F(SqliteLeadStoreTest, FindByPhoneCopiesItsArgumentWhenCalled) {
  ASSERT_TRUE(runAwaitable(store_.create(leadWith("5550100", "R1"))).has_value());
  auto found = runAwaitable([&]() -> boost::asio::awaitable<Result<std::optional<Lead>>> {
    std::string number = "5550100";
    auto pending = store_.findByPhone(number);  // lazy: runs after number is overwritten
    number = "0000000";
    co_return co_await std::move(pending);
  }());
  ASSERT_TRUE(found.has_value());
  EXPECT_TRUE(found->has_value());
}

TEST_F(SqliteLeadStoreTest, AddToDncRecordsTheSource) {
  auto added = runAwaitable(store_.addToDnc("020 7946 0000"));
  ASSERT_TRUE(added.has_value()) << added.error().message;
  auto again = runAwaitable(store_.addToDnc("+44 20 7946 0000"));
  ASSERT_TRUE(again.has_value());
  auto bad = runAwaitable(store_.addToDnc("anonymous"));
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);

  std::vector<DncEntry> entries;
  bool dnc = false;
  worker_.runSync([&](Database& db) {
    entries = *db.listDnc(10);
    dnc = *db.isDnc("0044 20 7946 0000");
  });
  EXPECT_TRUE(dnc);
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].source, "flow seed");
  EXPECT_EQ(entries[0].number, "020 7946 0000");
}

TEST_F(SqliteLeadStoreTest, SetFieldWritesAndReKeys) {
  auto id = runAwaitable(store_.create(leadWith("5550100", "R1", "Ann")));
  ASSERT_TRUE(id.has_value());
  auto set = runAwaitable(store_.setField(*id, LeadField::kName, "Annabel"));
  ASSERT_TRUE(set.has_value());
  EXPECT_TRUE(*set);
  auto phone = runAwaitable(store_.setField(*id, LeadField::kPhoneNum, "020 7946 0000"));
  ASSERT_TRUE(phone.has_value());
  EXPECT_TRUE(*phone);
  auto found = runAwaitable(store_.findByPhone("+442079460000"));
  ASSERT_TRUE(found.has_value() && found->has_value());
  EXPECT_EQ((*found)->id, *id);
  EXPECT_EQ((*found)->field(LeadField::kName), "Annabel");
  EXPECT_FALSE(runAwaitable(store_.findByPhone("5550100"))->has_value());

  auto missing = runAwaitable(store_.setField(*id + 1, LeadField::kName, "x"));
  ASSERT_TRUE(missing.has_value());
  EXPECT_FALSE(*missing);
}

TEST_F(SqliteLeadStoreTest, ManyConcurrentLookupsAllComplete) {
  constexpr int kCallers = 200;
  std::vector<std::int64_t> ids(kCallers);
  worker_.runSync([&](Database& db) {
    for (int i = 0; i < kCallers; ++i) {
      ids[static_cast<std::size_t>(i)] = *db.insertLead(
          leadWith("+44 7700 9" + std::to_string(10000 + i), "R" + std::to_string(i)));
    }
  });

  // Two loop threads, as a server with two call workers would have.
  boost::asio::io_context loop(2);
  std::atomic<int> done{0};
  std::atomic<int> right{0};
  for (int i = 0; i < kCallers; ++i) {
    boost::asio::co_spawn(
        loop,
        [&, i]() -> boost::asio::awaitable<void> {
          // A national form of the number the lead was stored with.
          auto found = co_await store_.findByPhone("07700 9" + std::to_string(10000 + i));
          if (found && *found && (*found)->id == ids[static_cast<std::size_t>(i)]) ++right;
          ++done;
        },
        rethrow);
  }
  std::thread second([&] { loop.run(); });
  loop.run();
  second.join();
  EXPECT_EQ(done.load(), kCallers);
  EXPECT_EQ(right.load(), kCallers);
  EXPECT_GE(worker_.jobsRun(), static_cast<std::uint64_t>(kCallers + 1));
}

}  // namespace
}  // namespace callflow
