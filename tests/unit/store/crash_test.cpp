// Crash safety: a child process writes leads and call records and is killed with SIGKILL at a
// random moment; the file must then pass SQLite's integrity check and hold every write the child
// reported as committed. The child is a fork of this process that opens the database only after
// the fork, and reports each commit by appending a line to a log file (a write(2) that returned
// is in the kernel and survives the kill). A commit not yet reported may or may not be there.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "store/database.h"
#include "store/lead_import.h"
#include "unit/store/temp_dir.h"

namespace callflow {
namespace {

using test_support::TempDir;

constexpr int kImportRows = 20;
constexpr int kImportBatch = 7;
constexpr int kMaxIterations = 100000;  // far more than fit in 500 ms; bounds the child anyway

bool writeAll(int fd, const std::string& text) {
  std::size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

std::string importCsv(int round) {
  std::string csv = "referenceid,phonenum,field:158\n";
  for (int row = 0; row < kImportRows; ++row) {
    csv += "imp" + std::to_string(round) + "-" + std::to_string(row) + ",+44 7700 " +
           std::to_string(900000 + row) + ",row " + std::to_string(row) + "\n";
  }
  return csv;
}

// The child's whole life: write, report, repeat until killed. Returns an exit status.
int childMain(const std::string& path, const std::string& log_path, int ready_fd) {
  auto opened = Database::open(path);
  if (!opened) return 2;
  Database& db = **opened;
  int log = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (log < 0) return 3;
  auto committed = [&](const std::string& line) {
    if (!writeAll(log, line + "\n")) return false;
    if (ready_fd >= 0) {  // the parent starts its clock at the first commit
      (void)writeAll(ready_fd, "r");
      ::close(ready_fd);
      ready_fd = -1;
    }
    return true;
  };
  for (int i = 0; i < kMaxIterations; ++i) {
    switch (i % 3) {
      case 0: {
        std::istringstream in(importCsv(i));
        auto report = importLeadsCsv(db, in, kImportBatch);
        if (!report || report->imported != kImportRows) return 4;
        if (!committed("I " + std::to_string(i))) return 5;
        break;
      }
      case 1: {
        Lead lead;
        lead.field(LeadField::kReferenceId) = "ins" + std::to_string(i);
        lead.field(LeadField::kPhoneNum) = "020 7946 " + std::to_string(i % 10000);
        lead.custom[158] = "custom " + std::to_string(i);
        auto id = db.insertLead(lead);
        if (!id) return 6;
        if (!committed("L " + std::to_string(*id) + " " + std::to_string(i))) return 7;
        break;
      }
      default: {
        CallRecord record;
        record.uuid = "call-" + std::to_string(i);
        record.started_ms = 1000 + i;
        record.status = "open";
        if (!db.beginCall(record)) return 8;
        if (!committed("B " + record.uuid)) return 9;
        record.status = "completed";
        record.ended_ms = 2000 + i;
        record.path = {"A", "B"};
        record.trace_json = "{\"i\":" + std::to_string(i) + "}";
        if (!db.finishCall(record)) return 10;
        if (!committed("F " + record.uuid)) return 11;
        break;
      }
    }
  }
  return 0;
}

struct Reported {
  std::set<int> imports;
  std::map<std::int64_t, int> leads;  // id → iteration
  std::set<std::string> begun;
  std::set<std::string> finished;
  int lines = 0;
};

Reported readLog(const std::string& log_path) {
  Reported reported;
  std::ifstream in(log_path, std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::size_t start = 0;
  for (std::size_t end; (end = text.find('\n', start)) != std::string::npos; start = end + 1) {
    std::istringstream line(text.substr(start, end - start));
    char kind = 0;
    line >> kind;
    if (kind == 'I') {
      int round = 0;
      line >> round;
      reported.imports.insert(round);
    } else if (kind == 'L') {
      std::int64_t id = 0;
      int round = 0;
      line >> id >> round;
      reported.leads[id] = round;
    } else if (kind == 'B' || kind == 'F') {
      std::string uuid;
      line >> uuid;
      (kind == 'B' ? reported.begun : reported.finished).insert(uuid);
    } else {
      ADD_FAILURE() << "bad log line " << text.substr(start, end - start);
    }
    ++reported.lines;
  }
  return reported;
}

void checkDatabase(const std::string& path, const Reported& reported) {
  auto opened = Database::open(path);
  ASSERT_TRUE(opened.has_value()) << opened.error().message;
  Database& db = **opened;
  auto integrity = db.integrityCheck();
  ASSERT_TRUE(integrity.has_value()) << integrity.error().message;
  EXPECT_EQ(*integrity, "ok");

  // Every lead, by reference.
  std::map<std::string, Lead> by_reference;
  std::map<int, int> rows_per_import;
  std::int64_t after = 0;
  for (int page = 0; page < 100000; ++page) {
    auto leads = db.listLeads(1000, after);
    ASSERT_TRUE(leads.has_value()) << leads.error().message;
    if (leads->empty()) break;
    for (Lead& lead : *leads) {
      after = lead.id;
      const std::string& reference = lead.field(LeadField::kReferenceId);
      if (reference.rfind("imp", 0) == 0) {
        ++rows_per_import[std::stoi(reference.substr(3))];
      }
      by_reference[reference] = std::move(lead);
    }
  }

  for (int round : reported.imports) {
    EXPECT_EQ(rows_per_import[round], kImportRows) << "import " << round;
    for (int row = 0; row < kImportRows; ++row) {
      std::string reference = "imp" + std::to_string(round) + "-" + std::to_string(row);
      auto lead = by_reference.find(reference);
      ASSERT_NE(lead, by_reference.end()) << reference;
      EXPECT_EQ(lead->second.custom.at(158), "row " + std::to_string(row));
    }
  }
  // An import cut short keeps whole batches only.
  for (const auto& [round, rows] : rows_per_import) {
    EXPECT_TRUE(rows == kImportRows || rows % kImportBatch == 0)
        << "import " << round << " has " << rows << " rows";
  }
  for (const auto& [id, round] : reported.leads) {
    auto lead = db.leadById(id);
    ASSERT_TRUE(lead.has_value() && lead->has_value()) << "lead " << id;
    EXPECT_EQ((*lead)->field(LeadField::kReferenceId), "ins" + std::to_string(round));
    EXPECT_EQ((*lead)->custom.at(158), "custom " + std::to_string(round));
  }
  for (const std::string& uuid : reported.begun) {
    auto call = db.callByUuid(uuid);
    ASSERT_TRUE(call.has_value() && call->has_value()) << uuid;
    if (reported.finished.count(uuid) != 0) {
      EXPECT_EQ((*call)->status, "completed") << uuid;
      EXPECT_EQ((*call)->path, (std::vector<std::string>{"A", "B"})) << uuid;
    }
  }
  // Records the child had begun but not finished are closed on the next start.
  auto closed = db.closeInterruptedCalls();
  ASSERT_TRUE(closed.has_value());
  EXPECT_LE(*closed, 1);
}

TEST(CrashTest, KilledWriterLeavesEveryReportedCommit) {
  std::random_device seed;
  std::mt19937 random(seed());
  std::uniform_int_distribution<int> delay_ms(50, 500);
  for (int attempt = 0; attempt < 5; ++attempt) {
    TempDir dir;
    std::string path = dir.file("callflow.db");
    std::string log_path = dir.file("committed.log");
    int delay = delay_ms(random);
    SCOPED_TRACE("attempt " + std::to_string(attempt) + ", killed " + std::to_string(delay) +
                 " ms after the first commit");

    int ready[2];
    ASSERT_EQ(::pipe(ready), 0);
    pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      ::close(ready[0]);
      ::_exit(childMain(path, log_path, ready[1]));  // no gtest, no atexit in the child
    }
    ::close(ready[1]);
    char byte = 0;
    ssize_t got = ::read(ready[0], &byte, 1);  // until the first commit (or the child's end)
    ::close(ready[0]);
    if (got == 1) std::this_thread::sleep_for(std::chrono::milliseconds(delay));
    ::kill(child, SIGKILL);
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_EQ(got, 1) << "the child stopped before its first commit, status " << status;
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
        << "the child ended by itself, status " << status;

    Reported reported = readLog(log_path);
    EXPECT_GT(reported.lines, 0);
    checkDatabase(path, reported);
    RecordProperty("commits_" + std::to_string(attempt), reported.lines);
  }
}

}  // namespace
}  // namespace callflow
