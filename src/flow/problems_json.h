// A flow's problems as JSON, as `callflow check --json` prints them and the admin API returns
// them: [{"severity": "error", "element": "GETAPI", "key": "timeout", "message": "…",
// "text": "element \"GETAPI\": key \"timeout\": …"}, …] (plus "line"/"column" for syntax).
#pragma once

#include <boost/json/array.hpp>
#include <vector>

#include "flow/diagnostics.h"

namespace callflow {

boost::json::array problemsToJson(const std::vector<Problem>& problems);

}  // namespace callflow
