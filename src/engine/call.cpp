#include "callflow/call.h"

#include <boost/json/value.hpp>
#include <charconv>
#include <cmath>

#include "callflow/lead_store.h"
#include "flow/fillpoint.h"

namespace callflow {
namespace {

constexpr std::string_view kCallVariableNames[kCallVariableCount] = {
    "referenceid", "name",   "name2", "address",    "city",  "postalcode",
    "phonenum",    "leadid", "dnis",  "campaignid", "listid"};

void appendJson(const boost::json::value& v, std::string& out);

// Writes a JSON object or array back as JSON, numbers as appendJson writes them (Boost's
// serializer would write 2.5 as 2.5E0). Depth is bounded by the parser's limit.
void appendJsonDocument(const boost::json::value& v, std::string& out) {
  switch (v.kind()) {
    case boost::json::kind::string: {
      out += '"';
      appendJsonEscaped(std::string_view(v.get_string().data(), v.get_string().size()), out);
      out += '"';
      break;
    }
    case boost::json::kind::null:
      out += "null";
      break;
    case boost::json::kind::array: {
      out += '[';
      bool first = true;
      for (const auto& item : v.get_array()) {
        if (!first) out += ',';
        first = false;
        appendJsonDocument(item, out);
      }
      out += ']';
      break;
    }
    case boost::json::kind::object: {
      out += '{';
      bool first = true;
      for (const auto& [key, item] : v.get_object()) {
        if (!first) out += ',';
        first = false;
        out += '"';
        appendJsonEscaped(std::string_view(key.data(), key.size()), out);
        out += "\":";
        appendJsonDocument(item, out);
      }
      out += '}';
      break;
    }
    default:
      appendJson(v, out);
  }
}

// Writes a JSON scalar the way a person would read it: strings as they are, integers without
// a decimal point, other numbers in their shortest exact form, null as nothing.
void appendJson(const boost::json::value& v, std::string& out) {
  switch (v.kind()) {
    case boost::json::kind::string:
      out.append(v.get_string().data(), v.get_string().size());
      break;
    case boost::json::kind::int64:
      out += std::to_string(v.get_int64());
      break;
    case boost::json::kind::uint64:
      out += std::to_string(v.get_uint64());
      break;
    case boost::json::kind::double_:
      appendNumber(v.get_double(), out);
      break;
    case boost::json::kind::bool_:
      out += v.get_bool() ? "true" : "false";
      break;
    case boost::json::kind::null:
      break;
    case boost::json::kind::array:
    case boost::json::kind::object:
      appendJsonDocument(v, out);
      break;
  }
}

}  // namespace

std::string_view callVariableName(CallVariable variable) {
  return kCallVariableNames[static_cast<std::size_t>(variable)];
}

std::optional<CallVariable> callVariableFromName(std::string_view name) {
  for (std::size_t i = 0; i < kCallVariableCount; ++i) {
    if (kCallVariableNames[i] == name) return static_cast<CallVariable>(i);
  }
  return std::nullopt;
}

Call::Call(std::size_t elements, std::size_t ivr_data, std::size_t dynamic)
    : results_(elements), ivr_data_(ivr_data), dynamic_(dynamic) {}

bool Call::appendValue(const DataPath& path, std::string& out) const {
  switch (path.scope) {
    case DataPath::Scope::kCallVariable: {
      const std::string& v = variables_[static_cast<std::size_t>(path.slot)];
      out += v;
      return !v.empty();
    }
    case DataPath::Scope::kIvrData: {
      const auto& v = ivr_data_[static_cast<std::size_t>(path.slot)];
      if (!v) return false;
      out += *v;
      return true;
    }
    case DataPath::Scope::kDynamic: {
      const auto& v = dynamic_[static_cast<std::size_t>(path.slot)];
      if (!v) return false;
      out += *v;
      return true;
    }
    case DataPath::Scope::kSecret: {
      if (secrets_ == nullptr) return false;
      auto it = secrets_->find(path.name);
      if (it == secrets_->end()) return false;
      out += it->second;
      return true;
    }
    case DataPath::Scope::kElement:
      break;
  }
  const ElementResult& result = results_[static_cast<std::size_t>(path.slot)];
  if (!result.ran) return false;
  switch (path.field) {
    case DataPath::Field::kStatusCode:
      out += std::to_string(result.status_code);
      return true;
    case DataPath::Field::kError:
      out += result.error;
      return true;
    case DataPath::Field::kResult:
      break;
  }
  if (path.steps.empty()) {
    out += result.text;
    return true;
  }
  if (!result.json) return false;
  const boost::json::value* at = result.json.get();
  for (const DataPath::Step& step : path.steps) {
    if (step.index >= 0) {
      const auto* array = at->if_array();
      if (array == nullptr || static_cast<std::size_t>(step.index) >= array->size()) return false;
      at = &(*array)[static_cast<std::size_t>(step.index)];
    } else {
      const auto* object = at->if_object();
      if (object == nullptr) return false;
      auto it = object->find(step.key);
      if (it == object->end()) return false;
      at = &it->value();
    }
  }
  if (at->is_null()) return false;
  appendJson(*at, out);
  return true;
}

std::optional<std::string> Call::value(const DataPath& path) const {
  std::string out;
  if (!appendValue(path, out)) return std::nullopt;
  return out;
}

const char* exitName(ExitKind exit) {
  switch (exit) {
    case ExitKind::kOutput:
      return "output";
    case ExitKind::kError:
      return "error";
    case ExitKind::kNoMatch:
      return "noMatch";
    case ExitKind::kNoInput:
      return "noInput";
    case ExitKind::kTimeout:
      return "timeout";
    case ExitKind::kRoute:
      return "route";
    case ExitKind::kEnd:
      return "end";
  }
  return "?";
}

const char* hungUpByName(HungUpBy by) {
  switch (by) {
    case HungUpBy::kNone:
      return "";
    case HungUpBy::kFlow:
      return "flow";
    case HungUpBy::kCaller:
      return "caller";
    case HungUpBy::kTransfer:
      return "transfer";
  }
  return "";
}

namespace {
constexpr std::string_view kLeadFieldNames[kLeadFieldCount] = {
    "referenceid", "name",     "name2",      "address", "city",
    "postalcode",  "phonenum", "campaignid", "listid"};
}  // namespace

std::string_view leadFieldName(LeadField field) {
  return kLeadFieldNames[static_cast<std::size_t>(field)];
}

std::optional<LeadField> leadFieldFromName(std::string_view name) {
  for (std::size_t i = 0; i < kLeadFieldCount; ++i) {
    if (kLeadFieldNames[i] == name) return static_cast<LeadField>(i);
  }
  return std::nullopt;
}

}  // namespace callflow
