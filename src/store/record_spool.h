// RecordSpool: call records the database could not take yet, kept in memory and written later.
//
// A record write that fails for a reason that may pass (the file is busy past busy_timeout, full,
// read-only, or failing I/O: ErrorCode::kUnavailable) is kept here instead of being lost, and the
// DbWorker retries the oldest ones with back-off, from its own thread, never a call's loop. While
// anything waits, new records queue behind it: a record's start is never written after its end,
// and a busy file costs one busy_timeout, not one per record. The spool is bounded (records and
// bytes); a record that does not fit is dropped, counted and logged, never silently. It is
// idempotent by (UUID, start or end): a record spooled twice is kept once, and writing one twice
// leaves one row (Database's writes are upserts by UUID).
//
// Owned by the DbWorker and used on its thread only, except stats(), which any thread may read
// (/metrics, /healthz).
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <list>
#include <optional>
#include <string>
#include <unordered_map>

#include "callflow/call_record.h"
#include "callflow/result.h"

namespace callflow {

class Database;

struct RecordSpoolOptions {
  std::size_t max_records = 10000;
  std::size_t max_bytes = 64u << 20;  // the texts of the records kept (their traces, mostly)
  std::chrono::milliseconds first_retry{100};
  std::chrono::milliseconds max_retry{5000};
  // A retry waits at most this long for a lock (the connection's busy_timeout is set to it for
  // the retry), so a locked file does not hold the worker's other jobs for a whole busy_timeout.
  int retry_busy_timeout_ms = 200;
};

// What the spool has done so far; counters only grow, except spooled_now and spooled_bytes.
struct RecordSpoolStats {
  std::size_t spooled_now = 0;           // records waiting
  std::size_t spooled_bytes = 0;         // their size, roughly
  std::uint64_t spooled_total = 0;       // records that entered the spool
  std::uint64_t written_total = 0;       // of those, written to the database since
  std::uint64_t dropped_total = 0;       // records lost: the spool was full, or a permanent error
  std::uint64_t write_errors_total = 0;  // record writes (or retries) the database refused
  std::size_t max_records = 0;
};

class RecordSpool {
 public:
  explicit RecordSpool(RecordSpoolOptions options = {});
  RecordSpool(const RecordSpool&) = delete;
  RecordSpool& operator=(const RecordSpool&) = delete;

  // Writes a record (begin: the open record of a call that starts; else its final record), or
  // keeps it when the database cannot take it now. Success means written or kept; an error, that
  // the record is lost (the spool is full, or the failure will not pass), already counted and
  // logged here.
  Result<void> write(Database& db, const CallRecord& record, bool begin);

  // When the next retry is due; nothing when nothing waits and the file took the last write.
  std::optional<std::chrono::steady_clock::time_point> nextRetry() const;
  // Writes what waits, oldest first, in batches of one transaction each, until the spool is
  // empty or the database fails again (then the next retry backs off). Call when due.
  void retry(Database& db);
  // A last try (the worker stops); whatever is still waiting is dropped, counted and logged.
  void finish(Database& db);

  // The file refused a batch of records as a whole: keep records without trying it until a
  // retry gets through.
  void holdWrites();
  // Records wait, or the file is known to refuse them: new ones queue without trying it.
  bool holding() const { return holding_ || !entries_.empty(); }

  RecordSpoolStats stats() const;  // any thread

  static constexpr std::size_t kRetryBatch = 512;

 private:
  struct Entry {
    CallRecord record;
    bool begin = false;
    std::size_t bytes = 0;
  };
  // Keeps an entry (replacing a waiting one with the same key); false when it does not fit.
  bool keep(const CallRecord& record, bool begin);
  void drop(const CallRecord& record, const std::string& why);
  void pop(std::size_t count);
  void outage(const std::string& why);  // the first failure: logged, retries scheduled
  static std::string key(const CallRecord& record, bool begin);

  RecordSpoolOptions options_;
  std::list<Entry> entries_;
  std::unordered_map<std::string, std::list<Entry>::iterator> by_key_;
  std::size_t bytes_ = 0;
  std::chrono::milliseconds backoff_{0};
  std::chrono::steady_clock::time_point next_retry_{};
  std::uint64_t dropped_this_outage_ = 0;
  bool holding_ = false;  // set by a refused write or batch, cleared by a retry that got through

  std::atomic<std::size_t> now_{0};
  std::atomic<std::size_t> now_bytes_{0};
  std::atomic<std::uint64_t> spooled_total_{0};
  std::atomic<std::uint64_t> written_total_{0};
  std::atomic<std::uint64_t> dropped_total_{0};
  std::atomic<std::uint64_t> write_errors_total_{0};
};

}  // namespace callflow
