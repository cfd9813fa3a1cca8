// The `callflow` commands. Each returns the process exit status: 0 done, 2 invalid input
// (a flow with errors, bad arguments), 1 anything else.
#pragma once

#include <string>
#include <vector>

namespace callflow {

struct CheckOptions {
  std::string flow_path;
  std::string secrets_path;
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
  std::string leads_path;  // JSON list of leads seeding the in-memory lead store
};
int runRun(const RunOptions& options);

}  // namespace callflow
