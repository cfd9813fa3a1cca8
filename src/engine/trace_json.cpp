#include "engine/trace_json.h"

#include <boost/json/array.hpp>

#include "callflow/utf8.h"
#include "engine/secrets.h"

namespace callflow {
namespace {

const std::string& nameOf(const Flow& flow, int element) {
  static const std::string kNone;
  return element >= 0 ? flow.nodes[static_cast<std::size_t>(element)].name : kNone;
}

// Text from outside (API answers, caller ids) as a terminal may show it (CWE-117): control
// characters (C0 with tab and line feed, DEL) and bytes that are not UTF-8 as \xNN, the C1
// controls U+0080..U+009F as \u00NN, so a value can neither start a line of its own nor send
// an escape sequence. Everything else, UTF-8 included, stays as it is.
std::string printable(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    auto u = static_cast<unsigned char>(text[i]);
    std::size_t length = utf8SequenceLength(text, i);
    if (u < 0x20 || u == 0x7F || length == 0) {
      out += "\\x";
      out += kHex[u >> 4];
      out += kHex[u & 0xF];
      ++i;
    } else if (u == 0xC2 && static_cast<unsigned char>(text[i + 1]) < 0xA0) {
      auto code = static_cast<unsigned char>(text[i + 1]);  // U+0080..U+009F
      out += "\\u00";
      out += kHex[code >> 4];
      out += kHex[code & 0xF];
      i += 2;
    } else {
      out.append(text.substr(i, length));
      i += length;
    }
  }
  return out;
}

}  // namespace

boost::json::object traceToJson(const Flow& flow, const Call& call) {
  const Trace& trace = call.trace();
  const SecretMap* secrets = call.secrets();
  // Redacted, and valid UTF-8 (an API may answer in Latin-1; JSON readers refuse such bytes).
  auto clean = [&](std::string_view s) {
    return boost::json::string(toValidUtf8(redact(s, secrets)));
  };
  auto cleanExcerpt = [&](std::string_view s, bool cut) {
    return cut ? boost::json::string(toValidUtf8(redactExcerpt(s, secrets))) : clean(s);
  };

  boost::json::object out;
  out["flow"] = flow.name;
  out["resultCode"] = trace.result_code;
  out["endedAt"] = nameOf(flow, trace.ended_at);
  out["hungUpBy"] = hungUpByName(trace.hung_up_by);
  boost::json::array path, steps;
  for (const TraceStep& step : trace.steps) {
    const Node& node = flow.nodes[static_cast<std::size_t>(step.element)];
    path.emplace_back(node.name);
    boost::json::object entry{
        {"element", node.name}, {"type", node.type->name}, {"exit", exitName(step.exit)}};
    if (!step.label.empty()) entry["label"] = clean(step.label);
    if (!step.note.empty()) entry["note"] = clean(step.note);
    if (step.bug) entry["bug"] = true;
    steps.push_back(std::move(entry));
  }
  out["path"] = std::move(path);
  boost::json::array said, played, http, transfers;
  for (const auto& s : trace.said) said.emplace_back(clean(s));
  for (const auto& s : trace.played) played.emplace_back(clean(s));
  for (const auto& h : trace.http) {
    boost::json::object entry{{"element", h.element},
                              {"method", h.method},
                              {"url", clean(h.url)},
                              {"status", h.status},
                              {"error", clean(h.error)},
                              // whole milliseconds: Boost.JSON writes doubles as 2.4E-3
                              {"ms", static_cast<std::int64_t>(h.seconds * 1000 + 0.5)}};
    if (h.retries > 0) entry["retries"] = h.retries;
    // What the designer's Test call panel shows of the exchange (bodies cut to an excerpt);
    // only a detailed trace (a designer test) has it.
    if (!trace.detail) {
      http.push_back(std::move(entry));
      continue;
    }
    boost::json::array request_headers;
    for (const auto& [name, value] : h.request_headers) {
      request_headers.push_back(boost::json::array{clean(name), clean(value)});
    }
    entry["requestHeaders"] = std::move(request_headers);
    bool request_cut = h.request_bytes > h.request_body.size();
    entry["requestBody"] = cleanExcerpt(h.request_body, request_cut);
    if (request_cut) entry["requestBodyTruncated"] = true;
    entry["contentType"] = clean(h.content_type);
    bool response_cut = h.response_bytes > h.response_body.size();
    entry["responseBody"] = cleanExcerpt(h.response_body, response_cut);
    entry["responseBytes"] = static_cast<std::uint64_t>(h.response_bytes);
    if (response_cut) entry["responseBodyTruncated"] = true;
    http.push_back(std::move(entry));
  }
  for (const auto& t : trace.transfers) transfers.emplace_back(clean(t));
  out["said"] = std::move(said);
  out["played"] = std::move(played);
  out["http"] = std::move(http);
  out["transfers"] = std::move(transfers);
  boost::json::object data, dynamic, variables;
  for (std::size_t slot = 0; slot < flow.ivr_data_names.size(); ++slot) {
    if (const auto& v = call.ivrData(static_cast<int>(slot))) {
      data[flow.ivr_data_names[slot]] = clean(*v);
    }
  }
  for (std::size_t slot = 0; slot < flow.dynamic_names.size(); ++slot) {
    if (const auto& v = call.dynamic(static_cast<int>(slot))) {
      dynamic[flow.dynamic_names[slot]] = clean(*v);
    }
  }
  for (std::size_t i = 0; i < kCallVariableCount; ++i) {
    const std::string& v = call.variable(static_cast<CallVariable>(i));
    if (!v.empty()) variables[callVariableName(static_cast<CallVariable>(i))] = clean(v);
  }
  out["data"] = std::move(data);
  out["dynamic"] = std::move(dynamic);
  out["call"] = std::move(variables);
  out["steps"] = std::move(steps);
  if (!trace.error.empty()) out["error"] = trace.error;
  return out;
}

std::string traceToText(const Flow& flow, const Call& call) {
  const Trace& trace = call.trace();
  const SecretMap* secrets = call.secrets();
  // Every text that may hold something from outside is redacted, then made printable.
  auto shown = [&](std::string_view s) { return printable(redact(s, secrets)); };
  std::string out;
  for (const TraceStep& step : trace.steps) {
    const Node& node = flow.nodes[static_cast<std::size_t>(step.element)];
    out += "  " + node.name + " (" + std::string(node.type->name) + ")";
    bool last = &step == &trace.steps.back();
    if (!(last && (step.exit == ExitKind::kEnd || trace.hung_up_by == HungUpBy::kCaller))) {
      out += " -> ";
      out += step.exit == ExitKind::kRoute ? "\"" + shown(step.label) + "\""
                                           : std::string(exitName(step.exit));
    }
    if (!step.note.empty()) out += "  [" + shown(step.note) + "]";
    out += '\n';
  }
  for (const auto& s : trace.said) out += "  said:   " + shown(s) + '\n';
  for (const auto& s : trace.played) out += "  played: " + shown(s) + '\n';
  for (const auto& h : trace.http) {
    out += "  http:   " + h.method + " " + shown(h.url) + " -> " + std::to_string(h.status) +
           (h.error.empty() ? "" : " (" + shown(h.error) + ")") + '\n';
  }
  for (const auto& t : trace.transfers) out += "  transferred to " + shown(t) + '\n';
  if (!trace.error.empty()) out += "  error:  " + printable(trace.error) + '\n';
  out += "ended at " + nameOf(flow, trace.ended_at) + " (hung up by " +
         hungUpByName(trace.hung_up_by) + "), result code " + printable(trace.result_code) + '\n';
  return out;
}

}  // namespace callflow
