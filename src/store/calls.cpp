// Call records (store/database.h): written at a call's start and again at its end, by UUID.
#include <SQLiteCpp/SQLiteCpp.h>

#include <boost/json.hpp>
#include <limits>

#include "store/database.h"
#include "store/record_spool.h"
#include "store/sqlite_guard.h"

namespace callflow {
namespace {

std::string pathJson(const std::vector<std::string>& path) {
  boost::json::array names;
  for (const std::string& name : path) names.emplace_back(name);
  return boost::json::serialize(names);
}

std::vector<std::string> pathFromJson(const std::string& text) {
  std::vector<std::string> path;
  boost::system::error_code ec;
  boost::json::value value = boost::json::parse(text, ec);
  if (ec || !value.is_array()) return path;
  for (const auto& name : value.get_array()) {
    if (name.is_string()) path.emplace_back(name.get_string());
  }
  return path;
}

void bindRecord(SQLite::Statement& statement, const CallRecord& record) {
  statement.bind(1, record.uuid);
  statement.bind(2, static_cast<std::int64_t>(record.started_ms));
  statement.bind(3, static_cast<std::int64_t>(record.ended_ms));
  statement.bind(4, record.status);
  statement.bind(5, record.from);
  statement.bind(6, record.to);
  statement.bind(7, record.flow);
  statement.bind(8, record.flow_version);
  statement.bind(9, record.result_code);
  statement.bind(10, record.hung_up_by);
  statement.bind(11, pathJson(record.path));
  statement.bind(12, record.trace_json);
}

CallRecord readRecord(SQLite::Statement& row, bool with_trace) {
  CallRecord record;
  record.uuid = row.getColumn(0).getString();
  record.started_ms = row.getColumn(1).getInt64();
  record.ended_ms = row.getColumn(2).getInt64();
  record.status = row.getColumn(3).getString();
  record.from = row.getColumn(4).getString();
  record.to = row.getColumn(5).getString();
  record.flow = row.getColumn(6).getString();
  record.flow_version = row.getColumn(7).getInt();
  record.result_code = row.getColumn(8).getString();
  record.hung_up_by = row.getColumn(9).getString();
  record.path = pathFromJson(row.getColumn(10).getString());
  if (with_trace) record.trace_json = row.getColumn(11).getString();
  return record;
}

#define CALLFLOW_CALL_COLUMNS                                                           \
  "uuid, started_ms, ended_ms, status, caller, dnis, flow, flow_version, result_code, " \
  "hung_up_by, path, trace"

}  // namespace

Result<void> Database::beginCall(const CallRecord& record) {
  if (spool_ != nullptr) return spool_->write(*this, record, true);
  return writeCallRecord(record, true);
}

Result<void> Database::finishCall(const CallRecord& record) {
  if (spool_ != nullptr) return spool_->write(*this, record, false);
  return writeCallRecord(record, false);
}

Result<void> Database::writeCallRecord(const CallRecord& record, bool begin) {
  return sqliteGuard("writing a call record", [&] {
    if (begin) {
      // A record that already exists (a retry, or a finish that overtook the start) is kept.
      auto insert =
          statement("INSERT INTO calls (" CALLFLOW_CALL_COLUMNS
                    ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (uuid) DO NOTHING");
      bindRecord(*insert, record);
      insert->exec();
      return;
    }
    auto upsert = statement(
        "INSERT INTO calls (" CALLFLOW_CALL_COLUMNS
        ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (uuid) DO UPDATE SET "
        "ended_ms = excluded.ended_ms, status = excluded.status, caller = excluded.caller, "
        "dnis = excluded.dnis, flow = excluded.flow, flow_version = excluded.flow_version, "
        "result_code = excluded.result_code, hung_up_by = excluded.hung_up_by, "
        "path = excluded.path, trace = excluded.trace");
    bindRecord(*upsert, record);
    upsert->exec();
  });
}

Result<std::vector<CallRecord>> Database::listCalls(int limit, bool with_trace,
                                                    const CallFilter& filter) {
  return sqliteGuard("listing call records", [&] {
    // One statement for every combination: a filter not given is bound as NULL (or, for the
    // start times, as the widest range, so the calls_by_start index still bounds the scan).
    auto query = statement(
        "SELECT " CALLFLOW_CALL_COLUMNS
        " FROM calls WHERE started_ms >= ?1 AND started_ms <= ?2 AND (?3 IS NULL OR "
        "instr(callflow_digits(caller), ?3) > 0 OR instr(callflow_digits(dnis), ?3) > 0) AND "
        "(?4 IS NULL OR flow = ?4) AND (?5 IS NULL OR result_code = ?5) "
        "ORDER BY started_ms DESC, uuid DESC LIMIT ?6");
    query->bind(1, filter.since_ms.value_or(std::numeric_limits<std::int64_t>::min()));
    query->bind(2, filter.until_ms.value_or(std::numeric_limits<std::int64_t>::max()));
    if (!filter.phone_digits.empty()) query->bind(3, filter.phone_digits);
    if (filter.flow) query->bind(4, *filter.flow);
    if (filter.result_code) query->bind(5, *filter.result_code);
    query->bind(6, limit);
    std::vector<CallRecord> records;
    while (query->executeStep()) records.push_back(readRecord(*query, with_trace));
    return records;
  });
}

Result<std::optional<CallRecord>> Database::callByUuid(std::string_view uuid) {
  return sqliteGuard("reading a call record", [&] {
    auto query = statement("SELECT " CALLFLOW_CALL_COLUMNS " FROM calls WHERE uuid = ?");
    query->bind(1, std::string(uuid));
    if (!query->executeStep()) return std::optional<CallRecord>();
    return std::optional<CallRecord>(readRecord(*query, true));
  });
}

Result<int> Database::closeInterruptedCalls() {
  return sqliteGuard("closing interrupted call records", [&] {
    auto close =
        statement("UPDATE calls SET status = 'interrupted', ended_ms = ? WHERE status = 'open'");
    close->bind(1, nowMs());
    return close->exec();
  });
}

#undef CALLFLOW_CALL_COLUMNS

}  // namespace callflow
