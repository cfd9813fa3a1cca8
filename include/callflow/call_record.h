// CallRecord: what the store keeps of one call (the CDR), keyed by the call's UUID.
//
// Written when a call starts (status "open") and again when it ends ("completed"); a record
// still open when the server starts again is closed as "interrupted". Every text in it has
// been through secret redaction before it reaches the store.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace callflow {

struct CallRecord {
  std::string uuid;
  std::int64_t started_ms = 0;  // Unix time in milliseconds
  std::int64_t ended_ms = 0;    // 0 while open
  std::string status;           // "open", "completed", "interrupted"
  std::string from;             // call.phonenum
  std::string to;               // call.dnis
  std::string flow;
  int flow_version = 0;  // 0 when the flow did not come from the store
  std::string result_code;
  std::string hung_up_by;         // "flow", "caller", "transfer", "" (not ended)
  std::vector<std::string> path;  // the element names visited, in order
  std::string trace_json;         // the whole trace (redacted), as `callflow run --json` prints it
};

}  // namespace callflow
