#include "flow/diagnostics.h"

#include <string_view>
#include <utility>

namespace callflow {
namespace {

// Text from the flow document (keys, header lines, names) appears in problems, and problems are
// printed to terminals and logs: control characters are shown as escapes, so a document cannot
// forge a log line or send terminal escapes (CWE-117). C0, DEL and the C1 range U+0080..U+009F.
std::string shown(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    unsigned code = c;
    if (c == 0xC2 && i + 1 < text.size() && static_cast<unsigned char>(text[i + 1]) >= 0x80 &&
        static_cast<unsigned char>(text[i + 1]) <= 0x9F) {
      code = static_cast<unsigned char>(text[++i]);  // U+0080..U+009F
    } else if (c >= 0x20 && c != 0x7F) {
      out += static_cast<char>(c);
      continue;
    }
    if (code == '\n') {
      out += "\\n";
    } else if (code == '\r') {
      out += "\\r";
    } else if (code == '\t') {
      out += "\\t";
    } else {
      out += code < 0x80 ? "\\x" : "\\u00";
      out += kHex[code >> 4];
      out += kHex[code & 15];
    }
  }
  return out;
}

}  // namespace

std::string Problem::text() const {
  std::string out;
  if (severity == Severity::kWarning) out += "warning: ";
  if (line > 0) {
    out += "line " + std::to_string(line) + ", column " + std::to_string(column) + ": ";
  } else if (element.empty()) {
    out += "flow: ";
  } else {
    out += "element \"" + shown(element) + "\": ";
  }
  if (!key.empty()) out += "key \"" + shown(key) + "\": ";
  out += shown(message);
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
