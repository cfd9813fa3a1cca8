// Call records as JSON, for `callflow calls list --json` and the admin API:
//   {"uuid": "…", "startedAt": "2026-11-28T22:55:59.123Z", "endedAt": "…", "status": "completed",
//    "from": "+44…", "to": "…", "flow": "seed", "flowVersion": 2, "resultCode": "Gold",
//    "hungUpBy": "flow", "path": ["Lookup", "GETAPI", …]}
// plus "trace" (the `callflow run --json` document) when asked for.
#pragma once

#include <boost/json/fwd.hpp>
#include <cstdint>
#include <string>
#include <string_view>

#include "callflow/call_record.h"
#include "callflow/result.h"

namespace callflow {

boost::json::object callRecordToJson(const CallRecord& record, bool with_trace = false);
// Unix milliseconds as ISO 8601 UTC with milliseconds; "" for 0.
std::string isoTime(std::int64_t unix_ms);
// The other way, for filters: `2024-05-01` (midnight UTC, or its last millisecond when
// `date_ends_day`), `2024-05-01T10:30[:00[.123]]` with `Z`, `±HH:MM` or no zone (UTC), or Unix
// milliseconds (`1714557600000`). Anything else is kInvalidArgument.
Result<std::int64_t> parseTime(std::string_view text, bool date_ends_day);

}  // namespace callflow
