// The trace of an ended call as JSON: the `callflow run --json` document (FLOW_FORMAT.md),
// with every string redacted of secrets.
#pragma once

#include <boost/json/object.hpp>
#include <string>

#include "callflow/call.h"
#include "flow/flow.h"

namespace callflow {

boost::json::object traceToJson(const Flow& flow, const Call& call);
// The same, as the few lines a person reads (`callflow run` without --json).
std::string traceToText(const Flow& flow, const Call& call);

}  // namespace callflow
