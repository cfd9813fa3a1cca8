// HttpClient: one asynchronous HTTP exchange with a deadline, for ApiRequest.
//
// The implementation (src/http/, libcurl's multi interface on the worker's loop) arrives with
// the ApiRequest issue. Called on a call's worker; the returned awaitable completes on the
// same worker. It never throws: every failure is a Response with `error` set.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

namespace callflow {

struct HttpRequest {
  std::string method;
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  double timeout_seconds = 10;  // connect to last byte
  std::size_t max_response_bytes = 1 << 20;
  bool follow_redirects = false;
};

struct HttpResponse {
  enum class Failure { kNone, kTimeout, kConnect, kTooLarge, kPolicy, kOther };
  // Of the response's header fields, at most this many (and this many bytes of names and
  // values) are kept; the rest are dropped.
  static constexpr std::size_t kMaxHeaders = 100;
  static constexpr std::size_t kMaxHeaderBytes = 16 << 10;

  int status = 0;  // 0 when no response arrived
  std::string body;
  std::string content_type;
  Failure failure = Failure::kNone;
  std::string error;  // short reason, empty on success
  // The final response's header fields in arrival order, names in lower case (after followed
  // redirects: the last hop's only).
  std::vector<std::pair<std::string, std::string>> headers;
};

class HttpClient {
 public:
  virtual ~HttpClient() = default;
  virtual boost::asio::awaitable<HttpResponse> send(HttpRequest request) = 0;
};

}  // namespace callflow
