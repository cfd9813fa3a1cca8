// Strict JSON parsing for documents users write (flows, test cases): syntax errors with line
// and column, duplicate keys refused (Boost.JSON would keep the last silently), a depth limit,
// valid UTF-8 only, no NUL in strings.
#pragma once

#include <boost/json/value.hpp>
#include <string>
#include <string_view>

#include "callflow/result.h"

namespace callflow {

struct JsonError {
  int line = 0;
  int column = 0;
  std::string message;
};

// On failure returns false and fills `error`.
bool parseStrictJson(std::string_view text, boost::json::value& out, JsonError& error);

}  // namespace callflow
