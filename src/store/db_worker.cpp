#include "store/db_worker.h"

#include <boost/asio/async_result.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <cstdio>
#include <exception>
#include <future>

namespace callflow {

DbWorker::DbWorker(std::unique_ptr<Database> database, RecordSpoolOptions spool)
    : database_(std::move(database)), spool_(spool) {
  if (!database_->options().read_only) database_->attachRecordSpool(&spool_);
  thread_ = std::thread([this] { loop(); });
}

DbWorker::~DbWorker() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  thread_.join();
  database_->attachRecordSpool(nullptr);
}

void DbWorker::loop() {
  std::unique_lock lock(mutex_);
  std::vector<Job> batch;
  std::vector<Done> done;
  auto woken = [this] { return stopping_ || !jobs_.empty(); };
  for (;;) {
    // The spool is this thread's: reading when its retry is due needs no lock.
    if (auto due = spool_.nextRetry()) {
      wake_.wait_until(lock, *due, woken);
    } else {
      wake_.wait(lock, woken);
    }
    if (jobs_.empty()) {
      if (stopping_) break;  // everything queued has run
      lock.unlock();         // the spool's retry is due
      spool_.retry(*database_);
      lock.lock();
      continue;
    }
    batch.clear();
    done.clear();
    if (jobs_.front().batchable) {
      while (!jobs_.empty() && jobs_.front().batchable && batch.size() < kMaxBatch) {
        batch.push_back(std::move(jobs_.front().job));
        if (jobs_.front().done) done.push_back(std::move(jobs_.front().done));
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
    for (Done& resume : done) resume();
    done.clear();
    batch.clear();  // a job's captures (a caller's tracked executor) go now, not at the next job
    if (auto due = spool_.nextRetry(); due && *due <= std::chrono::steady_clock::now()) {
      spool_.retry(*database_);  // between jobs, so a stream of jobs does not starve it
    }
    lock.lock();
  }
  lock.unlock();
  spool_.finish(*database_);
}

void DbWorker::runOne(Job& job) {
  try {
    job(*database_);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "callflow: a database job failed: %s\n", e.what());
  }
}

void DbWorker::runBatch(std::vector<Job>& batch) {
  if (spool_.holding()) {
    // Records wait for the file already: these queue behind them without trying it (a locked
    // file would cost a busy_timeout per batch).
    for (Job& job : batch) runOne(job);
    return;
  }
  bool committed = false;
  bool unavailable = false;
  try {
    auto done = database_->transaction([&]() -> Result<void> {
      for (Job& job : batch) job(*database_);
      return {};
    });
    committed = done.has_value();
    if (!done) {
      unavailable = done.error().code == ErrorCode::kUnavailable;
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
    // The file refused the batch as a whole (busy past busy_timeout, full, I/O): its records go
    // to the spool without each trying the file again.
    if (unavailable) spool_.holdWrites();
    for (Job& job : batch) runOne(job);
  }
}

void DbWorker::enqueue(Entry entry) {
  {
    std::lock_guard lock(mutex_);
    jobs_.push_back(std::move(entry));
  }
  wake_.notify_one();
}

void DbWorker::post(Job job) { enqueue(Entry{std::move(job), false, {}}); }

void DbWorker::postBatchable(Job job) { enqueue(Entry{std::move(job), true, {}}); }

boost::asio::awaitable<bool> DbWorker::runBatchable(const Job& job,
                                                    std::chrono::milliseconds wait) {
  auto executor = co_await boost::asio::this_coro::executor;
  // The timer is the caller's wake-up: it expires after `wait`, or at once when the worker
  // says the batch is done (posted to the caller's executor, which alone touches the timer).
  struct State {
    explicit State(const decltype(executor)& executor) : timer(executor) {}
    boost::asio::steady_timer timer;
    bool done = false;
  };
  // Only this coroutine owns the state: the worker holds a weak reference, so the timer is
  // never destroyed on the worker's thread, where the caller's loop may already be gone once
  // the tracked executor is released (the caller gave up waiting: its coroutine ended).
  auto state = std::make_shared<State>(executor);
  state->timer.expires_after(wait);
  auto tracked = boost::asio::prefer(executor, boost::asio::execution::outstanding_work.tracked);
  enqueue(Entry{job, true, [weak = std::weak_ptr<State>(state), tracked] {
                  boost::asio::post(tracked, [weak] {
                    if (auto waiting = weak.lock()) {
                      waiting->done = true;
                      waiting->timer.expires_at(boost::asio::steady_timer::time_point::min());
                    }
                  });
                }});
  boost::system::error_code ignored;
  co_await state->timer.async_wait(
      boost::asio::redirect_error(boost::asio::use_awaitable, ignored));
  co_return state->done;
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
