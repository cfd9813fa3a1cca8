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
};
int runRun(const RunOptions& options);

}  // namespace callflow
