// HttpServer on a real loopback socket: the server runs on an io_context in a thread; the test
// talks raw HTTP/1.1 over a blocking POSIX socket (every receive bounded by a 5 s timeout).
#include "server/http_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <cctype>
#include <future>
#include <map>
#include <optional>
#include <stdexcept>
#include <thread>
#include <vector>

#include "server/metrics.h"

namespace callflow {
namespace {

using namespace std::chrono_literals;

struct RawResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;

  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  }
};

// A blocking client socket on 127.0.0.1; receives give up after 5 s.
class Client {
 public:
  explicit Client(std::uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    timeval timeout{.tv_sec = 5, .tv_usec = 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  }
  ~Client() { ::close(fd_); }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  bool connected() const { return connected_; }

  // False when the peer stopped taking data (closed, reset, or 5 s without progress).
  bool send(std::string_view data) {
    while (!data.empty()) {
      ssize_t sent = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (sent <= 0) return false;
      data.remove_prefix(static_cast<std::size_t>(sent));
    }
    return true;
  }

  // The next response (framed by Content-Length; none for a HEAD); nullopt when the connection
  // ended or went quiet first.
  std::optional<RawResponse> read(bool head = false) {
    std::size_t end;
    while ((end = buffer_.find("\r\n\r\n")) == std::string::npos) {
      if (!receive()) return std::nullopt;
    }
    RawResponse response;
    std::string head_text = buffer_.substr(0, end);
    buffer_.erase(0, end + 4);
    std::size_t line_end = head_text.find("\r\n");
    std::string status_line = head_text.substr(0, line_end);
    if (status_line.size() < 12 || !status_line.starts_with("HTTP/1.")) return std::nullopt;
    response.status = std::stoi(status_line.substr(9, 3));
    while (line_end != std::string::npos) {
      std::size_t start = line_end + 2;
      line_end = head_text.find("\r\n", start);
      std::string line = head_text.substr(start, line_end - start);
      std::size_t colon = line.find(':');
      if (colon == std::string::npos) return std::nullopt;
      std::string name = line.substr(0, colon);
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      std::size_t value = line.find_first_not_of(' ', colon + 1);
      response.headers[name] = value == std::string::npos ? "" : line.substr(value);
    }
    std::size_t length = head ? 0 : std::stoul("0" + response.header("content-length"));
    while (buffer_.size() < length) {
      if (!receive()) return std::nullopt;
    }
    response.body = buffer_.substr(0, length);
    buffer_.erase(0, length);
    return response;
  }

  // True when the server closes the connection (end of stream or reset) within 5 s; anything
  // it still sends first is dropped.
  bool closedByServer() {
    for (int i = 0; i < 1000; ++i) {
      char chunk[4096];
      ssize_t got = ::recv(fd_, chunk, sizeof chunk, 0);
      if (got == 0 || (got < 0 && errno == ECONNRESET)) return true;
      if (got < 0) return false;  // timed out
    }
    return false;
  }

 private:
  bool receive() {
    char chunk[4096];
    ssize_t got = ::recv(fd_, chunk, sizeof chunk, 0);
    if (got <= 0) return false;
    buffer_.append(chunk, static_cast<std::size_t>(got));
    return true;
  }

  int fd_ = -1;
  bool connected_ = false;
  std::string buffer_;
};

std::string get(std::string_view path, std::string_view extra = "") {
  return "GET " + std::string(path) + " HTTP/1.1\r\nHost: test\r\n" + std::string(extra) + "\r\n";
}

std::string post(std::string_view path, std::string_view body) {
  return "POST " + std::string(path) + " HTTP/1.1\r\nHost: test\r\nContent-Type: text/plain\r\n" +
         "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + std::string(body);
}

boost::json::value errorOf(const RawResponse& response) {
  EXPECT_EQ(response.header("content-type"), "application/json");
  return boost::json::parse(response.body).at("error");
}

class HttpServerTest : public ::testing::Test {
 protected:
  HttpServerTest() {
    router_.add("GET", "/hello",
                [](const Request&, const PathParams&) -> boost::asio::awaitable<Response> {
                  co_return Response{.content_type = "text/plain", .body = "hello, world"};
                });
    router_.add("POST", "/echo",
                [](const Request& request, const PathParams&) -> boost::asio::awaitable<Response> {
                  co_return Response{.content_type = std::string(request.header("content-type")),
                                     .body = request.body};
                });
    router_.add(
        "GET", "/leads/{id}",
        [](const Request& request, const PathParams& params) -> boost::asio::awaitable<Response> {
          co_return Response::json(
              200, boost::json::value{{"id", params.get("id")},
                                      {"remote", request.remote.starts_with("127.0.0.1:")}});
        });
    router_.add("GET", "/throw",
                [](const Request&, const PathParams&) -> boost::asio::awaitable<Response> {
                  throw std::runtime_error("handler bug (expected by the test)");
                  co_return Response{};
                });
    router_.add("GET", "/empty",
                [](const Request&, const PathParams&) -> boost::asio::awaitable<Response> {
                  co_return Response{.status = 204, .body = "ignored"};
                });
  }

  // Serves on `threads` threads running the loop.
  void start(HttpServerOptions options = {}, int threads = 1) {
    options.port = 0;
    options.metrics = &metrics_;
    server_ = std::make_unique<HttpServer>(loop_, router_, options);
    Result<void> listened = server_->listen();
    ASSERT_TRUE(listened) << listened.error().message;
    ASSERT_NE(server_->port(), 0);
    thread_ = std::thread([this, threads] {
      std::vector<std::thread> more;
      for (int i = 1; i < threads; ++i) more.emplace_back([this] { loop_.run(); });
      loop_.run();
      for (std::thread& thread : more) thread.join();
      finished_.set_value();
    });
  }

  // Stops the server; true when the loop's run() then returned by itself.
  bool stopAndWait() {
    server_->stop();
    bool ended = finished_.get_future().wait_for(10s) == std::future_status::ready;
    if (!ended) loop_.stop();
    thread_.join();
    return ended;
  }

  void TearDown() override {
    if (thread_.joinable()) {
      EXPECT_TRUE(stopAndWait());
    }
  }

  boost::asio::io_context loop_;
  Router router_;
  Metrics metrics_;
  std::unique_ptr<HttpServer> server_;
  std::thread thread_;
  std::promise<void> finished_;
};

TEST_F(HttpServerTest, AnswersWithBodyLengthTypeAndServer) {
  start();
  Client client(server_->port());
  ASSERT_TRUE(client.connected());
  ASSERT_TRUE(client.send(get("/hello")));
  std::optional<RawResponse> response = client.read();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, "hello, world");
  EXPECT_EQ(response->header("content-length"), "12");
  EXPECT_EQ(response->header("content-type"), "text/plain");
  EXPECT_EQ(response->header("server"), "Callflow");
}

TEST_F(HttpServerTest, KeepsTheConnectionForTheNextRequest) {
  start();
  Client client(server_->port());
  ASSERT_TRUE(client.send(get("/leads/42")));
  std::optional<RawResponse> first = client.read();
  ASSERT_TRUE(first);
  EXPECT_EQ(first->status, 200);
  EXPECT_EQ(first->body, R"({"id":"42","remote":true})");
  ASSERT_TRUE(client.send(post("/echo", "ping")));
  std::optional<RawResponse> second = client.read();
  ASSERT_TRUE(second);
  EXPECT_EQ(second->status, 200);
  EXPECT_EQ(second->body, "ping");
  EXPECT_EQ(second->header("content-type"), "text/plain");
}

TEST_F(HttpServerTest, AnswersPipelinedRequestsInOrder) {
  start();
  Client client(server_->port());
  ASSERT_TRUE(client.send(post("/echo", "one") + get("/leads/2") + post("/echo", "three")));
  for (std::string_view expected : {"one", R"({"id":"2","remote":true})", "three"}) {
    std::optional<RawResponse> response = client.read();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->body, expected);
  }
}

TEST_F(HttpServerTest, UnknownPathIsJson404AndKeepsTheConnection) {
  start();
  Client client(server_->port());
  ASSERT_TRUE(client.send(get("/nowhere")));
  std::optional<RawResponse> response = client.read();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 404);
  EXPECT_EQ(errorOf(*response).at("status"), 404);
  ASSERT_TRUE(client.send("DELETE /hello HTTP/1.1\r\nHost: test\r\n\r\n"));
  response = client.read();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 405);
  EXPECT_EQ(response->header("allow"), "GET, HEAD");
  ASSERT_TRUE(client.send(get("/a/%2e%2e/hello")));
  response = client.read();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 400);
  EXPECT_EQ(errorOf(*response).at("status"), 400);
}

TEST_F(HttpServerTest, DeclaredBodyOverTheLimitIs413ThenClose) {
  start(HttpServerOptions{.body_limit = 1024});
  Client client(server_->port());
  ASSERT_TRUE(client.send("POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 100000\r\n\r\n" +
                          std::string(4000, 'x')));
  std::optional<RawResponse> response = client.read();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 413);
  EXPECT_EQ(errorOf(*response).at("message"), "request body is larger than 1024 bytes");
  EXPECT_EQ(response->header("connection"), "close");
  EXPECT_TRUE(client.closedByServer());
}

// Large bodies (past the server's limit, on a route of a larger one) are read a few at a time:
// with every slot held by a slow upload, the next is refused with 503 before its body is read,
// and a slot comes back when its request is answered.
TEST_F(HttpServerTest, LargeBodiesAreReadAFewAtATime) {
  router_.add(
      "PUT", "/upload/{name}",
      [](const Request& request, const PathParams&) -> boost::asio::awaitable<Response> {
        co_return Response{.content_type = "text/plain",
                           .body = std::to_string(request.body.size())};
      },
      8192);
  start(HttpServerOptions{.body_limit = 1024, .max_large_bodies = 2});
  const std::string header = "PUT /upload/a HTTP/1.1\r\nHost: test\r\nContent-Length: 5000\r\n\r\n";
  Client first(server_->port()), second(server_->port());
  ASSERT_TRUE(first.send(header + std::string(100, 'x')));
  ASSERT_TRUE(second.send(header + std::string(100, 'x')));
  // Once the server is reading both bodies, a whole third upload is refused; until then it may
  // still be taken (and answered). A bounded wait for the refusal, on no clock of ours.
  int refused_status = 0;
  for (int attempt = 0; attempt < 100 && refused_status != 503; ++attempt) {
    Client third(server_->port());
    ASSERT_TRUE(third.send(header + std::string(5000, 'x')));
    std::optional<RawResponse> answer = third.read();
    ASSERT_TRUE(answer);
    refused_status = answer->status;
    if (refused_status != 503) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(refused_status, 503);
  // Small bodies are not held back.
  Client small(server_->port());
  ASSERT_TRUE(small.send(post("/echo", "hello")));
  std::optional<RawResponse> echoed = small.read();
  ASSERT_TRUE(echoed);
  EXPECT_EQ(echoed->status, 200);
  // The first finishes; its slot serves the next upload.
  ASSERT_TRUE(first.send(std::string(4900, 'x')));
  std::optional<RawResponse> done = first.read();
  ASSERT_TRUE(done);
  EXPECT_EQ(done->status, 200);
  EXPECT_EQ(done->body, "5000");
  Client fourth(server_->port());
  ASSERT_TRUE(fourth.send(header + std::string(5000, 'x')));
  std::optional<RawResponse> accepted = fourth.read();
  ASSERT_TRUE(accepted);
  EXPECT_EQ(accepted->status, 200);
}

TEST_F(HttpServerTest, ARouteMayTakeABiggerBodyThanTheServer) {
  router_.add(
      "PUT", "/upload/{name}",
      [](const Request& request, const PathParams&) -> boost::asio::awaitable<Response> {
        co_return Response{.content_type = "text/plain",
                           .body = std::to_string(request.body.size())};
      },
      8192);
  start(HttpServerOptions{.body_limit = 1024});
  Client client(server_->port());
  std::string body(5000, 'x');
  ASSERT_TRUE(
      client.send("PUT /upload/a HTTP/1.1\r\nHost: test\r\nContent-Length: 5000\r\n\r\n" + body));
  std::optional<RawResponse> response = client.read();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, "5000");
  // Chunked, past the route's limit; and other routes keep the server's.
  std::string chunk = "1000\r\n" + std::string(4096, 'x') + "\r\n";
  ASSERT_TRUE(
      client.send("PUT /upload/b HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n" +
                  chunk + chunk + chunk));
  response = client.read();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 413);
  EXPECT_EQ(errorOf(*response).at("message"), "request body is larger than 8192 bytes");

  Client declared(server_->port());
  ASSERT_TRUE(
      declared.send("PUT /upload/c HTTP/1.1\r\nHost: test\r\nContent-Length: 9000\r\n\r\n"));
  response = declared.read();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 413);
  EXPECT_EQ(errorOf(*response).at("message"), "request body is larger than 8192 bytes");

  Client other(server_->port());
  ASSERT_TRUE(other.send(post("/echo", body)));
  response = other.read();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 413);
  EXPECT_EQ(errorOf(*response).at("message"), "request body is larger than 1024 bytes");
}

TEST_F(HttpServerTest, ChunkedBodyOverTheLimitIs413) {
  start(HttpServerOptions{.body_limit = 1024});
  Client client(server_->port());
  std::string chunk = "400\r\n" + std::string(1024, 'x') + "\r\n";
  ASSERT_TRUE(client.send(
      "POST /echo HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk + chunk));
  std::optional<RawResponse> response = client.read();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 413);
  EXPECT_TRUE(client.closedByServer());
}

TEST_F(HttpServerTest, BodyAtTheLimitIsAccepted) {
  start(HttpServerOptions{.body_limit = 1024});
  Client client(server_->port());
  ASSERT_TRUE(client.send(post("/echo", std::string(1024, 'y'))));
  std::optional<RawResponse> response = client.read();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body.size(), 1024u);
}

TEST_F(HttpServerTest, GarbageIs400ThenClose) {
  start();
  for (std::string garbage :
       {std::string("NONSENSE\r\n\r\n"),
        std::string(
            "GET /hello HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"),
        std::string("GET /hello HTTP/1.1\r\nBad Header\r\n\r\n"),
        std::string("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: x\r\n\r\n")}) {
    Client client(server_->port());
    ASSERT_TRUE(client.send(garbage));
    std::optional<RawResponse> response = client.read();
    ASSERT_TRUE(response) << garbage;
    EXPECT_EQ(response->status, 400) << garbage;
    EXPECT_EQ(errorOf(*response).at("status"), 400);
    EXPECT_TRUE(client.closedByServer()) << garbage;
  }
}

TEST_F(HttpServerTest, HeaderOverTheLimitIs431) {
  start(HttpServerOptions{.header_limit = 1024});
  Client client(server_->port());
  ASSERT_TRUE(client.send(get("/hello", "X-Big: " + std::string(4096, 'h') + "\r\n")));
  std::optional<RawResponse> response = client.read();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 431);
  EXPECT_TRUE(client.closedByServer());
}

TEST_F(HttpServerTest, MissingHostIs400AndUnknownMethodIs501) {
  start();
  Client client(server_->port());
  ASSERT_TRUE(client.send("GET /hello HTTP/1.1\r\n\r\n"));
  std::optional<RawResponse> response = client.read();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 400);
  EXPECT_EQ(errorOf(*response).at("message"), "missing Host header");
  ASSERT_TRUE(client.send("BREW /hello HTTP/1.1\r\nHost: test\r\n\r\n"));
  response = client.read();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 501);
}

TEST_F(HttpServerTest, HandlerExceptionIs500AndTheServerCarriesOn) {
  start();
  Client client(server_->port());
  ASSERT_TRUE(client.send(get("/throw")));
  std::optional<RawResponse> response = client.read();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 500);
  EXPECT_EQ(errorOf(*response).at("message"), "internal error");
  ASSERT_TRUE(client.send(get("/hello")));
  response = client.read();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
}

TEST_F(HttpServerTest, HeadHasLengthButNoBodyAnd204HasNeither) {
  start();
  Client client(server_->port());
  ASSERT_TRUE(client.send("HEAD /hello HTTP/1.1\r\nHost: test\r\n\r\n"));
  std::optional<RawResponse> response = client.read(/*head=*/true);
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->header("content-length"), "12");
  ASSERT_TRUE(client.send(get("/empty")));  // no stray body bytes before this answer
  response = client.read();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 204);
  EXPECT_EQ(response->header("content-length"), "");
  EXPECT_EQ(response->body, "");
  ASSERT_TRUE(client.send(get("/hello")));
  response = client.read();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->body, "hello, world");
}

TEST_F(HttpServerTest, Http10ClosesAfterTheResponse) {
  start();
  Client client(server_->port());
  ASSERT_TRUE(client.send("GET /hello HTTP/1.0\r\n\r\n"));
  std::optional<RawResponse> response = client.read();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->body, "hello, world");
  EXPECT_TRUE(client.closedByServer());
}

TEST_F(HttpServerTest, ExpectContinueGetsA100First) {
  start();
  Client client(server_->port());
  ASSERT_TRUE(client.send(
      "POST /echo HTTP/1.1\r\nHost: test\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n"));
  std::optional<RawResponse> interim = client.read();
  ASSERT_TRUE(interim);
  EXPECT_EQ(interim->status, 100);
  ASSERT_TRUE(client.send("body"));
  std::optional<RawResponse> response = client.read();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, "body");
  EXPECT_EQ(response->header("content-type"), "application/octet-stream");  // the handler gave ""
}

TEST_F(HttpServerTest, IdleConnectionIsClosed) {
  start(HttpServerOptions{.idle_timeout = std::chrono::seconds(1)});
  Client client(server_->port());
  ASSERT_TRUE(client.send(get("/hello")));
  ASSERT_TRUE(client.read());
  EXPECT_TRUE(client.closedByServer());  // within the client's 5 s
}

TEST_F(HttpServerTest, ConnectionsPastTheMaximumAreClosed) {
  start(HttpServerOptions{.max_connections = 1});
  Client first(server_->port());
  ASSERT_TRUE(first.send(get("/hello")));
  ASSERT_TRUE(first.read());  // accepted and counted
  Client second(server_->port());
  second.send(get("/hello"));
  EXPECT_TRUE(second.closedByServer());
  ASSERT_TRUE(first.send(get("/hello")));
  EXPECT_TRUE(first.read());
}

TEST_F(HttpServerTest, ServesManyClientsFromSeveralLoopThreads) {
  start(HttpServerOptions{}, 3);
  std::vector<std::thread> clients;
  std::atomic<int> answered{0};
  for (int c = 0; c < 6; ++c) {
    clients.emplace_back([&, c] {
      Client client(server_->port());
      for (int i = 0; i < 50; ++i) {
        std::string body = std::to_string(c) + "/" + std::to_string(i);
        if (!client.send(post("/echo", body))) return;
        std::optional<RawResponse> response = client.read();
        if (!response || response->body != body) return;
        answered.fetch_add(1);
      }
    });
  }
  for (std::thread& client : clients) client.join();
  EXPECT_EQ(answered.load(), 6 * 50);
}

TEST_F(HttpServerTest, StopClosesConnectionsAndEndsTheLoop) {
  start();
  Client client(server_->port());
  ASSERT_TRUE(client.send(get("/hello")));
  ASSERT_TRUE(client.read());
  EXPECT_TRUE(stopAndWait());
  EXPECT_TRUE(client.closedByServer());
  Client late(server_->port());
  EXPECT_FALSE(late.connected());
}

TEST_F(HttpServerTest, CountsResponsesByStatusClass) {
  start();
  Client client(server_->port());
  for (std::string request : {get("/hello"), get("/hello"), get("/nowhere"), get("/throw")}) {
    ASSERT_TRUE(client.send(request));
    ASSERT_TRUE(client.read());
  }
  ASSERT_TRUE(stopAndWait());  // the loop's thread has finished: its counts are visible
  std::string text = metrics_.render();
  EXPECT_NE(text.find("callflow_http_server_requests_total{code=\"2xx\"} 2\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("callflow_http_server_requests_total{code=\"4xx\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("callflow_http_server_requests_total{code=\"5xx\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("callflow_http_server_request_seconds_count 4\n"), std::string::npos);
}

TEST_F(HttpServerTest, ListenFailureNamesTheAddress) {
  start();
  boost::asio::io_context other_loop;
  HttpServer other(other_loop, router_, HttpServerOptions{.port = server_->port()});
  Result<void> listened = other.listen();
  ASSERT_FALSE(listened);
  EXPECT_EQ(listened.error().message,
            "cannot listen on 127.0.0.1:" + std::to_string(server_->port()) + ": address in use");

  HttpServer unresolvable(other_loop, router_, HttpServerOptions{.host = "no-such-host.invalid"});
  ASSERT_FALSE(unresolvable.listen());

  Router broken;
  broken.add("GET", "/x/{}", nullptr);
  HttpServer refused(other_loop, broken, HttpServerOptions{.port = 0});
  listened = refused.listen();
  ASSERT_FALSE(listened);
  EXPECT_EQ(listened.error().message,
            "cannot listen on 127.0.0.1:0: route table: GET \"/x/{}\": a parameter must be a whole "
            "segment \"{name}\"");
}

}  // namespace
}  // namespace callflow
