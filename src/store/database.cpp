// Opening the file, its settings and the schema migrations (store/database.h).
#include "store/database.h"

#include <SQLiteCpp/SQLiteCpp.h>
#include <sodium.h>
#include <sqlite3.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <filesystem>

#include "store/phone.h"
#include "store/sqlite_guard.h"

namespace callflow {
namespace {

// Each entry moves the schema from version i to i + 1, inside one transaction. Append only:
// a released migration is never edited.
constexpr std::array<const char*, Database::kSchemaVersion> kMigrations = {
    R"sql(
CREATE TABLE leads (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  referenceid TEXT NOT NULL DEFAULT '',
  name        TEXT NOT NULL DEFAULT '',
  name2       TEXT NOT NULL DEFAULT '',
  address     TEXT NOT NULL DEFAULT '',
  city        TEXT NOT NULL DEFAULT '',
  postalcode  TEXT NOT NULL DEFAULT '',
  phonenum    TEXT NOT NULL DEFAULT '',
  campaignid  TEXT NOT NULL DEFAULT '',
  listid      TEXT NOT NULL DEFAULT '',
  phone_key   TEXT NOT NULL DEFAULT '',
  created_ms  INTEGER NOT NULL,
  updated_ms  INTEGER NOT NULL
);
CREATE INDEX leads_by_phone ON leads (phone_key);
INSERT INTO sqlite_sequence (name, seq) VALUES ('leads', 1000);
CREATE INDEX leads_by_reference ON leads (referenceid);
CREATE TABLE lead_fields (
  lead_id  INTEGER NOT NULL REFERENCES leads (id) ON DELETE CASCADE,
  field_id INTEGER NOT NULL,
  value    TEXT NOT NULL,
  PRIMARY KEY (lead_id, field_id)
) WITHOUT ROWID;
CREATE TABLE dnc (
  number_key TEXT PRIMARY KEY,
  number     TEXT NOT NULL,
  added_ms   INTEGER NOT NULL,
  source     TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;
CREATE TABLE calls (
  uuid         TEXT PRIMARY KEY,
  started_ms   INTEGER NOT NULL,
  ended_ms     INTEGER NOT NULL DEFAULT 0,
  status       TEXT NOT NULL,
  caller       TEXT NOT NULL DEFAULT '',
  dnis         TEXT NOT NULL DEFAULT '',
  flow         TEXT NOT NULL DEFAULT '',
  flow_version INTEGER NOT NULL DEFAULT 0,
  result_code  TEXT NOT NULL DEFAULT '',
  hung_up_by   TEXT NOT NULL DEFAULT '',
  path         TEXT NOT NULL DEFAULT '[]',
  trace        TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;
CREATE INDEX calls_by_start ON calls (started_ms);
CREATE INDEX calls_open ON calls (status) WHERE status = 'open';
CREATE TABLE users (
  id            INTEGER PRIMARY KEY AUTOINCREMENT,
  name          TEXT NOT NULL UNIQUE,
  password_hash TEXT NOT NULL,
  role          TEXT NOT NULL CHECK (role IN ('api', 'admin', 'supervisor', 'agent')),
  created_ms    INTEGER NOT NULL
);
CREATE TABLE tokens (
  token_hash TEXT PRIMARY KEY,
  user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  expires_ms INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE flows (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  name       TEXT NOT NULL UNIQUE,
  created_ms INTEGER NOT NULL
);
CREATE TABLE flow_versions (
  flow_id  INTEGER NOT NULL REFERENCES flows (id) ON DELETE CASCADE,
  version  INTEGER NOT NULL,
  body     TEXT NOT NULL,
  saved_by TEXT NOT NULL,
  saved_ms INTEGER NOT NULL,
  PRIMARY KEY (flow_id, version)
) WITHOUT ROWID;
)sql",
    // 2: drafts, versions saved with problems for later; never deployed.
    R"sql(
ALTER TABLE flow_versions ADD COLUMN draft INTEGER NOT NULL DEFAULT 0;
)sql",
    // 3: the call-record filters of the admin API (GET /calls?flow=…&resultCode=…), newest first.
    R"sql(
CREATE INDEX IF NOT EXISTS calls_by_flow ON calls (flow, started_ms);
CREATE INDEX IF NOT EXISTS calls_by_result ON calls (result_code, started_ms);
)sql",
};

// callflow_digits(text): the digits of a text, for matching phone numbers however they are
// written ("+44 1632-960001" → "441632960001").
void digitsOnly(sqlite3_context* context, int, sqlite3_value** values) {
  std::string digits;
  if (const unsigned char* text = sqlite3_value_text(values[0]); text != nullptr) {
    for (; *text != '\0'; ++text) {
      if (*text >= '0' && *text <= '9') digits += static_cast<char>(*text);
    }
  }
  sqlite3_result_text(context, digits.data(), static_cast<int>(digits.size()), SQLITE_TRANSIENT);
}

// Why a file may not open or write: a folder (or file system) Callflow cannot write, where
// SQLite must create the -wal and -shm files beside the database. Empty when that is not it.
std::string folderHint(const std::string& path) {
  std::error_code ignored;
  std::filesystem::path folder = std::filesystem::absolute(path, ignored).parent_path();
  if (::access(folder.c_str(), W_OK) == 0) return {};
  return " (the folder " + folder.string() +
         " is read-only, or its file system is; SQLite writes the -wal and -shm files there)";
}

}  // namespace

std::int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Database::Database(std::string path, DatabaseOptions options)
    : path_(std::move(path)), options_(std::move(options)) {}

Database::~Database() {
  statements_.clear();  // statements before their connection
}

Result<std::unique_ptr<Database>> Database::open(const std::string& path, DatabaseOptions options) {
  if (sodium_init() < 0) return fail(ErrorCode::kInternal, "libsodium failed to initialise");
  if (path.empty()) return fail(ErrorCode::kInvalidArgument, "no database file given");
  std::error_code ignored;
  if (std::filesystem::is_directory(path, ignored)) {
    return fail(ErrorCode::kInvalidArgument, "database \"" + path + "\" is a directory");
  }
  bool created = !std::filesystem::exists(path, ignored);
  std::unique_ptr<Database> database(new Database(path, std::move(options)));
  int flags = database->options_.read_only ? SQLite::OPEN_READONLY
                                           : SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE;
  try {
    database->db_ = std::make_unique<SQLite::Database>(path, flags | SQLite::OPEN_NOMUTEX);
  } catch (const SQLite::Exception& e) {
    return fail(ErrorCode::kUnavailable, "cannot open database \"" + path +
                                             "\": " + std::string(e.what()) + folderHint(path));
  }
  if (!database->options_.read_only &&
      sqlite3_db_readonly(database->db_->getHandle(), "main") == 1) {
    // SQLite falls back to reading a file it may not write; a server must not run like that.
    return fail(ErrorCode::kPermissionDenied,
                "database \"" + path +
                    "\" can only be read (the file is read-only, or its file system is): "
                    "Callflow needs to write it");
  }
  if (created && !database->options_.read_only) {
    // Leads and password hashes: the owner's alone (SQLite gives -wal and -shm the same mode).
    std::filesystem::permissions(
        path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write, ignored);
  }
  if (auto configured = database->configure(); !configured) {
    return fail(configured.error().code,
                "database \"" + path + "\": " + configured.error().message +
                    (database->options_.read_only ? "" : folderHint(path)));
  }
  if (!database->options_.read_only) {
    if (auto migrated = database->migrate(); !migrated) {
      return fail(migrated.error().code, "database \"" + path + "\": " + migrated.error().message);
    }
  } else {
    auto version = sqliteGuard("reading the schema version", [&] {
      return database->db_->execAndGet("PRAGMA user_version").getInt();
    });
    if (!version) return version.error();
    if (*version != kSchemaVersion) {
      return fail(ErrorCode::kFailedPrecondition,
                  "database \"" + path + "\" has schema " + std::to_string(*version) +
                      ", this Callflow reads " + std::to_string(kSchemaVersion));
    }
  }
  return database;
}

Result<void> Database::configure() {
  return sqliteGuard("configuring the connection", [&] {
    db_->setBusyTimeout(options_.busy_timeout_ms);
    db_->exec("PRAGMA foreign_keys = ON");
    db_->createFunction("callflow_digits", 1, true, nullptr, &digitsOnly);
    if (!options_.read_only) {
      // WAL: readers never wait for the writer; FULL: a commit survives a power cut.
      std::string mode = db_->execAndGet("PRAGMA journal_mode = WAL").getString();
      if (mode != "wal") {
        throw SQLite::Exception("journal_mode is \"" + mode + "\", WAL could not be set");
      }
      db_->exec("PRAGMA synchronous = FULL");
    }
  });
}

Result<void> Database::migrate() {
  auto version = sqliteGuard("reading the schema version",
                             [&] { return db_->execAndGet("PRAGMA user_version").getInt(); });
  if (!version) return version.error();
  if (*version > kSchemaVersion) {
    return fail(ErrorCode::kFailedPrecondition,
                "schema version " + std::to_string(*version) + " is newer than this Callflow (" +
                    std::to_string(kSchemaVersion) + "); upgrade Callflow");
  }
  for (int from = *version; from < kSchemaVersion; ++from) {
    auto applied = sqliteGuard("migrating the schema to version " + std::to_string(from + 1), [&] {
      SQLite::Transaction transaction(*db_, SQLite::TransactionBehavior::IMMEDIATE);
      db_->exec(kMigrations[static_cast<std::size_t>(from)]);
      db_->exec("PRAGMA user_version = " + std::to_string(from + 1));
      transaction.commit();
    });
    if (!applied) return applied;
  }
  return {};
}

Result<std::string> Database::settingsReport() {
  return sqliteGuard("reading the settings", [&] {
    std::string journal = db_->execAndGet("PRAGMA journal_mode").getString();
    int synchronous = db_->execAndGet("PRAGMA synchronous").getInt();
    int foreign_keys = db_->execAndGet("PRAGMA foreign_keys").getInt();
    int busy = db_->execAndGet("PRAGMA busy_timeout").getInt();
    int schema = db_->execAndGet("PRAGMA user_version").getInt();
    std::string check;
    int problems = 0;
    SQLite::Statement quick(*db_, "PRAGMA quick_check");
    while (quick.executeStep()) {
      if (problems++ < 3) check += (check.empty() ? "" : "; ") + quick.getColumn(0).getString();
    }
    if (problems > 3) check += "; (" + std::to_string(problems) + " problems in all)";
    for (char& c : check) {
      if (c == '\n' || c == '\r') c = ' ';
    }
    static constexpr const char* kSynchronous[] = {"OFF", "NORMAL", "FULL", "EXTRA"};
    return "journal_mode=" + journal + " synchronous=" +
           (synchronous >= 0 && synchronous <= 3 ? kSynchronous[synchronous]
                                                 : std::to_string(synchronous)) +
           " foreign_keys=" + (foreign_keys ? "on" : "off") +
           " busy_timeout=" + std::to_string(busy) + " schema=" + std::to_string(schema) +
           " sqlite=" + SQLite::getLibVersion() + " quick_check=" + check;
  });
}

Result<std::string> Database::integrityCheck() {
  return sqliteGuard("checking integrity", [&] {
    std::string report;
    SQLite::Statement check(*db_, "PRAGMA integrity_check");
    while (check.executeStep()) {
      if (!report.empty()) report += '\n';
      report += check.getColumn(0).getString();
    }
    return report;
  });
}

Result<void> Database::ping() {
  return sqliteGuard("reading the database", [&] { statement("SELECT 1")->executeStep(); });
}

void Database::setBusyTimeout(int ms) {
  sqlite3_busy_timeout(db_->getHandle(), ms);  // SQLiteCpp's setBusyTimeout throws; this cannot
}

Result<void> Database::exec(const char* sql) {
  return sqliteGuard(sql, [&] { db_->exec(sql); });
}

Database::Statement Database::statement(const char* sql) {
  auto& slot = statements_[sql];
  if (!slot) slot = std::make_unique<SQLite::Statement>(*db_, sql);
  return Statement(*slot);
}

Database::Statement::~Statement() {
  statement_->tryReset();
  statement_->clearBindings();
}

std::string Database::key(std::string_view phone) const {
  return phoneKey(phone, options_.default_country);
}

}  // namespace callflow
