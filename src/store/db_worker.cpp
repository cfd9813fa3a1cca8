#include "store/db_worker.h"

#include <boost/asio/async_result.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstdio>
#include <exception>
#include <future>

namespace callflow {

DbWorker::DbWorker(std::unique_ptr<Database> database)
    : database_(std::move(database)), thread_([this] { loop(); }) {}

DbWorker::~DbWorker() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  thread_.join();
}

void DbWorker::loop() {
  std::unique_lock lock(mutex_);
  std::vector<Job> batch;
  for (;;) {
    wake_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
    if (jobs_.empty()) return;  // stopping, and everything queued has run
    batch.clear();
    if (jobs_.front().batchable) {
      while (!jobs_.empty() && jobs_.front().batchable && batch.size() < kMaxBatch) {
        batch.push_back(std::move(jobs_.front().job));
        jobs_.pop_front();
      }
    } else {
      batch.push_back(std::move(jobs_.front().job));
      jobs_.pop_front();
    }
    bool shared = batch.size() > 1;
    // Counted as they start: a caller woken by its job (runSync) finds it counted.
    jobs_run_ += batch.size();
    lock.unlock();
    if (shared) {
      runBatch(batch);
    } else {
      runOne(batch.front());
    }
    batch.clear();  // a job's captures (a caller's tracked executor) go now, not at the next job
    lock.lock();
  }
}

void DbWorker::runOne(Job& job) {
  try {
    job(*database_);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "callflow: a database job failed: %s\n", e.what());
  }
}

void DbWorker::runBatch(std::vector<Job>& batch) {
  bool committed = false;
  try {
    auto done = database_->transaction([&]() -> Result<void> {
      for (Job& job : batch) job(*database_);
      return {};
    });
    committed = done.has_value();
    if (!done) {
      std::fprintf(stderr,
                   "callflow: a batch of %zu database jobs was not committed (%s); "
                   "running them one by one\n",
                   batch.size(), done.error().message.c_str());
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr,
                 "callflow: a batch of %zu database jobs failed (%s); running them one "
                 "by one\n",
                 batch.size(), e.what());
  }
  if (!committed) {
    for (Job& job : batch) runOne(job);
  }
}

void DbWorker::post(Job job) {
  {
    std::lock_guard lock(mutex_);
    jobs_.push_back(Entry{std::move(job), false});
  }
  wake_.notify_one();
}

void DbWorker::postBatchable(Job job) {
  {
    std::lock_guard lock(mutex_);
    jobs_.push_back(Entry{std::move(job), true});
  }
  wake_.notify_one();
}

void DbWorker::runSync(Job job) {
  std::promise<void> done;
  post([&](Database& database) {
    struct Resume {  // also when job throws
      std::promise<void>& done;
      ~Resume() { done.set_value(); }
    } resume{done};
    job(database);
  });
  done.get_future().wait();
}

boost::asio::awaitable<void> DbWorker::run(Job job) {
  auto executor = co_await boost::asio::this_coro::executor;
  // Named, not a temporary inside the co_await expression: GCC 12 destroys such a temporary
  // twice, and this one holds a copy of the executor (a strand's reference count went one too
  // low on every call).
  auto initiation = [this, &job, executor](auto handler) {
    // The handler is move-only and Job must be copyable: share it. The tracked executor keeps
    // the caller's loop from running out of work meanwhile.
    auto shared = std::make_shared<decltype(handler)>(std::move(handler));
    auto tracked = boost::asio::prefer(executor, boost::asio::execution::outstanding_work.tracked);
    post([&job, shared, tracked](Database& database) {
      struct Resume {  // also when job throws
        const decltype(shared)& handler;
        const decltype(tracked)& executor;
        ~Resume() {
          boost::asio::post(executor, [handler = handler] { (*handler)(); });
        }
      } resume{shared, tracked};
      job(database);
    });
  };
  co_await boost::asio::async_initiate<const boost::asio::use_awaitable_t<>, void()>(
      std::move(initiation), boost::asio::use_awaitable);
}

std::uint64_t DbWorker::jobsRun() const {
  std::lock_guard lock(mutex_);
  return jobs_run_;
}

std::size_t DbWorker::queued() const {
  std::lock_guard lock(mutex_);
  return jobs_.size();
}

}  // namespace callflow
