#include "flow/problems_json.h"

#include <boost/json/object.hpp>

namespace callflow {

boost::json::array problemsToJson(const std::vector<Problem>& problems) {
  boost::json::array list;
  for (const Problem& p : problems) {
    boost::json::object o{
        {"severity", p.severity == Problem::Severity::kError ? "error" : "warning"},
        {"element", p.element},
        {"key", p.key},
        {"message", p.message},
        {"text", p.text()}};
    if (p.line > 0) {
      o["line"] = p.line;
      o["column"] = p.column;
    }
    list.push_back(std::move(o));
  }
  return list;
}

}  // namespace callflow
