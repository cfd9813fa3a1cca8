// The call record of an ended call (include/callflow/call_record.h), redacted like its trace.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "callflow/call.h"
#include "callflow/call_record.h"
#include "flow/flow.h"

namespace callflow {

// A fresh random (version 4) UUID, the key of a call's record.
std::string newCallUuid();

// When a call started: Unix time for its record, and the monotonic clock for its length, so a
// step of the wall clock during the call (NTP, an operator's `date`) leaves its duration right.
struct CallClock {
  std::int64_t started_ms = 0;  // Unix time in milliseconds
  std::chrono::steady_clock::time_point started;

  static CallClock now();
  // started_ms plus the monotonic time since: the record's end.
  std::int64_t endedMs() const;
};

// The record of a call that has ended ("completed"), with its trace as `callflow run --json`.
CallRecord completedCallRecord(const Flow& flow, const Call& call, std::string uuid,
                               std::int64_t started_ms, std::int64_t ended_ms, int flow_version);

}  // namespace callflow
