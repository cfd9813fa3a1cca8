// The call-record spool (store/record_spool.h).
#include "store/record_spool.h"

#include <algorithm>
#include <cstdio>

#include "store/database.h"

namespace callflow {
namespace {

std::size_t recordBytes(const CallRecord& record) {
  std::size_t bytes = sizeof(CallRecord) + record.uuid.size() + record.status.size() +
                      record.from.size() + record.to.size() + record.flow.size() +
                      record.result_code.size() + record.hung_up_by.size() +
                      record.trace_json.size();
  for (const std::string& name : record.path) bytes += sizeof(std::string) + name.size();
  return bytes;
}

}  // namespace

RecordSpool::RecordSpool(RecordSpoolOptions options) : options_(options) {}

std::string RecordSpool::key(const CallRecord& record, bool begin) {
  return (begin ? "b:" : "e:") + record.uuid;
}

void RecordSpool::outage(const std::string& why) {
  if (holding()) return;
  std::fprintf(stderr,
               "callflow: call records: the database cannot take them (%s); keeping them in "
               "memory (at most %zu) and retrying\n",
               why.c_str(), options_.max_records);
  holding_ = true;
  backoff_ = options_.first_retry;
  next_retry_ = std::chrono::steady_clock::now() + backoff_;
  dropped_this_outage_ = 0;
}

void RecordSpool::holdWrites() {
  write_errors_total_.fetch_add(1, std::memory_order_relaxed);
  outage("a batch of records was refused");
}

Result<void> RecordSpool::write(Database& db, const CallRecord& record, bool begin) {
  if (!holding()) {
    Result<void> written = db.writeCallRecord(record, begin);
    if (written) return written;
    write_errors_total_.fetch_add(1, std::memory_order_relaxed);
    if (written.error().code != ErrorCode::kUnavailable) {
      drop(record, written.error().message);
      return written.error();
    }
    outage(written.error().message);
  }
  // Something waits already: queue behind it, so the file is not tried once per record.
  if (!keep(record, begin)) {
    std::string why = "the call-record spool is full (" + std::to_string(entries_.size()) +
                      " records, " + std::to_string(bytes_ / 1024) + " KiB)";
    drop(record, why);
    return fail(ErrorCode::kUnavailable, "the database is unavailable and " + why);
  }
  return {};
}

bool RecordSpool::keep(const CallRecord& record, bool begin) {
  std::size_t bytes = recordBytes(record);
  std::string entry_key = key(record, begin);
  if (auto found = by_key_.find(entry_key); found != by_key_.end()) {
    Entry& entry = *found->second;  // the same record again (a retried batch): keep the newest
    bytes_ = bytes_ - entry.bytes + bytes;
    entry.record = record;
    entry.bytes = bytes;
    now_bytes_.store(bytes_, std::memory_order_relaxed);
    return true;
  }
  if (entries_.size() >= options_.max_records || bytes_ + bytes > options_.max_bytes) {
    return false;
  }
  entries_.push_back(Entry{record, begin, bytes});
  by_key_.emplace(std::move(entry_key), std::prev(entries_.end()));
  bytes_ += bytes;
  spooled_total_.fetch_add(1, std::memory_order_relaxed);
  now_.store(entries_.size(), std::memory_order_relaxed);
  now_bytes_.store(bytes_, std::memory_order_relaxed);
  return true;
}

void RecordSpool::drop(const CallRecord& record, const std::string& why) {
  dropped_total_.fetch_add(1, std::memory_order_relaxed);
  ++dropped_this_outage_;
  // The first loss of an outage, then one line per thousand: counted always, logged without
  // flooding the log.
  if (dropped_this_outage_ == 1 || dropped_this_outage_ % 1000 == 0) {
    std::fprintf(stderr,
                 "callflow: call records: call %s: the record is lost: %s (%llu lost so far)\n",
                 record.uuid.c_str(), why.c_str(),
                 static_cast<unsigned long long>(dropped_total_.load(std::memory_order_relaxed)));
  }
}

void RecordSpool::pop(std::size_t count) {
  for (std::size_t i = 0; i < count && !entries_.empty(); ++i) {
    Entry& entry = entries_.front();
    bytes_ -= entry.bytes;
    by_key_.erase(key(entry.record, entry.begin));
    entries_.pop_front();
  }
  now_.store(entries_.size(), std::memory_order_relaxed);
  now_bytes_.store(bytes_, std::memory_order_relaxed);
}

std::optional<std::chrono::steady_clock::time_point> RecordSpool::nextRetry() const {
  if (!holding()) return std::nullopt;
  return next_retry_;
}

void RecordSpool::retry(Database& db) {
  if (entries_.empty()) {
    holding_ = false;  // nothing waited: the next record tries the file itself
    return;
  }
  int busy_timeout = db.options().busy_timeout_ms;
  db.setBusyTimeout(options_.retry_busy_timeout_ms);
  std::uint64_t written = 0;
  while (!entries_.empty()) {
    std::size_t count = std::min(kRetryBatch, entries_.size());
    auto done = db.transaction([&]() -> Result<void> {
      auto entry = entries_.begin();
      for (std::size_t i = 0; i < count; ++i, ++entry) {
        if (auto stored = db.writeCallRecord(entry->record, entry->begin); !stored) return stored;
      }
      return {};
    });
    if (done) {
      pop(count);
      written += count;
      continue;
    }
    write_errors_total_.fetch_add(1, std::memory_order_relaxed);
    if (done.error().code == ErrorCode::kUnavailable) break;
    // A failure that will not pass: find the record behind it, write what comes before it.
    Entry& first = entries_.front();
    auto single = db.writeCallRecord(first.record, first.begin);
    if (single) {
      pop(1);
      ++written;
      continue;
    }
    if (single.error().code == ErrorCode::kUnavailable) break;
    drop(first.record, single.error().message);
    pop(1);
  }
  db.setBusyTimeout(busy_timeout);
  written_total_.fetch_add(written, std::memory_order_relaxed);
  if (entries_.empty()) {
    holding_ = false;
    std::fprintf(stderr,
                 "callflow: call records: the database takes them again; %llu spooled record(s) "
                 "written, %llu lost while it could not\n",
                 static_cast<unsigned long long>(written),
                 static_cast<unsigned long long>(dropped_this_outage_));
    backoff_ = std::chrono::milliseconds(0);
    dropped_this_outage_ = 0;
    return;
  }
  backoff_ = std::min(options_.max_retry, std::max(options_.first_retry, backoff_ * 2));
  next_retry_ = std::chrono::steady_clock::now() + backoff_;
}

void RecordSpool::finish(Database& db) {
  retry(db);
  if (entries_.empty()) return;
  std::size_t lost = entries_.size();
  std::fprintf(stderr,
               "callflow: call records: %zu record(s) could not be written before the database "
               "closed and are lost (the first: call %s)\n",
               lost, entries_.front().record.uuid.c_str());
  dropped_total_.fetch_add(lost, std::memory_order_relaxed);
  pop(lost);
}

RecordSpoolStats RecordSpool::stats() const {
  RecordSpoolStats stats;
  stats.spooled_now = now_.load(std::memory_order_relaxed);
  stats.spooled_bytes = now_bytes_.load(std::memory_order_relaxed);
  stats.spooled_total = spooled_total_.load(std::memory_order_relaxed);
  stats.written_total = written_total_.load(std::memory_order_relaxed);
  stats.dropped_total = dropped_total_.load(std::memory_order_relaxed);
  stats.write_errors_total = write_errors_total_.load(std::memory_order_relaxed);
  stats.max_records = options_.max_records;
  return stats;
}

}  // namespace callflow
