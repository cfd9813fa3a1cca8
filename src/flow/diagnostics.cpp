#include "flow/diagnostics.h"

#include <utility>

namespace callflow {

std::string Problem::text() const {
  std::string out;
  if (severity == Severity::kWarning) out += "warning: ";
  if (line > 0) {
    out += "line " + std::to_string(line) + ", column " + std::to_string(column) + ": ";
  } else if (element.empty()) {
    out += "flow: ";
  } else {
    out += "element \"" + element + "\": ";
  }
  if (!key.empty()) out += "key \"" + key + "\": ";
  out += message;
  return out;
}

void Diagnostics::error(std::string element, std::string key, std::string message) {
  problems_.push_back(
      {Problem::Severity::kError, std::move(element), std::move(key), std::move(message)});
  ++errors_;
}

void Diagnostics::warning(std::string element, std::string key, std::string message) {
  problems_.push_back(
      {Problem::Severity::kWarning, std::move(element), std::move(key), std::move(message)});
}

void Diagnostics::syntax(int line, int column, std::string message) {
  Problem problem;
  problem.message = std::move(message);
  problem.line = line;
  problem.column = column;
  problems_.push_back(std::move(problem));
  ++errors_;
}

}  // namespace callflow
