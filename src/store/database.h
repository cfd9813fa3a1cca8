// Database: Callflow's SQLite file (leads, DNC, call records, users, flows), one connection.
//
// The file is opened in WAL mode with synchronous=FULL, foreign keys on and a busy timeout; the
// schema is migrated to the current version at open (PRAGMA user_version; a file made by a newer
// Callflow is refused). Every statement is prepared once with bound parameters: no SQL is built
// from values.
//
// One connection writes (SQLite 3.40.1 has the WAL-reset race between two writing connections):
// the writer is owned by the DbWorker thread (store/db_worker.h); other threads may open their own
// read-only connections (`DatabaseOptions::read_only`). A Database is used by one thread at a time.
// Methods are synchronous; callers on an event loop reach them through the DbWorker.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "callflow/call_record.h"
#include "callflow/lead_store.h"
#include "callflow/result.h"

namespace SQLite {
class Database;
class Statement;
}  // namespace SQLite

namespace callflow {

class RecordSpool;

struct DatabaseOptions {
  std::string default_country = "44";  // for national numbers (see store/phone.h)
  bool read_only = false;
  int busy_timeout_ms = 5000;
};

struct User {
  std::int64_t id = 0;
  std::string name;
  std::string role;  // api, admin, supervisor, agent
};
bool isRole(std::string_view role);

struct DncEntry {
  std::string number;  // as given
  std::string key;     // the matching key (store/phone.h)
  std::int64_t added_ms = 0;
  std::string source;  // "flow NAME", "api", "import"
};

// One saved version of a flow. A draft may have errors and is never deployed: the live version
// of a flow is its newest version that is not a draft.
struct FlowVersion {
  std::string name;
  int version = 0;
  std::string body;  // FLOW_FORMAT JSON as saved
  std::string saved_by;
  std::int64_t saved_ms = 0;
  bool draft = false;
  int live_version = 0;  // the flow's newest non-draft version, 0 if none (flow(), listFlows())
};

// Which call records listCalls returns; every filter given must match (AND).
struct CallFilter {
  std::string phone_digits;  // the caller's or the dialled number, digits only, contains these
  std::optional<std::string> flow;         // exactly this flow name
  std::optional<std::string> result_code;  // exactly this result code
  std::optional<std::int64_t> since_ms;    // started at or after (Unix ms)
  std::optional<std::int64_t> until_ms;    // started at or before (Unix ms)
};

class Database {
 public:
  static constexpr int kSchemaVersion = 3;

  // Opens (and creates, unless read-only) the file at path; a clear error otherwise.
  static Result<std::unique_ptr<Database>> open(const std::string& path,
                                                DatabaseOptions options = {});
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  const std::string& path() const { return path_; }
  const DatabaseOptions& options() const { return options_; }
  // "journal_mode=wal synchronous=FULL foreign_keys=on busy_timeout=5000 schema=1 sqlite=3.40.1
  // quick_check=ok", read back from the connection (RELIABILITY.md D11), for the start-up log.
  // quick_check is SQLite's quick integrity check of the whole file (RELIABILITY.md D6): "ok",
  // or its first problems on one line.
  Result<std::string> settingsReport();
  Result<std::string> integrityCheck();  // "ok" or SQLite's list of problems
  Result<void> ping();                   // a trivial query: the file answers
  void setBusyTimeout(int ms);           // for a while; options().busy_timeout_ms is kept

  // Leads. Phone numbers are matched on their key (store/phone.h).
  Result<std::int64_t> insertLead(const Lead& lead);
  Result<std::optional<Lead>> leadById(std::int64_t id);
  Result<std::optional<Lead>> leadByPhone(std::string_view phone);
  Result<std::optional<Lead>> leadByReference(std::string_view reference);
  Result<std::vector<Lead>> leadsByPhone(std::string_view phone, int limit);
  Result<std::vector<Lead>> listLeads(int limit, std::int64_t after_id);
  Result<bool> updateLead(const Lead& lead);  // replaces every field; false: no such lead
  Result<bool> setLeadField(std::int64_t id, LeadField field, std::string_view value);
  Result<bool> setCustomField(std::int64_t id, int field_id, std::string_view value);
  Result<std::optional<std::string>> customField(std::int64_t id, int field_id);
  Result<bool> deleteLead(std::int64_t id);
  Result<std::int64_t> countLeads();

  // The do-not-call list.
  Result<void> addDnc(std::string_view number, std::string_view source);
  Result<bool> isDnc(std::string_view number);
  Result<bool> removeDnc(std::string_view number);
  Result<std::vector<DncEntry>> listDnc(int limit);

  // Call records, keyed by UUID; writing the same record twice leaves one row (at least once).
  // With a spool attached (the DbWorker attaches its own), a write the file cannot take now
  // (busy, full, read-only, I/O) is kept there and retried by the worker: success then means
  // written or kept; an error, that the record is lost (counted and logged by the spool).
  Result<void> beginCall(const CallRecord& record);
  Result<void> finishCall(const CallRecord& record);
  // The write itself, without the spool: begin keeps a record already there, else an upsert.
  Result<void> writeCallRecord(const CallRecord& record, bool begin);
  void attachRecordSpool(RecordSpool* spool) { spool_ = spool; }  // null: none
  Result<std::vector<CallRecord>> listCalls(int limit, bool with_trace,
                                            const CallFilter& filter = {});  // newest first
  Result<std::optional<CallRecord>> callByUuid(std::string_view uuid);
  Result<int> closeInterruptedCalls();  // open records of a previous run → "interrupted"

  // API and admin users; passwords stored as Argon2id hashes (libsodium).
  Result<std::int64_t> addUser(std::string_view name, std::string_view password,
                               std::string_view role);
  Result<std::optional<User>> verifyUser(std::string_view name, std::string_view password);
  Result<std::vector<User>> listUsers();
  // Bearer tokens for the admin API: the token is returned once; only its hash is stored.
  Result<std::string> createToken(std::int64_t user_id, std::int64_t ttl_seconds);
  Result<std::optional<User>> userForToken(std::string_view token);

  // Flows and their versions (1, 2, … per name); drafts are numbered with the others.
  Result<int> saveFlow(std::string_view name, std::string_view body, std::string_view saved_by,
                       bool draft = false);
  // That version, or the latest (0), drafts included: what the designer opens.
  Result<std::optional<FlowVersion>> flow(std::string_view name, int version = 0);
  // The newest version that is not a draft: what calls run.
  Result<std::optional<FlowVersion>> liveFlow(std::string_view name);
  Result<std::vector<FlowVersion>> listFlows();      // the latest version of each, body included
  Result<std::vector<FlowVersion>> listLiveFlows();  // the live version of each, body included
  Result<std::vector<FlowVersion>> flowVersions(std::string_view name);  // bodies left empty
  Result<bool> renameFlow(std::string_view from, std::string_view to);
  Result<bool> deleteFlow(std::string_view name);

  // Runs fn inside one transaction (committed if it returns a value, rolled back otherwise).
  // Inside another transaction it joins that one.
  template <typename F>
  auto transaction(F&& fn) -> decltype(fn()) {
    if (in_transaction_) return fn();
    if (auto begun = exec("BEGIN IMMEDIATE"); !begun) return begun.error();
    in_transaction_ = true;
    // If fn throws, the transaction is rolled back and the flag cleared on the way out.
    struct Guard {
      Database& db;
      bool done = false;
      ~Guard() {
        db.in_transaction_ = false;
        if (!done) (void)db.exec("ROLLBACK");
      }
    } guard{*this};
    auto result = fn();
    guard.done = true;
    in_transaction_ = false;
    if (result) {
      if (auto committed = exec("COMMIT"); !committed) {
        (void)exec("ROLLBACK");
        return committed.error();
      }
    } else {
      (void)exec("ROLLBACK");
    }
    return result;
  }
  Result<void> exec(const char* sql);

 private:
  Database(std::string path, DatabaseOptions options);
  Result<void> configure();
  Result<void> migrate();
  // A prepared statement (prepared once per connection) for one use: reset when it goes out of
  // scope, so no finished or abandoned step keeps a read transaction (and its old snapshot) open.
  class Statement {
   public:
    explicit Statement(SQLite::Statement& statement) : statement_(&statement) {}
    ~Statement();
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;
    SQLite::Statement* operator->() const { return statement_; }
    SQLite::Statement& operator*() const { return *statement_; }

   private:
    SQLite::Statement* statement_;
  };
  Statement statement(const char* sql);
  std::string key(std::string_view phone) const;
  Result<Lead> readLead(SQLite::Statement& row);
  Result<std::vector<Lead>> readLeads(SQLite::Statement& rows);  // every row, then reset
  static Result<std::optional<Lead>> firstLead(Result<std::vector<Lead>> leads);
  Result<void> writeCustomFields(std::int64_t id, const std::map<int, std::string>& custom);

  std::string path_;
  DatabaseOptions options_;
  std::unique_ptr<SQLite::Database> db_;
  std::map<const char*, std::unique_ptr<SQLite::Statement>> statements_;
  bool in_transaction_ = false;
  RecordSpool* spool_ = nullptr;
};

// Milliseconds since the Unix epoch, now.
std::int64_t nowMs();

}  // namespace callflow
