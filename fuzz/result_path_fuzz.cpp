// Fuzz target 3: reading an element's result by path, as fillpoints and settings read an
// ApiRequest's answer (`GETAPI.Result.orders[0].id`, Call::appendValue). The input is a path
// after `X` on its first line (`.Result.orders[0].id`), bound by the loader's binder to the
// ApiRequest X, and the response body after it, parsed the way ApiRequest parses it
// (Boost.JSON, depth 64).
// Invariants: a value read from the JSON is valid UTF-8 (the parser checked it); an object or
// array read comes back as a JSON document; a path that parses keeps its text.
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "callflow/call.h"
#include "callflow/utf8.h"
#include "elements/elements.h"
#include "flow/fillpoint.h"
#include "flow/settings.h"
#include "fuzz_check.h"

namespace {

using namespace callflow;

// The node `path` names in `root`, walked independently of Call; null when it has none.
const boost::json::value* walk(const boost::json::value& root, const DataPath& path) {
  const boost::json::value* at = &root;
  for (const DataPath::Step& step : path.steps) {
    if (step.index >= 0) {
      const auto* array = at->if_array();
      if (array == nullptr || static_cast<std::size_t>(step.index) >= array->size()) return nullptr;
      at = &(*array)[static_cast<std::size_t>(step.index)];
    } else {
      const auto* object = at->if_object();
      if (object == nullptr || !object->contains(step.key)) return nullptr;
      at = &object->at(step.key);
    }
  }
  return at;
}

// Whether a number in `v` was out of the double range (Boost.JSON reads 1e400 as infinity).
bool hasInfinity(const boost::json::value& v) {
  if (const double* d = v.if_double()) return !std::isfinite(*d);
  if (const auto* array = v.if_array()) {
    for (const auto& item : *array) {
      if (hasInfinity(item)) return true;
    }
  }
  if (const auto* object = v.if_object()) {
    for (const auto& item : *object) {
      if (hasInfinity(item.value())) return true;
    }
  }
  return false;
}

// CALLFLOW_FUZZ_SET_ASIDE=huge-number skips documents with such a number, so a run can look for
// other failures while that known one (regressions/result_path/json-document-huge-number) is
// open.
bool setAside(const char* name) {
  const char* list = std::getenv("CALLFLOW_FUZZ_SET_ASIDE");
  return list != nullptr && std::string_view(list).find(name) != std::string_view::npos;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::size_t line_end = input.find('\n');
  std::string path_text = "X";
  if (line_end != std::string_view::npos) path_text += input.substr(0, line_end);
  std::string_view body = line_end == std::string_view::npos ? input : input.substr(line_end + 1);

  auto path = parseDataPath(path_text);
  if (!path) return 0;
  FUZZ_CHECK(path->text == path_text);
  static const ElementType* api_request = [] {
    for (const ElementType& type : elementTypes()) {
      if (type.name == "ApiRequest") return &type;
    }
    return static_cast<const ElementType*>(nullptr);
  }();
  FUZZ_CHECK(api_request != nullptr);
  Diagnostics diagnostics;
  LoadContext context(diagnostics, elementTypes());
  context.setElements({"X"}, {api_request});
  // A bare name (`Xb`) binds as an IvrData property: not a result.
  if (!context.bind(*path).empty() || path->scope != DataPath::Scope::kElement) return 0;
  FUZZ_CHECK(path->slot == 0);

  Call call(1, 0, 0);
  ElementResult& result = call.result(0);
  result.ran = true;
  result.status_code = 200;
  result.text = std::string(body);
  if (!body.empty()) {
    boost::system::error_code ec;
    boost::json::parse_options options;
    options.max_depth = 64;
    auto parsed = boost::json::parse(body, ec, {}, options);
    if (!ec) result.json = std::make_shared<const boost::json::value>(std::move(parsed));
  }

  std::optional<std::string> value = call.value(*path);
  if (path->field != DataPath::Field::kResult || path->steps.empty()) return 0;
  const boost::json::value* node = result.json ? walk(*result.json, *path) : nullptr;
  FUZZ_CHECK(value.has_value() == (node != nullptr && !node->is_null()));
  if (!value) return 0;
  FUZZ_CHECK(isValidUtf8(*value));
  static const bool skip_huge = setAside("huge-number");
  if ((node->is_object() || node->is_array()) && !(skip_huge && hasInfinity(*node))) {
    boost::system::error_code ec;
    boost::json::parse_options options;
    options.max_depth = 64;
    auto again = boost::json::parse(*value, ec, {}, options);
    FUZZ_CHECK(!ec && again.kind() == node->kind());
  }
  return 0;
}
