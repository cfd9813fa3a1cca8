// HttpServer: the HTTP/1.1 listener of `callflow serve` (Boost.Beast on C++20 coroutines).
//
// Reads requests into a Router's Request, runs Router::dispatch on the connection's strand and
// writes the Response back: keep-alive and pipelining (one request at a time per connection),
// Content-Length and Content-Type on every response that has a body, `Server: Callflow`. What the
// peer gets wrong ends its connection after one JSON error: a malformed request 400, a header
// block over header_limit 431, a body over body_limit (or its route's own, Router::add) 413 (the
// rest of what the peer sends is read and dropped for a moment, so it sees the answer rather than
// a reset). A connection idle (or reading or writing one message) for idle_timeout is closed. A
// handler that throws gets 500; the exception is logged to stderr, one line. Past max_connections,
// new connections are closed as soon as they are accepted.
//
// The server runs on whichever threads run the io_context; each connection has its own strand.
// All Beast and most Asio headers stay in http_server.cpp (they cost ~14 s per translation unit).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "callflow/result.h"
#include "server/router.h"

namespace boost::asio {
class io_context;
}

namespace callflow {

class Metrics;

struct HttpServerOptions {
  std::string host = "127.0.0.1";  // an address, or a name resolved once by listen()
  std::uint16_t port = 8080;       // 0: any free port (see HttpServer::port())
  std::size_t body_limit = 1 << 20;
  std::size_t header_limit = 16 * 1024;
  int max_connections = 10000;
  // Requests whose body may pass body_limit (a route of its own larger limit, e.g. an upload)
  // read at once; more get 503 with Retry-After before their body is read, so a flood of large
  // bodies cannot hold more than this many of them in memory.
  int max_large_bodies = 4;
  std::chrono::seconds idle_timeout{30};
  // When set, every response counts in callflow_http_server_requests_total{code="2xx"} (by status
  // class) and every dispatched request's handler time in callflow_http_server_request_seconds.
  // Must outlive the server.
  Metrics* metrics = nullptr;
};

class HttpServer {
 public:
  // `router` (and `options.metrics`) must outlive every connection: keep them until the
  // io_context has stopped running (after stop(), run() returns once in-flight handlers finish).
  HttpServer(boost::asio::io_context& loop, const Router& router, HttpServerOptions options);
  ~HttpServer();  // stop()s
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Checks the router's table, binds host:port and starts accepting on the io_context. Fails
  // with a message naming the address: `cannot listen on 127.0.0.1:8080: address in use`.
  Result<void> listen();

  // The bound port (the one the system chose when options.port is 0); 0 before listen().
  std::uint16_t port() const;

  // Stops accepting and closes every open connection (a handler still running finishes; its
  // response is dropped). Safe from any thread; idempotent. Not restartable.
  void stop();

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace callflow
