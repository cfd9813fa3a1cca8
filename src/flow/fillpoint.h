// Fillpoints: `{{path}}` and `{{path | default: "text"}}` inside text settings.
//
// A Template is parsed once, at flow load, into literal text and fillpoints whose data paths
// are already bound to slots (see DataPath in callflow/call.h); rendering per call appends
// literals and looked-up values, encoding each value for where it lands:
//   kText        as is (text-to-speech, properties)
//   kUrl         percent-encoded, all but A-Z a-z 0-9 - . _ ~, so a value cannot change the
//                URL's shape (`/`, `?`, `#`, `&` and space in caller digits stay data)
//   kHeader      as is, but a value with CR, LF or NUL makes rendering fail
//   kJson        a JSON body: inside a JSON string the value is escaped; outside one it is
//                written as a JSON number, true, false or null when it is one, else as a
//                quoted string, so the body stays valid JSON whatever the value
// A path with no value renders as its default, or empty (`null` outside a JSON string).
// Rendering is single pass: a value that itself contains `{{…}}` is not expanded.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "callflow/call.h"
#include "callflow/result.h"

namespace callflow {

enum class Encoding { kText, kUrl, kHeader, kJson };

// Binds a parsed path to its slot; implemented by the flow loader (it knows the elements).
class PathBinder {
 public:
  virtual ~PathBinder() = default;
  // Returns an error message, or an empty string when `path` is bound.
  virtual std::string bind(DataPath& path) = 0;
};

// Parses `GETAPI.Result.orders[0].id` (spaces around it already trimmed), unbound.
Result<DataPath> parseDataPath(std::string_view text);

class Template {
 public:
  // Syntax errors name the character position (1-based) in `text`.
  static Result<Template> parse(std::string_view text, Encoding encoding, PathBinder& binder);

  // Appends the rendering to `out`. For kHeader, fails when a value holds CR, LF or NUL.
  Result<void> renderTo(const Call& call, std::string& out) const;
  std::string render(const Call& call) const;  // for encodings that cannot fail

  // A piece of a rendering: [begin, end) in the text, and whether it is the template's own
  // text (the same on every call) or a value.
  struct Part {
    std::size_t begin = 0;
    std::size_t end = 0;
    bool fixed = true;
  };
  // Renders like render() and cuts the text into its fixed parts and values, so speech can
  // cache the fixed parts apart from the values. For kText templates.
  std::string renderParts(const Call& call, std::vector<Part>& parts) const;

  bool empty() const { return segments_.empty(); }
  bool hasFillpoints() const { return fill_count_ > 0; }
  const std::string& source() const { return source_; }
  // The data paths it reads, in order.
  std::vector<const DataPath*> paths() const;

 private:
  enum class FillEncoding { kText, kUrl, kHeader, kJsonString, kJsonValue };
  struct Segment {
    std::string literal;  // text before the fillpoint (or the trailing text)
    bool has_fill = false;
    DataPath path;
    bool has_default = false;
    std::string default_text;
    FillEncoding encoding = FillEncoding::kText;
  };

  std::vector<Segment> segments_;
  std::string source_;
  int fill_count_ = 0;
};

// Encoders, exposed for tests and for ApiRequest.
void appendPercentEncoded(std::string_view value, std::string& out);
void appendJsonEscaped(std::string_view value, std::string& out);
bool isJsonScalarLiteral(std::string_view value);  // a JSON number, true, false or null
// A number as a person reads it: whole numbers below 10^15 without exponent or decimal point
// (100000, not 1e+05), others in their shortest exact form (42.5, 1e+300); -0 as 0.
void appendNumber(double value, std::string& out);

}  // namespace callflow
