// DbWorker: the one thread that owns the writing connection to the database.
//
// Calls, the admin API and the CLI hand it jobs; it runs them in order, so SQLite's blocking
// I/O (fsync on commit, a busy wait on a lock) never runs on an event loop. `run` suspends the
// calling coroutine until its job has run, then resumes it on its own executor; `post` queues a
// job nobody waits for (call records: a call never waits for its record to be written). A job
// that throws is a bug: it is logged and the worker goes on.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "store/database.h"

namespace callflow {

class DbWorker {
 public:
  explicit DbWorker(std::unique_ptr<Database> database);
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
  static constexpr std::size_t kMaxBatch = 512;
  // Blocks the calling thread (not an event loop's) until job has run.
  void runSync(Job job);

  std::uint64_t jobsRun() const;  // jobs started so far (a job counts from when it starts)
  std::size_t queued() const;

 private:
  struct Entry {
    Job job;
    bool batchable = false;
  };
  void loop();
  void runOne(Job& job);
  void runBatch(std::vector<Job>& batch);

  std::unique_ptr<Database> database_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Entry> jobs_;
  bool stopping_ = false;
  std::uint64_t jobs_run_ = 0;
  std::thread thread_;
};

}  // namespace callflow
