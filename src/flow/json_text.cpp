#include "flow/json_text.h"

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/parse.hpp>
#include <set>
#include <vector>

namespace callflow {
namespace {

constexpr std::size_t kMaxDepth = 64;

// A validating pass: tracks keys per open object to find duplicates and strings with NUL.
struct CheckHandler {
  static constexpr std::size_t max_object_size = std::size_t(-1);
  static constexpr std::size_t max_array_size = std::size_t(-1);
  static constexpr std::size_t max_key_size = std::size_t(-1);
  static constexpr std::size_t max_string_size = std::size_t(-1);

  std::vector<std::set<std::string>> objects;
  std::string key;
  std::string problem;

  bool fail(boost::system::error_code& ec, std::string message) {
    problem = std::move(message);
    ec = boost::json::error::syntax;  // any error stops the parser; `problem` says which
    return false;
  }

  bool on_document_begin(boost::system::error_code&) { return true; }
  bool on_document_end(boost::system::error_code&) { return true; }
  bool on_object_begin(boost::system::error_code&) {
    objects.emplace_back();
    return true;
  }
  bool on_object_end(std::size_t, boost::system::error_code&) {
    objects.pop_back();
    return true;
  }
  bool on_array_begin(boost::system::error_code&) { return true; }
  bool on_array_end(std::size_t, boost::system::error_code&) { return true; }
  bool on_key_part(boost::json::string_view s, std::size_t, boost::system::error_code&) {
    key.append(s.data(), s.size());
    return true;
  }
  bool on_key(boost::json::string_view s, std::size_t, boost::system::error_code& ec) {
    key.append(s.data(), s.size());
    std::string done = std::move(key);
    key.clear();
    if (done.find('\0') != std::string::npos) return fail(ec, "a key contains a NUL character");
    if (!objects.back().insert(done).second) {
      return fail(ec, "duplicate key \"" + done + "\"");
    }
    return true;
  }
  bool on_string_part(boost::json::string_view s, std::size_t, boost::system::error_code& ec) {
    return check(s, ec);
  }
  bool on_string(boost::json::string_view s, std::size_t, boost::system::error_code& ec) {
    return check(s, ec);
  }
  bool check(boost::json::string_view s, boost::system::error_code& ec) {
    for (char c : s) {
      if (c == '\0') return fail(ec, "a string contains a NUL character");
    }
    return true;
  }
  bool on_number_part(boost::json::string_view, boost::system::error_code&) { return true; }
  bool on_int64(std::int64_t, boost::json::string_view, boost::system::error_code&) { return true; }
  bool on_uint64(std::uint64_t, boost::json::string_view, boost::system::error_code&) {
    return true;
  }
  bool on_double(double, boost::json::string_view, boost::system::error_code&) { return true; }
  bool on_bool(bool, boost::system::error_code&) { return true; }
  bool on_null(boost::system::error_code&) { return true; }
  bool on_comment_part(boost::json::string_view, boost::system::error_code&) { return true; }
  bool on_comment(boost::json::string_view, boost::system::error_code&) { return true; }
};

void position(std::string_view text, std::size_t offset, JsonError& error) {
  error.line = 1;
  error.column = 1;
  for (std::size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++error.line;
      error.column = 1;
    } else if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) {
      ++error.column;  // count characters, not UTF-8 continuation bytes
    }
  }
}

std::string describe(const boost::system::error_code& ec) {
  namespace je = boost::json;
  if (ec == je::error::too_deep) return "nested deeper than 64 levels";
  if (ec == je::error::syntax) return "syntax error";
  if (ec == je::error::extra_data) return "unexpected text after the JSON document";
  if (ec == je::error::incomplete) return "the document ends too early";
  if (ec == je::error::exponent_overflow) return "number out of range";
  return ec.message();
}

}  // namespace

bool parseStrictJson(std::string_view text, boost::json::value& out, JsonError& error) {
  boost::json::parse_options options;
  options.max_depth = kMaxDepth;
  boost::json::basic_parser<CheckHandler> checker(options);
  boost::system::error_code ec;
  std::size_t used = checker.write_some(false, text.data(), text.size(), ec);
  if (!ec && used < text.size()) ec = boost::json::error::extra_data;
  if (ec) {
    position(text, used, error);
    error.message = checker.handler().problem.empty() ? describe(ec) : checker.handler().problem;
    return false;
  }
  boost::json::value parsed =
      boost::json::parse(boost::json::string_view(text.data(), text.size()), ec, {}, options);
  if (ec) {  // the checker accepted it, so this is not expected; report it all the same
    error = {1, 1, describe(ec)};
    return false;
  }
  out = std::move(parsed);
  return true;
}

}  // namespace callflow
