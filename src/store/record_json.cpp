#include "store/record_json.h"

#include <boost/json.hpp>
#include <ctime>

namespace callflow {

std::string isoTime(std::int64_t unix_ms) {
  if (unix_ms <= 0) return "";
  std::time_t seconds = static_cast<std::time_t>(unix_ms / 1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[64];
  std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900,
                utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                static_cast<int>(unix_ms % 1000));
  return text;
}

boost::json::object callRecordToJson(const CallRecord& record, bool with_trace) {
  boost::json::array path;
  for (const std::string& name : record.path) path.emplace_back(name);
  boost::json::object out{{"uuid", record.uuid},
                          {"startedAt", isoTime(record.started_ms)},
                          {"endedAt", isoTime(record.ended_ms)},
                          {"status", record.status},
                          {"from", record.from},
                          {"to", record.to},
                          {"flow", record.flow},
                          {"flowVersion", record.flow_version},
                          {"resultCode", record.result_code},
                          {"hungUpBy", record.hung_up_by},
                          {"path", std::move(path)}};
  if (with_trace) {
    boost::system::error_code ec;
    boost::json::value trace = boost::json::parse(record.trace_json, ec);
    out["trace"] = ec ? boost::json::value(nullptr) : std::move(trace);
  }
  return out;
}

}  // namespace callflow
