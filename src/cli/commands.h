// The `callflow` commands. Each returns the process exit status: 0 done, 2 invalid input
// (a flow with errors, bad arguments), 1 anything else.
#pragma once

#include <memory>
#include <string>
#include <vector>

namespace callflow {

class Database;
// Opens the database file (read_only: an existing one, without writing), printing why it cannot
// be opened; null then.
std::unique_ptr<Database> openDatabaseOrReport(const std::string& path, const std::string& country,
                                               bool read_only = false);

struct CheckOptions {
  std::string flow_path;
  std::string secrets_path;
  std::vector<std::string> transfer_allow;  // given: fixed Transfer targets must match one
  bool json = false;
};
int runCheck(const CheckOptions& options);

struct RunOptions {
  std::string flow_path;
  std::string from;
  std::string to;
  std::string digits;
  std::string hangup_at;
  std::string db_path;
  std::string secrets_path;
  bool json = false;
  bool fail_transfers = false;
  std::vector<std::string> allow;  // outbound policy: addresses or CIDRs ApiRequest may reach
  std::vector<std::string> deny;   // and may not (169.254.0.0/16 is denied by default)
  std::string ca_file;
  std::vector<std::string> transfer_allow;  // empty: transfers are not checked (a simulation)
  std::string leads_path;                   // JSON list of leads seeding the in-memory lead store
  std::string country = "44";               // default country code for national numbers (--db)
};
int runRun(const RunOptions& options);

struct LeadsImportOptions {
  std::string csv_path;
  std::string db_path = "callflow.db";
  std::string country = "44";
  bool json = false;
};
int runLeadsImport(const LeadsImportOptions& options);

struct LeadsFindOptions {
  std::string phone;
  std::string reference;
  std::string db_path = "callflow.db";
  std::string country = "44";
  bool json = false;
};
int runLeadsFind(const LeadsFindOptions& options);

struct UsersAddOptions {
  std::string name;
  std::string password;
  std::string role;
  std::string db_path = "callflow.db";
};
int runUsersAdd(const UsersAddOptions& options);

struct CallsListOptions {
  std::string db_path = "callflow.db";
  int limit = 100;
  bool json = false;
};
int runCallsList(const CallsListOptions& options);

struct ServeOptions {
  std::string db_path = "callflow.db";
  std::string http = "127.0.0.1:8080";
  std::string secrets_path;
  std::string flows_dir;
  std::string sip = "off";
  std::string flow;                 // --flow FILE|NAME: what every call runs
  std::vector<std::string> routes;  // --route NUMBER=FILE|NAME
  std::string prompts_dir;
  std::string web_dir;           // --web DIR: the designer's built files
  int max_calls = 500;           // max_concurrent_calls
  double max_cps = 0;            // new calls per second; 0: no limit
  std::string per_source = "0";  // "16/2": out-of-dialog requests per source per seconds
  double ban_seconds = 60;
  std::vector<std::string> trusted;         // sources never limited per source (the carrier's SBC)
  double drain_timeout = 30;                // SIGTERM: seconds live calls may go on before BYE
  double media_timeout = 60;                // seconds without RTP from an answered caller; 0: never
  std::vector<std::string> transfer_allow;  // patterns a Transfer's target must match
  std::string rtp_ports = "16384-32767";
  bool inband_dtmf = false;
  std::string country = "44";
  std::vector<std::string> allow;
  std::vector<std::string> deny;
  std::string ca_file;
};
int runServe(const ServeOptions& options);

}  // namespace callflow
