// Router: the request and response types of `callflow serve` and the table that maps a method and
// a path to a handler coroutine.
//
// Patterns are literal segments and `{name}` segments ("/leadservices/api/v2/leads/{id}"); a
// pattern whose every segment matches wins over no match, a literal segment over a `{name}` one.
// A path that some pattern matches under another method answers 405 with `Allow`; nothing at all
// answers 404; a prefix route (`addPrefix("/", ...)`, for the web UI's static files) is tried last.
// Paths are percent-decoded once (parseTarget); a path with NUL, an encoded '/', or a "." or ".."
// segment is refused with 400 before any handler sees it.
//
// Deliberately free of Beast: the server (http_server.cpp) fills a Request from the wire, so a
// handler's translation unit includes only this header and stays quick to compile.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/json/fwd.hpp>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "callflow/result.h"

namespace callflow {

struct Request {
  std::string_view method;  // "GET", "POST": static storage (the server passes known methods only)
  std::string path;         // percent-decoded, without the query
  std::string query;        // raw (still percent-encoded), without the '?'
  std::string body;
  std::string remote;                                        // the peer, "127.0.0.1:53312"
  std::vector<std::pair<std::string, std::string>> headers;  // in arrival order

  // The first header called `name` (ASCII case-insensitive); empty when there is none.
  std::string_view header(std::string_view name) const;
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";  // empty: application/octet-stream
  std::string body;
  // Extra header fields. The server sets Content-Length, Content-Type, Connection and Server
  // itself and ignores those names here.
  std::vector<std::pair<std::string, std::string>> headers;

  // `value` serialized, with Content-Type application/json.
  static Response json(int status, const boost::json::value& value);
  // {"error": {"status": 404, "message": "..."}}
  static Response error(int status, std::string_view message);
};

// The `{name}` segments a pattern matched, decoded. For a prefix route, "rest" is the part of the
// path after the prefix, without a leading '/'.
struct PathParams {
  std::vector<std::pair<std::string_view, std::string>> values;  // names point into the Router

  // The value of `name`; empty when the pattern has no such parameter.
  std::string_view get(std::string_view name) const;
};

// Runs on the connection's executor. The Request and PathParams outlive the coroutine.
using Handler = std::function<boost::asio::awaitable<Response>(const Request&, const PathParams&)>;

// Fills request.path (percent-decoded) and request.query (raw) from an origin-form request target
// ("/a/b%20c?x=1"). Refuses, to be answered with 400: a target not starting with '/', a bad
// percent escape, an encoded '/' (it would change which segments there are), NUL, and "." or ".."
// segments.
Result<void> parseTarget(std::string_view target, Request& request);

class Router {
 public:
  Router();
  ~Router();
  Router(Router&&) noexcept;
  Router& operator=(Router&&) noexcept;

  // Registers `handler` for `method` on `pattern`. A bad pattern (not starting with '/', an empty
  // or repeated `{}` name, a '{' inside a segment) or a method/pattern pair registered twice is a
  // bug: it is recorded and reported by status(), which HttpServer::listen() checks.
  // `body_limit`: the largest request body the route takes when it is not the server's
  // (HttpServerOptions::body_limit), e.g. 16 MiB for an audio upload; 0: the server's.
  void add(std::string_view method, std::string_view pattern, Handler handler,
           std::size_t body_limit = 0);
  // Registers `handler` for every method on every path under `prefix` ("/" or "/ui"; segment
  // boundaries respected, so "/ui" does not match "/uix"). The longest prefix wins; prefix routes
  // are tried only when no pattern matches the path.
  void addPrefix(std::string_view prefix, Handler handler);

  // The body limit of the route dispatch() would choose for `method` and `path` (a decoded
  // path, as parseTarget gives); 0 when that route has none of its own, or no route matches.
  std::size_t bodyLimit(std::string_view method, std::string_view path) const;
  // The largest body limit a route has; 0 when none has its own.
  std::size_t largestBodyLimit() const;

  // The first problem add()/addPrefix() recorded, if any.
  Result<void> status() const;

  // Finds the handler for `request` and runs it, or answers 400, 404 or 405 itself. HEAD falls
  // back to the GET route (the server drops the body). Exceptions from the handler propagate.
  boost::asio::awaitable<Response> dispatch(const Request& request) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// "Basic <base64(user:password)>" -> {user, password}, split at the first colon. nullopt for
// another scheme, bad base64, no colon, or control characters in the decoded text.
std::optional<std::pair<std::string, std::string>> parseBasicAuth(std::string_view header_value);

// "Bearer <token68>" -> the token (a view into header_value). nullopt for another scheme, an
// empty token, or characters outside token68.
std::optional<std::string_view> parseBearer(std::string_view header_value);

}  // namespace callflow
