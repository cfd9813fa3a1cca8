// DbWorker: the one thread that owns the writing connection to the database.
//
// Calls, the admin API and the CLI hand it jobs; it runs them in order, so SQLite's blocking
// I/O (fsync on commit, a busy wait on a lock) never runs on an event loop. `run` suspends the
// calling coroutine until its job has run, then resumes it on its own executor; `post` queues a
// job nobody waits for (a call's final record: a call never waits for it). A job that throws is
// a bug: it is logged and the worker goes on.
//
// The worker owns the call-record spool (store/record_spool.h) and attaches it to its writing
// connection: a record the file cannot take now waits there, and the worker retries it with
// back-off between jobs. At the end the worker tries once more; what is still waiting is lost,
// counted and logged.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "store/database.h"
#include "store/record_spool.h"

namespace callflow {

class DbWorker {
 public:
  explicit DbWorker(std::unique_ptr<Database> database, RecordSpoolOptions spool = {});
  ~DbWorker();  // runs the jobs already queued, then stops
  DbWorker(const DbWorker&) = delete;
  DbWorker& operator=(const DbWorker&) = delete;

  using Job = std::function<void(Database&)>;
  // Runs job on the database thread; the caller resumes once it has run. The job may capture
  // the caller's locals by reference: the caller's frame outlives it.
  boost::asio::awaitable<void> run(Job job);
  // Queues job; returns at once.
  void post(Job job);
  // Queues a job nobody waits for that may share one transaction (one commit, one fsync) with
  // the batchable jobs queued next to it, up to kMaxBatch: call records, two per call. When a
  // shared commit fails, each job of the batch runs again in a transaction of its own, so a
  // batchable job must be idempotent (a record is an upsert by its UUID).
  void postBatchable(Job job);
  // The same, but the caller resumes once the job's batch has been committed (or has failed:
  // a record the file refused is in the spool by then), or after `wait` at most, whichever comes
  // first; the job runs either way. True when it ran in time. A call's open record: a call is
  // not answered before its record is on disk, and a database that hangs holds it for `wait`
  // only. The caller's executor must run on one thread (a call's loop). Pass a named Job (it is
  // copied before the first suspension): GCC 12 destroys a temporary in a co_await expression
  // twice.
  boost::asio::awaitable<bool> runBatchable(const Job& job, std::chrono::milliseconds wait);
  static constexpr std::size_t kMaxBatch = 512;
  // Blocks the calling thread (not an event loop's) until job has run.
  void runSync(Job job);

  std::uint64_t jobsRun() const;  // jobs started so far (a job counts from when it starts)
  std::size_t queued() const;
  // The call-record spool's counters, from any thread (for /metrics and /healthz).
  RecordSpoolStats recordSpool() const { return spool_.stats(); }

 private:
  using Done = std::function<void()>;  // called on the worker thread once a job has run
  struct Entry {
    Job job;
    bool batchable = false;
    Done done;  // batchable jobs only: after the batch's commit
  };
  void enqueue(Entry entry);
  void loop();
  void runOne(Job& job);
  void runBatch(std::vector<Job>& batch);

  std::unique_ptr<Database> database_;
  RecordSpool spool_;  // the worker thread's alone but for its counters
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Entry> jobs_;
  bool stopping_ = false;
  std::uint64_t jobs_run_ = 0;
  std::thread thread_;
};

}  // namespace callflow
