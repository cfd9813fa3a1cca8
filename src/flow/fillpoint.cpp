#include "flow/fillpoint.h"

#include <charconv>
#include <cmath>

#include "callflow/utf8.h"

namespace callflow {
namespace {

constexpr std::size_t kMaxPathLength = 256;
constexpr std::size_t kMaxDefaultLength = 1024;

bool isSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && isSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && isSpace(s.back())) s.remove_suffix(1);
  return s;
}

// Characters a path key may hold: anything printable but the path's own punctuation.
bool isKeyChar(char c) {
  auto u = static_cast<unsigned char>(c);
  if (u < 0x20 || u == 0x7F) return false;
  switch (c) {
    case '.':
    case '[':
    case ']':
    case '{':
    case '}':
    case '|':
    case '"':
    case '\'':
    case ' ':
    case '\t':
      return false;
    default:
      return true;
  }
}

Error positioned(std::size_t position, std::string message) {
  return fail(ErrorCode::kInvalidArgument,
              "at character " + std::to_string(position + 1) + ": " + message);
}

// Where a JSON template's text stands, literal by literal, so each fillpoint is placed: inside a
// string its value is escaped; outside, it is written as one whole JSON value (a number, true,
// false, null or a quoted string), so it must stand where a value stands: after `:`, `[` or `,`
// in an array, or alone, and before `,`, `]` or `}`. Anywhere else (`-{{x}}`, `{{x}}{{y}}`,
// `{ {{x}}: 1 }`) or inside an escape sequence (`"\{{x}}"`, `"\u00{{x}}"`), some value would
// make the body something other than JSON, whatever the escaping: the template is refused.
class JsonShape {
 public:
  // Advances over template text; "" or why the fillpoint before it cannot stand there.
  std::string scan(std::string_view literal) {
    for (char c : literal) {
      if (in_string_) {
        if (hex_left_ > 0) {
          --hex_left_;
        } else if (after_backslash_) {
          after_backslash_ = false;
          if (c == 'u') hex_left_ = 4;
        } else if (c == '\\') {
          after_backslash_ = true;
        } else if (c == '"') {
          in_string_ = false;
        }
        continue;
      }
      if (isSpace(c)) continue;
      if (value_pending_) {
        if (c != ',' && c != ']' && c != '}')
          return "fillpoint outside a JSON string followed by " + quoted(c) + kWhole;
        value_pending_ = false;
      }
      last_ = c;
      if (c == '"') {
        in_string_ = true;
      } else if (c == '{' || c == '[') {
        open_.push_back(c);
      } else if ((c == '}' || c == ']') && !open_.empty()) {
        open_.pop_back();
      }
    }
    return {};
  }

  bool inString() const { return in_string_; }

  // A fillpoint comes after the text scanned so far: "" or why it cannot stand there.
  std::string place() {
    if (in_string_) {
      return after_backslash_ || hex_left_ > 0 ? "fillpoint inside a JSON escape sequence" : "";
    }
    if (value_pending_) return "two fillpoints side by side outside a JSON string";
    value_pending_ = true;
    bool in_object = !open_.empty() && open_.back() == '{';
    if (last_ == '{' || (last_ == ',' && in_object)) {
      return "fillpoint as a JSON key: put it inside quotes (\"{{...}}\": ...)";
    }
    if (last_ == 0 || last_ == ':' || last_ == '[' || last_ == ',') return {};
    return "fillpoint outside a JSON string after " + quoted(last_) + kWhole;
  }

 private:
  static constexpr const char* kWhole =
      ": there it is written as a whole JSON value (put it inside quotes to join it with text)";
  static std::string quoted(char c) {
    auto u = static_cast<unsigned char>(c);
    if (u > 0x20 && u < 0x7F) return std::string("\"") + c + "\"";
    static constexpr char kHex[] = "0123456789ABCDEF";
    return std::string("byte 0x") + kHex[u >> 4] + kHex[u & 0xF];
  }

  bool in_string_ = false;
  bool after_backslash_ = false;
  int hex_left_ = 0;            // of a \uXXXX
  bool value_pending_ = false;  // a fillpoint outside a string, not yet followed by anything
  char last_ = 0;               // the last character outside strings but whitespace
  std::vector<char> open_;      // the objects and arrays open
};

}  // namespace

Result<DataPath> parseDataPath(std::string_view text) {
  auto bad = [&](std::string why) {
    return fail(ErrorCode::kInvalidArgument, "\"" + std::string(text) + "\": " + why);
  };
  if (text.empty()) return fail(ErrorCode::kInvalidArgument, "empty data path");
  if (text.size() > kMaxPathLength) {
    return fail(ErrorCode::kInvalidArgument,
                "data path longer than " + std::to_string(kMaxPathLength) + " characters");
  }
  DataPath path;
  path.text = std::string(text);
  std::vector<DataPath::Step> steps;
  std::size_t i = 0;
  bool expect_key = true;
  while (i < text.size()) {
    if (expect_key) {
      std::size_t start = i;
      while (i < text.size() && isKeyChar(text[i])) ++i;
      if (i == start) return bad("expected a name at character " + std::to_string(i + 1));
      steps.push_back({std::string(text.substr(start, i - start)), -1});
      expect_key = false;
    } else if (text[i] == '.') {
      ++i;
      expect_key = true;
      if (i == text.size()) return bad("ends with '.'");
    } else if (text[i] == '[') {
      std::size_t close = text.find(']', i);
      if (close == std::string_view::npos) return bad("'[' without ']'");
      std::string_view digits = text.substr(i + 1, close - i - 1);
      if (digits.empty() || digits.size() > 6) return bad("array index must be 0 to 999999");
      int index = 0;
      for (char c : digits) {
        if (c < '0' || c > '9') return bad("array index must be a number");
        index = index * 10 + (c - '0');
      }
      steps.push_back({std::string(), index});
      i = close + 1;
    } else {
      return bad(std::string("unexpected '") + text[i] + "' at character " + std::to_string(i + 1));
    }
  }
  if (steps.front().index >= 0) return bad("must start with a name");
  path.name = steps.front().key;
  path.steps = std::move(steps);  // the loader's binder interprets and trims them
  return path;
}

Result<Template> Template::parse(std::string_view text, Encoding encoding, PathBinder& binder) {
  Template out;
  out.source_ = std::string(text);
  JsonShape json;
  std::size_t value_open = 0;  // where the last fillpoint outside a JSON string starts
  Segment current;
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t open = text.find("{{", i);
    if (open == std::string_view::npos) {
      current.literal.append(text.substr(i));
      break;
    }
    current.literal.append(text.substr(i, open - i));
    std::size_t close = text.find("}}", open + 2);
    if (close == std::string_view::npos) return positioned(open, "\"{{\" is never closed");
    std::string_view inside = text.substr(open + 2, close - open - 2);
    if (inside.find("{{") != std::string_view::npos || inside.find('{') == 0) {
      return positioned(open, "\"{{\" inside a fillpoint");
    }
    std::string_view path_text = inside;
    std::size_t bar = inside.find('|');
    if (bar != std::string_view::npos) {
      path_text = inside.substr(0, bar);
      std::string_view filter = trim(inside.substr(bar + 1));
      constexpr std::string_view kDefault = "default";
      if (filter.substr(0, kDefault.size()) != kDefault) {
        return positioned(open, "unknown filter (only `| default: \"text\"` is known)");
      }
      filter = trim(filter.substr(kDefault.size()));
      if (filter.empty() || filter.front() != ':') {
        return positioned(open, "expected ':' after default");
      }
      filter = trim(filter.substr(1));
      if (filter.size() < 2 || (filter.front() != '"' && filter.front() != '\'') ||
          filter.back() != filter.front()) {
        return positioned(open, "the default must be quoted text, e.g. default: \"none\"");
      }
      char quote = filter.front();
      std::string value;
      for (std::size_t k = 1; k + 1 < filter.size(); ++k) {
        char c = filter[k];
        if (c == '\\' && k + 2 < filter.size()) {
          value.push_back(filter[++k]);
        } else if (c == quote) {
          return positioned(open, "unescaped quote inside the default text");
        } else {
          value.push_back(c);
        }
      }
      if (value.size() > kMaxDefaultLength) return positioned(open, "default text too long");
      current.has_default = true;
      current.default_text = std::move(value);
    }
    path_text = trim(path_text);
    if (path_text.empty()) return positioned(open, "empty fillpoint \"{{}}\"");
    auto path = parseDataPath(path_text);
    if (!path) return positioned(open, "fillpoint " + path.error().message);
    if (std::string why = binder.bind(*path); !why.empty()) {
      return positioned(open, "fillpoint \"{{" + std::string(path_text) + "}}\": " + why);
    }
    current.path = std::move(*path);
    current.has_fill = true;
    if (encoding == Encoding::kJson) {
      if (std::string why = json.scan(current.literal); !why.empty()) {
        return positioned(value_open, why);
      }
      if (std::string why = json.place(); !why.empty()) return positioned(open, why);
      current.encoding = json.inString() ? FillEncoding::kJsonString : FillEncoding::kJsonValue;
      if (!json.inString()) value_open = open;
    } else if (encoding == Encoding::kUrl) {
      current.encoding = FillEncoding::kUrl;
    } else if (encoding == Encoding::kHeader) {
      current.encoding = FillEncoding::kHeader;
    }
    out.segments_.push_back(std::move(current));
    current = Segment{};
    ++out.fill_count_;
    i = close + 2;
  }
  if (encoding == Encoding::kJson) {
    if (std::string why = json.scan(current.literal); !why.empty()) {
      return positioned(value_open, why);
    }
  }
  if (!current.literal.empty()) out.segments_.push_back(std::move(current));
  return out;
}

Result<void> Template::renderTo(const Call& call, std::string& out) const {
  std::string value;
  for (const Segment& segment : segments_) {
    out += segment.literal;
    if (!segment.has_fill) continue;
    value.clear();
    bool found = call.appendValue(segment.path, value);
    if ((!found || value.empty()) && segment.has_default) {
      value = segment.default_text;
      found = true;
    }
    switch (segment.encoding) {
      case FillEncoding::kText:
        out += value;
        break;
      case FillEncoding::kUrl:
        appendPercentEncoded(value, out);
        break;
      case FillEncoding::kHeader:
        if (value.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos) {
          return fail(ErrorCode::kInvalidArgument,
                      "the value of \"{{" + segment.path.text + "}}\" contains CR, LF or NUL");
        }
        out += value;
        break;
      case FillEncoding::kJsonString:
        appendJsonEscaped(value, out);
        break;
      case FillEncoding::kJsonValue:
        if (!found) {
          out += "null";
        } else if (isJsonScalarLiteral(value)) {
          out += value;
        } else {
          out += '"';
          appendJsonEscaped(value, out);
          out += '"';
        }
        break;
    }
  }
  return {};
}

std::string Template::render(const Call& call) const {
  // One allocation for most texts: the literals and about 12 characters per value (a
  // template of a single short value stays in the string's own buffer).
  std::size_t expected = 0;
  for (const Segment& segment : segments_) {
    expected += segment.literal.size() + (segment.has_fill ? 12 : 0);
  }
  std::string out;
  out.reserve(expected);
  (void)renderTo(call, out);  // only kHeader can fail; its callers use renderTo
  return out;
}

std::string Template::renderParts(const Call& call, std::vector<Part>& parts) const {
  std::string out;
  std::string value;
  parts.clear();
  auto add = [&](std::size_t begin, bool fixed) {
    if (out.size() == begin) return;
    if (!parts.empty() && parts.back().fixed == fixed) {
      parts.back().end = out.size();  // adjacent pieces of one kind make one part
    } else {
      parts.push_back(Part{begin, out.size(), fixed});
    }
  };
  for (const Segment& segment : segments_) {
    std::size_t begin = out.size();
    out += segment.literal;
    add(begin, true);
    if (!segment.has_fill) continue;
    value.clear();
    bool found = call.appendValue(segment.path, value);
    if ((!found || value.empty()) && segment.has_default) value = segment.default_text;
    begin = out.size();
    out += value;
    add(begin, false);
  }
  return out;
}

std::vector<const DataPath*> Template::paths() const {
  std::vector<const DataPath*> out;
  for (const Segment& segment : segments_) {
    if (segment.has_fill) out.push_back(&segment.path);
  }
  return out;
}

void appendPercentEncoded(std::string_view value, std::string& out) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (char c : value) {
    auto u = static_cast<unsigned char>(c);
    // ASCII only, whatever the locale (std::isalnum may accept other bytes, and is a call).
    bool alnum = (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9');
    if (alnum || c == '-' || c == '.' || c == '_' || c == '~') {
      out += c;
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 0xF];
    }
  }
}

void appendJsonEscaped(std::string_view value, std::string& out) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (std::size_t i = 0; i < value.size(); ++i) {
    char c = value[i];
    auto u = static_cast<unsigned char>(c);
    if (u >= 0x80) {  // JSON text is UTF-8: a byte that starts no well-formed sequence is U+FFFD
      std::size_t length = utf8SequenceLength(value, i);
      if (length == 0) {
        out += "\xEF\xBF\xBD";
      } else {
        out.append(value.substr(i, length));
        i += length - 1;
      }
      continue;
    }
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:
        if (u < 0x20 || u == 0x7F) {
          out += "\\u00";
          out += kHex[u >> 4];
          out += kHex[u & 0xF];
        } else {
          out += c;
        }
    }
  }
}

void appendNumber(double value, std::string& out) {
  // Boost.JSON reads a number past the double range (1e400) as infinity. It is written back as
  // 1e999: still a JSON number (null would lose the sign and the magnitude), read again as the
  // same infinity, and the same text every time in a URL or a spoken text. NaN cannot come from
  // JSON; should one come, it is null.
  if (std::isinf(value)) {
    out += value > 0 ? "1e999" : "-1e999";
    return;
  }
  if (std::isnan(value)) {
    out += "null";
    return;
  }
  if (value == 0) value = 0;  // -0 reads as 0
  char buffer[32];
  std::to_chars_result written;
  if (value == std::floor(value) && std::fabs(value) < 1e15) {
    written = std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::fixed, 0);
  } else {
    written = std::to_chars(buffer, buffer + sizeof buffer, value);
  }
  if (written.ec == std::errc()) out.append(buffer, written.ptr);
}

bool isJsonScalarLiteral(std::string_view v) {
  if (v == "true" || v == "false" || v == "null") return true;
  // -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
  std::size_t i = 0;
  auto digits = [&] {
    std::size_t start = i;
    while (i < v.size() && v[i] >= '0' && v[i] <= '9') ++i;
    return i - start;
  };
  if (i < v.size() && v[i] == '-') ++i;
  if (i < v.size() && v[i] == '0') {
    ++i;
  } else if (digits() == 0) {
    return false;
  }
  if (i < v.size() && v[i] == '.') {
    ++i;
    if (digits() == 0) return false;
  }
  if (i < v.size() && (v[i] == 'e' || v[i] == 'E')) {
    ++i;
    if (i < v.size() && (v[i] == '+' || v[i] == '-')) ++i;
    if (digits() == 0) return false;
  }
  return i == v.size() && v.size() <= 40;
}

}  // namespace callflow
