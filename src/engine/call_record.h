// The call record of an ended call (include/callflow/call_record.h), redacted like its trace.
#pragma once

#include <cstdint>
#include <string>

#include "callflow/call.h"
#include "callflow/call_record.h"
#include "flow/flow.h"

namespace callflow {

// A fresh random (version 4) UUID, the key of a call's record.
std::string newCallUuid();

// The record of a call that has ended ("completed"), with its trace as `callflow run --json`.
CallRecord completedCallRecord(const Flow& flow, const Call& call, std::string uuid,
                               std::int64_t started_ms, std::int64_t ended_ms, int flow_version);

}  // namespace callflow
