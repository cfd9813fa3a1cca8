#include "server/http_server.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <cstdio>
#include <exception>
#include <mutex>
#include <optional>
#include <unordered_set>
#include <vector>

#include "server/http_request.h"
#include "server/metrics.h"

namespace callflow {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using Clock = std::chrono::steady_clock;

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
// After an error answer, how long and how much of the peer's unread request we read and drop.
constexpr auto kLingerTime = std::chrono::seconds(2);
constexpr std::size_t kLingerBytes = 8 << 20;

void log(const std::string& message) {
  std::fprintf(stderr, "callflow serve: %s\n", message.c_str());
}

std::string formatEndpoint(const tcp::endpoint& endpoint) {
  std::string address = endpoint.address().to_string();
  if (endpoint.address().is_v6()) address = "[" + address + "]";
  return address + ":" + std::to_string(endpoint.port());
}

// The wording of the bind errors people meet, else the system's.
std::string describe(const error_code& ec) {
  if (ec == asio::error::address_in_use) return "address in use";
  if (ec == asio::error::access_denied) return "permission denied";
  if (ec == boost::system::errc::address_not_available) return "address not available on this host";
  return ec.message();
}

ErrorCode codeOf(const error_code& ec) {
  if (ec == asio::error::address_in_use) return ErrorCode::kUnavailable;
  if (ec == asio::error::access_denied) return ErrorCode::kPermissionDenied;
  return ErrorCode::kFailedPrecondition;
}

bool isTokenChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool validFieldName(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), isTokenChar);
}

bool validFieldValue(std::string_view value) {
  return value.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

bool equalsIgnoreCase(std::string_view a, std::string_view b) { return beast::iequals(a, b); }

// Header fields the server owns; a handler's copies are ignored.
bool serverOwned(std::string_view name) {
  return equalsIgnoreCase(name, "Content-Length") || equalsIgnoreCase(name, "Content-Type") ||
         equalsIgnoreCase(name, "Transfer-Encoding") || equalsIgnoreCase(name, "Connection") ||
         equalsIgnoreCase(name, "Server");
}

// Errors that mean the peer went away or went quiet: close without an answer.
bool peerGone(const error_code& ec) {
  return ec == http::error::end_of_stream || ec == beast::error::timeout ||
         ec == asio::error::operation_aborted || ec == asio::error::eof ||
         ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
         ec == asio::error::bad_descriptor;
}

struct Connection {
  explicit Connection(tcp::socket socket) : stream(std::move(socket)) {}
  beast::tcp_stream stream;
  std::string remote;
};

}  // namespace

struct HttpServer::Impl {
  Impl(asio::io_context& loop, const Router& router, HttpServerOptions options)
      : loop(loop), router(router), options(std::move(options)), acceptor(asio::make_strand(loop)) {
    if (Metrics* metrics = this->options.metrics) {
      for (int i = 0; i < 5; ++i) {
        responses[static_cast<std::size_t>(i)] =
            metrics->counter("callflow_http_server_requests_total",
                             "HTTP responses sent by callflow serve, by status class.",
                             {{"code", std::to_string(i + 1) + "xx"}});
      }
      latency = metrics->histogram("callflow_http_server_request_seconds",
                                   "Time the router and handler took per request, in seconds.");
    }
  }

  // Each coroutine takes the shared_ptr owning this Impl as a parameter: parameters are copied
  // into the frame when it is created, so the Impl outlives a coroutine that has yet to start
  // even when the HttpServer is destroyed meanwhile on another thread.
  asio::awaitable<void> acceptLoop(std::shared_ptr<Impl> self);
  asio::awaitable<void> session(std::shared_ptr<Impl> self, std::shared_ptr<Connection> connection);
  asio::awaitable<Response> respond(http::request<http::string_body>& message,
                                    const Connection& connection);
  asio::awaitable<bool> write(Connection& connection, Response response, unsigned version,
                              bool keep_alive, bool head);
  asio::awaitable<void> lingeringClose(Connection& connection);

  // The body limit of the route a request with this header goes to (the server's by default).
  std::size_t routeBodyLimit(const http::request<http::string_body>& message) const {
    Request target;
    if (!parseTarget(message.target(), target)) return options.body_limit;
    std::size_t limit = router.bodyLimit(message.method_string(), target.path);
    return limit != 0 ? limit : options.body_limit;
  }

  void count(int status) {
    if (status >= 100 && status < 600) responses[static_cast<std::size_t>(status / 100 - 1)].inc();
  }

  asio::io_context& loop;
  const Router& router;
  const HttpServerOptions options;
  tcp::acceptor acceptor;  // on its own strand
  std::atomic<std::uint16_t> port{0};
  std::atomic<int> connections{0};
  std::atomic<int> large_bodies{0};  // requests reading a body past options.body_limit now
  std::array<Counter, 5> responses;  // 1xx..5xx
  Histogram latency;

  std::mutex mutex;  // guards the two below
  bool stopped = false;
  std::unordered_set<std::shared_ptr<Connection>> live;
};

asio::awaitable<void> HttpServer::Impl::acceptLoop(std::shared_ptr<Impl> self) {
  bool reported = false;
  for (;;) {
    auto [ec, socket] =
        co_await acceptor.async_accept(asio::any_io_executor(asio::make_strand(loop)), kTuple);
    if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
    if (ec) {
      // Out of descriptors, say: wait a little rather than spin; say so once per bad spell.
      if (!reported) log("accept: " + ec.message());
      reported = true;
      asio::steady_timer pause(acceptor.get_executor(), std::chrono::milliseconds(100));
      co_await pause.async_wait(kTuple);
      continue;
    }
    reported = false;
    if (connections.load(std::memory_order_relaxed) >= options.max_connections) {
      socket.close(ec);
      continue;
    }
    auto connection = std::make_shared<Connection>(std::move(socket));
    {
      std::lock_guard lock(mutex);
      if (stopped) co_return;
      live.insert(connection);
    }
    connections.fetch_add(1, std::memory_order_relaxed);
    asio::co_spawn(connection->stream.get_executor(), session(self, connection),
                   [](std::exception_ptr error) {
                     if (!error) return;
                     try {
                       std::rethrow_exception(error);
                     } catch (const std::exception& e) {
                       log(std::string("connection ended by an exception: ") + e.what());
                     } catch (...) {
                       log("connection ended by an unknown exception");
                     }
                   });
  }
}

asio::awaitable<void> HttpServer::Impl::session([[maybe_unused]] std::shared_ptr<Impl> self,
                                                std::shared_ptr<Connection> connection) {
  struct Release {  // runs however the coroutine ends, including its frame being destroyed
    Impl& impl;
    std::shared_ptr<Connection>& connection;
    ~Release() {
      {
        std::lock_guard lock(impl.mutex);
        impl.live.erase(connection);
      }
      impl.connections.fetch_sub(1, std::memory_order_relaxed);
    }
  } release{*this, connection};

  beast::tcp_stream& stream = connection->stream;
  error_code ec;
  stream.socket().set_option(tcp::no_delay(true), ec);
  tcp::endpoint remote = stream.socket().remote_endpoint(ec);
  if (ec) co_return;  // already gone
  connection->remote = formatEndpoint(remote);

  beast::flat_buffer buffer;
  // Beast checks a declared Content-Length against the limit as the header completes, before
  // the route is known: the header is read under the largest limit, then the route's applies.
  const std::size_t largest_limit = std::max(options.body_limit, router.largestBodyLimit());
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(options.header_limit));
    parser.body_limit(largest_limit);
    stream.expires_after(options.idle_timeout);
    auto [read_error, read] = co_await http::async_read_header(stream, buffer, parser, kTuple);
    ec = read_error;
    std::size_t body_limit = options.body_limit;
    if (!ec || ec == http::error::body_limit) body_limit = routeBodyLimit(parser.get());
    if (!ec) {
      if (parser.content_length() && *parser.content_length() > body_limit) {
        ec = http::error::body_limit;
      } else {
        parser.body_limit(body_limit);  // what is left to read, for a chunked body
      }
    }
    // A body past the server's own limit (a route of a larger one) takes one of a few slots,
    // held until its request is answered; with none free the request is refused unread.
    struct LargeBodySlot {
      std::atomic<int>* count = nullptr;
      ~LargeBodySlot() {
        if (count != nullptr) count->fetch_sub(1, std::memory_order_relaxed);
      }
    } slot;
    if (!ec && !parser.is_done() && body_limit > options.body_limit) {
      if (large_bodies.fetch_add(1, std::memory_order_relaxed) >= options.max_large_bodies) {
        large_bodies.fetch_sub(1, std::memory_order_relaxed);
        Response busy = Response::error(503, "too many large uploads at once; try again shortly");
        busy.headers.emplace_back("Retry-After", "1");
        count(busy.status);
        if (co_await write(*connection, std::move(busy), 11, false, false)) {
          co_await lingeringClose(*connection);
        }
        break;
      }
      slot.count = &large_bodies;
    }
    if (!ec && !parser.is_done()) {
      if (equalsIgnoreCase(parser.get()[http::field::expect], "100-continue")) {
        static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
        std::tie(ec, read) = co_await asio::async_write(
            stream, asio::buffer(kContinue.data(), kContinue.size()), kTuple);
      }
      if (!ec) std::tie(ec, read) = co_await http::async_read(stream, buffer, parser, kTuple);
    }
    if (ec) {
      if (peerGone(ec)) break;
      Response answer;
      if (ec == http::error::body_limit) {
        answer = Response::error(
            413, "request body is larger than " + std::to_string(body_limit) + " bytes");
      } else if (ec == http::error::header_limit) {
        answer = Response::error(431, "request header is larger than " +
                                          std::to_string(options.header_limit) + " bytes");
      } else {
        answer = Response::error(400, "malformed request: " + ec.message());
      }
      count(answer.status);
      if (co_await write(*connection, std::move(answer), 11, false, false)) {
        co_await lingeringClose(*connection);
      }
      break;
    }

    http::request<http::string_body>& message = parser.get();
    bool keep_alive = message.keep_alive();
    bool head = message.method() == http::verb::head;
    Response response = co_await respond(message, *connection);
    count(response.status);
    if (!co_await write(*connection, std::move(response), message.version(), keep_alive, head)) {
      break;  // the peer is gone
    }
    if (!keep_alive) {
      stream.socket().shutdown(tcp::socket::shutdown_send, ec);
      break;
    }
  }
  stream.close();
}

std::optional<Response> toRequest(http::request<http::string_body>& message, Request& request) {
  if (message.method() == http::verb::unknown) {
    return Response::error(
        501, "method " + std::string(message.method_string()) + " is not implemented");
  }
  request.method = http::to_string(message.method());  // static storage
  if (Result<void> target = parseTarget(message.target(), request); !target) {
    return Response::error(400, target.error().message);
  }
  if (message.version() >= 11 && message.find(http::field::host) == message.end()) {
    return Response::error(400, "missing Host header");
  }
  for (const auto& field : message) {
    request.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  }
  request.body = std::move(message.body());
  return std::nullopt;
}

// The Response to one complete request: the router's, or the server's own 400/501/500.
asio::awaitable<Response> HttpServer::Impl::respond(http::request<http::string_body>& message,
                                                    const Connection& connection) {
  Request request;
  if (std::optional<Response> refused = toRequest(message, request)) co_return std::move(*refused);
  request.remote = connection.remote;

  Clock::time_point start = Clock::now();
  Response response;
  std::string failure;
  try {
    response = co_await router.dispatch(request);
  } catch (const std::exception& e) {
    failure = e.what();
    if (failure.empty()) failure = "std::exception";
  } catch (...) {
    failure = "unknown exception";
  }
  latency.observe(std::chrono::duration<double>(Clock::now() - start).count());
  if (!failure.empty()) {
    log(std::string(request.method) + " " + request.path + ": handler threw: " + failure);
    co_return Response::error(500, "internal error");
  }
  co_return response;
}

// Writes `response`; false when that failed.
asio::awaitable<bool> HttpServer::Impl::write(Connection& connection, Response response,
                                              unsigned version, bool keep_alive, bool head) {
  // A handler's bad status or header would corrupt the stream: answer 500 instead.
  std::string problem;
  if (response.status < 200 || response.status > 599) {
    problem = "status " + std::to_string(response.status);
  } else if (!validFieldValue(response.content_type)) {
    problem = "Content-Type";
  } else {
    for (const auto& [name, value] : response.headers) {
      if (!validFieldName(name) || !validFieldValue(value)) problem = "header \"" + name + "\"";
    }
  }
  if (!problem.empty()) {
    log("handler returned an invalid " + problem);
    response = Response::error(500, "internal error");
  }

  http::response<http::string_body> message{static_cast<http::status>(response.status), version};
  message.set(http::field::server, "Callflow");
  for (auto& [name, value] : response.headers) {
    if (!serverOwned(name)) message.insert(name, value);
  }
  // 204 and 304 have no body, hence neither Content-Length nor a type.
  if (response.status != 204 && response.status != 304) {
    message.set(http::field::content_type, response.content_type.empty()
                                               ? std::string_view("application/octet-stream")
                                               : std::string_view(response.content_type));
    message.body() = std::move(response.body);
    message.prepare_payload();
    if (head) message.body().clear();  // Content-Length stays that of the GET
  }
  message.keep_alive(keep_alive);
  connection.stream.expires_after(options.idle_timeout);
  auto [ec, written] = co_await http::async_write(connection.stream, message, kTuple);
  co_return !ec;
}

// After answering an error, stop sending and read (and drop) what the peer still sends for a
// moment, so closing does not reset the connection before the peer has read the answer.
asio::awaitable<void> HttpServer::Impl::lingeringClose(Connection& connection) {
  error_code ec;
  connection.stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  connection.stream.expires_after(kLingerTime);
  std::array<char, 16 * 1024> discard;
  // Enough for a browser that sends a whole upload before it reads the answer (twice the
  // largest route limit), within kLingerTime.
  const std::size_t most = std::max(kLingerBytes, 2 * router.largestBodyLimit());
  std::size_t total = 0;
  while (total < most) {
    auto [read_error, read] =
        co_await connection.stream.async_read_some(asio::buffer(discard), kTuple);
    if (read_error) break;
    total += read;
  }
}

HttpServer::HttpServer(asio::io_context& loop, const Router& router, HttpServerOptions options)
    : impl_(std::make_shared<Impl>(loop, router, std::move(options))) {}

HttpServer::~HttpServer() { stop(); }

Result<void> HttpServer::listen() {
  const HttpServerOptions& options = impl_->options;
  std::string where = options.host + ":" + std::to_string(options.port);
  if (options.host.find(':') != std::string::npos) {
    where = "[" + options.host + "]:" + std::to_string(options.port);
  }
  auto failure = [&](ErrorCode code, const std::string& why) {
    return fail(code, "cannot listen on " + where + ": " + why);
  };
  if (Result<void> routes = impl_->router.status(); !routes) {
    return failure(routes.error().code, routes.error().message);
  }
  {
    std::lock_guard lock(impl_->mutex);
    if (impl_->stopped) return failure(ErrorCode::kFailedPrecondition, "server was stopped");
  }
  if (impl_->acceptor.is_open())
    return failure(ErrorCode::kFailedPrecondition, "already listening");

  error_code ec;
  tcp::endpoint endpoint;
  asio::ip::address address = asio::ip::make_address(options.host, ec);
  if (!ec) {
    endpoint = tcp::endpoint(address, options.port);
  } else {
    tcp::resolver resolver(impl_->loop);
    auto results =
        resolver.resolve(options.host, std::to_string(options.port), tcp::resolver::passive, ec);
    if (ec || results.empty()) {
      return failure(ErrorCode::kInvalidArgument,
                     "cannot resolve host: " + (ec ? ec.message() : std::string("no address")));
    }
    endpoint = results.begin()->endpoint();
  }

  tcp::acceptor& acceptor = impl_->acceptor;
  if (acceptor.open(endpoint.protocol(), ec); ec) return failure(codeOf(ec), describe(ec));
  acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (acceptor.bind(endpoint, ec); !ec)
    acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    error_code ignored;
    acceptor.close(ignored);
    return failure(codeOf(ec), describe(ec));
  }
  impl_->port = acceptor.local_endpoint(ec).port();
  asio::co_spawn(acceptor.get_executor(), impl_->acceptLoop(impl_), [](std::exception_ptr error) {
    if (error) log("the accept loop ended by an exception");
  });
  return {};
}

std::uint16_t HttpServer::port() const { return impl_->port.load(); }

void HttpServer::stop() {
  std::vector<std::shared_ptr<Connection>> open;
  {
    std::lock_guard lock(impl_->mutex);
    if (impl_->stopped) return;
    impl_->stopped = true;
    open.assign(impl_->live.begin(), impl_->live.end());
  }
  // Each on its own strand: Asio objects are not thread-safe.
  asio::post(impl_->acceptor.get_executor(), [impl = impl_] {
    error_code ignored;
    impl->acceptor.close(ignored);
  });
  for (std::shared_ptr<Connection>& connection : open) {
    asio::post(connection->stream.get_executor(), [connection] { connection->stream.close(); });
  }
}

}  // namespace callflow
