// Diagnostics: every problem found while loading a flow, each naming where it is in the
// user's words (the element and the key, or a line and column for JSON syntax).
#pragma once

#include <string>
#include <vector>

namespace callflow {

struct Problem {
  enum class Severity { kError, kWarning };
  Severity severity = Severity::kError;
  std::string element;  // empty: the flow document itself
  std::string key;      // empty: the element or document as a whole
  std::string message;
  int line = 0;  // > 0 for JSON syntax errors
  int column = 0;

  // `element "GETAPI": key "timeout": must be at most 120`, `line 3, column 7: …`,
  // `flow: key "start": …`; warnings start with `warning: `.
  std::string text() const;
};

class Diagnostics {
 public:
  void error(std::string element, std::string key, std::string message);
  void warning(std::string element, std::string key, std::string message);
  void syntax(int line, int column, std::string message);

  bool hasErrors() const { return errors_ > 0; }
  int errorCount() const { return errors_; }
  const std::vector<Problem>& problems() const { return problems_; }

 private:
  std::vector<Problem> problems_;
  int errors_ = 0;
};

}  // namespace callflow
