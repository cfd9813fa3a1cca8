#include "engine/call_record.h"

#include <boost/json/serialize.hpp>
#include <boost/uuid/random_generator.hpp>
#include <boost/uuid/uuid_io.hpp>

#include "callflow/utf8.h"
#include "engine/secrets.h"
#include "engine/trace_json.h"

namespace callflow {

std::string newCallUuid() {
  thread_local boost::uuids::random_generator generate;
  return boost::uuids::to_string(generate());
}

CallClock CallClock::now() {
  return {std::chrono::duration_cast<std::chrono::milliseconds>(
              std::chrono::system_clock::now().time_since_epoch())
              .count(),
          std::chrono::steady_clock::now()};
}

std::int64_t CallClock::endedMs() const {
  return started_ms + std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::steady_clock::now() - started)
                          .count();
}

CallRecord completedCallRecord(const Flow& flow, const Call& call, std::string uuid,
                               std::int64_t started_ms, std::int64_t ended_ms, int flow_version) {
  const Trace& trace = call.trace();
  CallRecord record;
  record.uuid = std::move(uuid);
  record.started_ms = started_ms;
  record.ended_ms = ended_ms;
  record.status = "completed";
  record.from = toValidUtf8(redact(call.variable(CallVariable::kPhoneNum), call.secrets()));
  record.to = toValidUtf8(redact(call.variable(CallVariable::kDnis), call.secrets()));
  record.flow = flow.name;
  record.flow_version = flow_version;
  record.result_code = toValidUtf8(redact(trace.result_code, call.secrets()));
  record.hung_up_by = hungUpByName(trace.hung_up_by);
  for (const TraceStep& step : trace.steps) {
    record.path.push_back(flow.nodes[static_cast<std::size_t>(step.element)].name);
  }
  record.trace_json = boost::json::serialize(traceToJson(flow, call));
  return record;
}

}  // namespace callflow
