#include "server/router.h"

#include <algorithm>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <deque>

namespace callflow {
namespace {

char lowerAscii(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return lowerAscii(x) == lowerAscii(y);
         });
}

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// "/a/b" -> {"a", "b"}; "/" -> {""}. `path` starts with '/'.
std::vector<std::string_view> splitSegments(std::string_view path) {
  std::vector<std::string_view> segments;
  path.remove_prefix(1);
  for (;;) {
    std::size_t slash = path.find('/');
    segments.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return segments;
}

// Empty when `path` may be routed, else why not. Checked again by dispatch() so that a Request
// built by hand cannot reach a handler with a path parseTarget would have refused.
std::string_view pathProblem(std::string_view path) {
  if (path.empty() || path.front() != '/') return "path must start with '/'";
  if (path.find('\0') != std::string_view::npos) return "path contains NUL";
  for (std::string_view segment : splitSegments(path)) {
    if (segment == "." || segment == "..") return "path contains a \".\" or \"..\" segment";
  }
  return {};
}

struct Segment {
  std::string text;  // the literal, or the parameter's name
  bool param = false;
};

struct Route {
  std::string method;
  std::vector<Segment> segments;
  Handler handler;
  std::size_t body_limit = 0;

  bool matches(const std::vector<std::string_view>& path) const {
    if (path.size() != segments.size()) return false;
    for (std::size_t i = 0; i < path.size(); ++i) {
      if (!segments[i].param && segments[i].text != path[i]) return false;
    }
    return true;
  }

  // Both routes match the same path: the one with a literal segment further left wins.
  bool moreSpecificThan(const Route& other) const {
    for (std::size_t i = 0; i < segments.size(); ++i) {
      if (segments[i].param != other.segments[i].param) return !segments[i].param;
    }
    return false;
  }

  bool sameShape(const Route& other) const {
    if (segments.size() != other.segments.size()) return false;
    for (std::size_t i = 0; i < segments.size(); ++i) {
      if (segments[i].param != other.segments[i].param) return false;
      if (!segments[i].param && segments[i].text != other.segments[i].text) return false;
    }
    return true;
  }
};

struct PrefixRoute {
  std::string prefix;  // "/" or "/ui" (no trailing '/')
  Handler handler;

  // The rest of `path` after the prefix (without its '/'), or nullopt when it is not under it.
  std::optional<std::string_view> rest(std::string_view path) const {
    if (prefix == "/") return path.substr(1);
    if (!path.starts_with(prefix)) return std::nullopt;
    path.remove_prefix(prefix.size());
    if (path.empty()) return path;
    if (path.front() != '/') return std::nullopt;
    return path.substr(1);
  }
};

bool isToken68(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~' || c == '+' || c == '/';
}

std::string_view trimSpaces(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// "Scheme credentials" -> credentials when the scheme is `scheme` (case-insensitive).
std::optional<std::string_view> credentialsFor(std::string_view scheme,
                                               std::string_view header_value) {
  header_value = trimSpaces(header_value);
  std::size_t space = header_value.find_first_of(" \t");
  if (space == std::string_view::npos) return std::nullopt;
  if (!equalsIgnoreCase(header_value.substr(0, space), scheme)) return std::nullopt;
  std::string_view credentials = trimSpaces(header_value.substr(space));
  if (credentials.empty()) return std::nullopt;
  return credentials;
}

int base64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

// Standard alphabet, padding required (RFC 4648 section 4).
std::optional<std::string> base64Decode(std::string_view in) {
  if (in.empty() || in.size() % 4 != 0) return std::nullopt;
  std::string out;
  out.reserve(in.size() / 4 * 3);
  for (std::size_t i = 0; i < in.size(); i += 4) {
    std::uint32_t bits = 0;
    int padding = 0;
    for (std::size_t j = 0; j < 4; ++j) {
      char c = in[i + j];
      int value = 0;
      if (c == '=') {
        if (i + 4 != in.size() || j < 2) return std::nullopt;  // '=' only in the last 2 places
        ++padding;
      } else {
        value = base64Value(c);
        if (value < 0 || padding > 0) return std::nullopt;
      }
      bits = (bits << 6) | static_cast<std::uint32_t>(value);
    }
    out.push_back(static_cast<char>((bits >> 16) & 0xff));
    if (padding < 2) out.push_back(static_cast<char>((bits >> 8) & 0xff));
    if (padding < 1) out.push_back(static_cast<char>(bits & 0xff));
  }
  return out;
}

}  // namespace

std::string_view Request::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (equalsIgnoreCase(key, name)) return value;
  }
  return {};
}

Response Response::json(int status, const boost::json::value& value) {
  return Response{.status = status, .body = boost::json::serialize(value)};
}

Response Response::error(int status, std::string_view message) {
  boost::json::value body = {{"error", {{"status", status}, {"message", message}}}};
  return json(status, body);
}

std::string_view PathParams::get(std::string_view name) const {
  for (const auto& [key, value] : values) {
    if (key == name) return value;
  }
  return {};
}

Result<void> parseTarget(std::string_view target, Request& request) {
  if (target.empty() || target.front() != '/') {
    return fail(ErrorCode::kInvalidArgument, "request target must start with '/'");
  }
  std::size_t question = target.find('?');
  std::string_view raw_path = target.substr(0, question);
  request.query =
      question == std::string_view::npos ? std::string() : std::string(target.substr(question + 1));
  std::string path;
  path.reserve(raw_path.size());
  for (std::size_t i = 0; i < raw_path.size(); ++i) {
    if (raw_path[i] != '%') {
      path.push_back(raw_path[i]);
      continue;
    }
    int high = i + 2 < raw_path.size() ? hexValue(raw_path[i + 1]) : -1;
    int low = high >= 0 ? hexValue(raw_path[i + 2]) : -1;
    if (low < 0) return fail(ErrorCode::kInvalidArgument, "request path: bad percent escape");
    char decoded = static_cast<char>(high * 16 + low);
    if (decoded == '/') {
      return fail(ErrorCode::kInvalidArgument, "request path: encoded '/' is not allowed");
    }
    path.push_back(decoded);
    i += 2;
  }
  if (std::string_view problem = pathProblem(path); !problem.empty()) {
    return fail(ErrorCode::kInvalidArgument, "request " + std::string(problem));
  }
  request.path = std::move(path);
  return {};
}

struct Router::Impl {
  std::deque<Route> routes;  // a deque: PathParams names point into it
  std::vector<PrefixRoute> prefixes;
  std::optional<Error> problem;

  void record(std::string message) {
    if (!problem) problem = fail(ErrorCode::kInternal, "route table: " + std::move(message));
  }

  // The route for `method` on the path's `segments` (HEAD falls back to GET), or null; the
  // methods of every route matching the path go to `allowed` when it is given.
  const Route* find(std::string_view method, const std::vector<std::string_view>& segments,
                    std::vector<std::string_view>* allowed) const {
    const Route* best = nullptr;
    const Route* get_for_head = nullptr;
    for (const Route& route : routes) {
      if (!route.matches(segments)) continue;
      if (allowed && std::find(allowed->begin(), allowed->end(), route.method) == allowed->end()) {
        allowed->push_back(route.method);
      }
      if (route.method == method) {
        if (!best || route.moreSpecificThan(*best)) best = &route;
      } else if (method == "HEAD" && route.method == "GET") {
        if (!get_for_head || route.moreSpecificThan(*get_for_head)) get_for_head = &route;
      }
    }
    return best ? best : get_for_head;
  }
};

Router::Router() : impl_(std::make_unique<Impl>()) {}
Router::~Router() = default;
Router::Router(Router&&) noexcept = default;
Router& Router::operator=(Router&&) noexcept = default;

void Router::add(std::string_view method, std::string_view pattern, Handler handler,
                 std::size_t body_limit) {
  std::string where = std::string(method) + " \"" + std::string(pattern) + "\": ";
  if (method.empty() || pattern.empty() || pattern.front() != '/') {
    impl_->record(where + "needs a method and a pattern starting with '/'");
    return;
  }
  Route route{
      .method = std::string(method), .handler = std::move(handler), .body_limit = body_limit};
  for (std::string_view text : splitSegments(pattern)) {
    Segment segment{.text = std::string(text)};
    if (text.size() >= 2 && text.front() == '{' && text.back() == '}') {
      segment.text = std::string(text.substr(1, text.size() - 2));
      segment.param = true;
    }
    if (segment.text.find_first_of("{}") != std::string::npos ||
        (segment.param && segment.text.empty())) {
      impl_->record(where + "a parameter must be a whole segment \"{name}\"");
      return;
    }
    for (const Segment& earlier : route.segments) {
      if (segment.param && earlier.param && earlier.text == segment.text) {
        impl_->record(where + "parameter \"" + segment.text + "\" appears twice");
        return;
      }
    }
    route.segments.push_back(std::move(segment));
  }
  for (const Route& existing : impl_->routes) {
    if (existing.method == route.method && existing.sameShape(route)) {
      impl_->record(where + "registered twice");
      return;
    }
  }
  impl_->routes.push_back(std::move(route));
}

void Router::addPrefix(std::string_view prefix, Handler handler) {
  if (prefix.empty() || prefix.front() != '/') {
    impl_->record("prefix \"" + std::string(prefix) + "\": must start with '/'");
    return;
  }
  if (prefix.size() > 1 && prefix.back() == '/') prefix.remove_suffix(1);
  impl_->prefixes.push_back(PrefixRoute{std::string(prefix), std::move(handler)});
  // Longest first, so the first that matches is the one to use.
  std::stable_sort(
      impl_->prefixes.begin(), impl_->prefixes.end(),
      [](const PrefixRoute& a, const PrefixRoute& b) { return a.prefix.size() > b.prefix.size(); });
}

Result<void> Router::status() const {
  if (impl_->problem) return *impl_->problem;
  return {};
}

std::size_t Router::bodyLimit(std::string_view method, std::string_view path) const {
  if (!pathProblem(path).empty()) return 0;
  const Route* route = impl_->find(method, splitSegments(path), nullptr);
  return route ? route->body_limit : 0;
}

std::size_t Router::largestBodyLimit() const {
  std::size_t largest = 0;
  for (const Route& route : impl_->routes) largest = std::max(largest, route.body_limit);
  return largest;
}

boost::asio::awaitable<Response> Router::dispatch(const Request& request) const {
  if (std::string_view problem = pathProblem(request.path); !problem.empty()) {
    co_return Response::error(400, "request " + std::string(problem));
  }
  std::vector<std::string_view> segments = splitSegments(request.path);
  std::vector<std::string_view> allowed;  // methods of the routes matching the path
  const Route* best = impl_->find(request.method, segments, &allowed);
  if (best) {
    PathParams params;
    for (std::size_t i = 0; i < segments.size(); ++i) {
      if (best->segments[i].param) {
        params.values.emplace_back(best->segments[i].text, std::string(segments[i]));
      }
    }
    co_return co_await best->handler(request, params);
  }
  if (!allowed.empty()) {
    bool has_get = std::find(allowed.begin(), allowed.end(), "GET") != allowed.end();
    bool has_head = std::find(allowed.begin(), allowed.end(), "HEAD") != allowed.end();
    if (has_get && !has_head) allowed.push_back("HEAD");
    std::string allow;
    for (std::string_view method : allowed) {
      if (!allow.empty()) allow += ", ";
      allow += method;
    }
    Response response = Response::error(
        405, "method " + std::string(request.method) + " is not allowed on " + request.path);
    response.headers.emplace_back("Allow", std::move(allow));
    co_return response;
  }
  for (const PrefixRoute& prefix : impl_->prefixes) {
    if (std::optional<std::string_view> rest = prefix.rest(request.path)) {
      PathParams params;
      params.values.emplace_back("rest", std::string(*rest));
      co_return co_await prefix.handler(request, params);
    }
  }
  co_return Response::error(404, "not found: " + request.path);
}

std::optional<std::pair<std::string, std::string>> parseBasicAuth(std::string_view header_value) {
  std::optional<std::string_view> credentials = credentialsFor("basic", header_value);
  if (!credentials) return std::nullopt;
  std::optional<std::string> decoded = base64Decode(*credentials);
  if (!decoded) return std::nullopt;
  for (char c : *decoded) {
    auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f) return std::nullopt;  // RFC 7617: no control characters
  }
  std::size_t colon = decoded->find(':');
  if (colon == std::string::npos) return std::nullopt;
  return std::pair{decoded->substr(0, colon), decoded->substr(colon + 1)};
}

std::optional<std::string_view> parseBearer(std::string_view header_value) {
  std::optional<std::string_view> token = credentialsFor("bearer", header_value);
  if (!token) return std::nullopt;
  std::size_t end = token->find_last_not_of('=');
  if (end == std::string_view::npos) return std::nullopt;  // only '='
  for (std::size_t i = 0; i <= end; ++i) {
    if (!isToken68((*token)[i])) return std::nullopt;
  }
  return token;
}

}  // namespace callflow
