// ApiRequest against a real HTTP server on loopback (tests/fakes/http_stub.py), through the
// real libcurl client: exits, results, encoding of caller data, secrets, policy, many calls.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <chrono>
#include <cstdio>
#include <memory>

#include "elements/api_request.h"
#include "elements/elements.h"
#include "engine/runner.h"
#include "engine/simulator.h"
#include "engine/trace_json.h"
#include "http/curl_http_client.h"

namespace callflow {
namespace {

std::string sourceDir() {
  const char* dir = std::getenv("CALLFLOW_SOURCE_DIR");
  return dir != nullptr ? dir : CALLFLOW_SOURCE_DIR_DEFAULT;
}

// The stub runs for the whole suite; it stops when its stdin closes.
class HttpStub {
 public:
  HttpStub() {
    int to_child[2], from_child[2];
    if (pipe(to_child) != 0 || pipe(from_child) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      dup2(to_child[0], 0);
      dup2(from_child[1], 1);
      close(to_child[1]);
      close(from_child[0]);
      std::string script = sourceDir() + "/tests/fakes/http_stub.py";
      execlp("python3", "python3", script.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    close(to_child[0]);
    close(from_child[1]);
    stdin_ = to_child[1];
    FILE* out = fdopen(from_child[0], "r");
    if (out != nullptr && std::fscanf(out, "%d", &port_) != 1) port_ = 0;
    if (out != nullptr) std::fclose(out);
  }
  ~HttpStub() {
    if (stdin_ >= 0) close(stdin_);
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
    }
  }
  int port() const { return port_; }

 private:
  pid_t pid_ = -1;
  int stdin_ = -1;
  int port_ = 0;
};

HttpStub* stub = nullptr;

// The defaults (no private addresses) with the stub's address and port allowed, as a
// deployment allows its own CRM.
OutboundPolicy stubAllowed() {
  OutboundPolicy policy = OutboundPolicy::defaults();
  EXPECT_TRUE(policy.add("127.0.0.1:" + std::to_string(stub->port()), true));
  return policy;
}

class ApiRequestHttpTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { stub = new HttpStub(); }
  static void TearDownTestSuite() {
    delete stub;
    stub = nullptr;
  }

  void SetUp() override { ASSERT_GT(stub->port(), 0) << "the HTTP stub did not start"; }

  // Replaces every PORT in `text` with the stub's port.
  static std::string withPort(std::string text) {
    std::string port = std::to_string(stub->port());
    for (std::size_t at = text.find("PORT"); at != std::string::npos; at = text.find("PORT")) {
      text.replace(at, 4, port);
    }
    return text;
  }

  std::shared_ptr<const Flow> load(const std::string& text) {
    LoadedFlow loaded = loadFlow(withPort(text), elementTypes());
    std::string problems;
    for (const auto& p : loaded.diagnostics.problems()) problems += p.text() + "\n";
    EXPECT_TRUE(loaded.flow) << problems;
    return loaded.flow;
  }

  // Runs one call and returns its trace as JSON.
  boost::json::object run(const std::string& flow_text, std::string from = "+441632960001",
                          OutboundPolicy policy = stubAllowed()) {
    auto flow = load(flow_text);
    if (!flow) return {};
    boost::asio::io_context loop(1);
    CurlHttpClient http(loop, HttpClientOptions{policy, ""});
    Simulation simulation;
    simulation.from = std::move(from);
    simulation.secrets = &secrets_;
    simulation.services.http = &http;
    simulation.loop = &loop;
    simulation.trace_detail = true;
    Call call = simulate(*flow, simulation);
    flow_ = flow;
    return traceToJson(*flow, call);
  }

  static std::string str(const boost::json::value& v) {
    return v.is_string() ? std::string(v.get_string()) : boost::json::serialize(v);
  }

  SecretMap secrets_;
  std::shared_ptr<const Flow> flow_;
};

// One ApiRequest named A, then a TextToSpeech named Say with `say` as its text.
std::string oneRequest(const std::string& request_settings, const std::string& say,
                       const std::string& next = R"("next": {"output": "Say", "error": "Say"})") {
  return R"({"format": 1, "name": "T", "start": "A", "elements": [
    {"name": "A", "type": "ApiRequest", )" +
         request_settings + ", " + next + R"(},
    {"name": "Say", "type": "TextToSpeech", "text": ")" +
         say + R"("}]})";
}

TEST_F(ApiRequestHttpTest, TwoHundredGivesOutputAndJsonPaths) {
  auto trace =
      run(oneRequest(R"("url": "http://127.0.0.1:PORT/ok")",
                     "{{A.Result.Value}} {{A.Result.account.balance}} {{A.Result.orders[1].id}} "
                     "{{A.StatusCode}} [{{A.Error}}] [{{A.Result.orders[5].id}}]"));
  EXPECT_EQ(str(trace["said"].as_array().at(0)), "Gold 42.5 9 200 [] []");
  EXPECT_EQ(str(trace["steps"].as_array().at(0).as_object().at("exit")), "output");
}

TEST_F(ApiRequestHttpTest, FourHundredAndFiveHundredGiveError) {
  for (int status : {404, 500, 503}) {
    auto trace =
        run(oneRequest(R"("url": "http://127.0.0.1:PORT/status/)" + std::to_string(status) + "\"",
                       "{{A.StatusCode}} {{A.Error}} {{A.Result.status}}"));
    EXPECT_EQ(str(trace["said"].as_array().at(0)), std::to_string(status) + " HTTP status " +
                                                       std::to_string(status) + " " +
                                                       std::to_string(status));
    EXPECT_EQ(str(trace["steps"].as_array().at(0).as_object().at("exit")), "error");
  }
}

TEST_F(ApiRequestHttpTest, SlowAnswerTakesTimeoutExitAfterTheTimeout) {
  auto started = std::chrono::steady_clock::now();
  auto trace = run(oneRequest(R"("url": "http://127.0.0.1:PORT/delay?ms=3000", "timeout": 0.5)",
                              "{{A.StatusCode}} {{A.Error}}", R"("next": {"timeout": "Say"})"));
  double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  EXPECT_EQ(str(trace["steps"].as_array().at(0).as_object().at("exit")), "timeout");
  EXPECT_EQ(str(trace["said"].as_array().at(0)), "0 no complete answer within 0.5 s");
  double ms = trace["http"].as_array().at(0).as_object().at("ms").to_number<double>();
  std::printf("timeout 0.5 s: the element left after %.0f ms\n", ms);
  EXPECT_GE(ms, 500);
  EXPECT_LT(elapsed, 0.5 + 5);  // one-sided and generous: CI never depends on speed
}

TEST_F(ApiRequestHttpTest, TimeoutFallsBackToErrorExit) {
  auto trace = run(oneRequest(R"("url": "http://127.0.0.1:PORT/delay?ms=2000", "timeout": 0.2)",
                              "fallback", R"("next": {"error": "Say"})"));
  EXPECT_EQ(str(trace["path"]), R"(["A","Say"])");
}

TEST_F(ApiRequestHttpTest, RefusedConnectionAndResetGiveError) {
  OutboundPolicy port_one = stubAllowed();
  ASSERT_TRUE(port_one.add("127.0.0.1:1", true));
  auto refused =
      run(oneRequest(R"("url": "http://127.0.0.1:1/nothing-here")", "{{A.StatusCode}} {{A.Error}}"),
          "+441632960001", port_one);
  EXPECT_EQ(str(refused["said"].as_array().at(0)), "0 could not connect");
  auto reset = run(oneRequest(R"("url": "http://127.0.0.1:PORT/reset")", "{{A.StatusCode}}"));
  EXPECT_EQ(str(reset["steps"].as_array().at(0).as_object().at("exit")), "error");
}

TEST_F(ApiRequestHttpTest, InvalidJsonIsKeptAsText) {
  auto trace = run(
      oneRequest(R"("url": "http://127.0.0.1:PORT/garbage")", "[{{A.Result}}] [{{A.Result.x}}]"));
  EXPECT_EQ(str(trace["said"].as_array().at(0)), "[<html>not json] []");
  EXPECT_EQ(str(trace["steps"].as_array().at(0).as_object().at("exit")), "output");
}

TEST_F(ApiRequestHttpTest, OversizedBodyGivesError) {
  auto trace = run(oneRequest(R"("url": "http://127.0.0.1:PORT/huge?kb=2048")", "{{A.Error}}"));
  EXPECT_EQ(str(trace["said"].as_array().at(0)), "the response is larger than 1048576 bytes");
  auto small = run(
      oneRequest(R"("url": "http://127.0.0.1:PORT/ok", "maxResponseBytes": 20)", "{{A.Error}}"));
  EXPECT_EQ(str(small["said"].as_array().at(0)), "the response is larger than 20 bytes");
}

TEST_F(ApiRequestHttpTest, HeaderCommaRuleAndDefaultContentType) {
  auto trace = run(oneRequest(
      R"("action": "POST", "url": "http://127.0.0.1:PORT/echo",
         "header": "Accept: text/html, application/json, X-Caller: {{call.phonenum}}",
         "body": "{\"n\": 1}")",
      "{{A.Result.headers.Accept}}|{{A.Result.headers.X-Caller}}|"
      "{{A.Result.headers.Content-Type}}|{{A.Result.method}}"));
  EXPECT_EQ(str(trace["said"].as_array().at(0)),
            "text/html, application/json|+441632960001|application/json|POST");
}

TEST_F(ApiRequestHttpTest, LineBreakInAHeaderValueIsRefusedAndNothingIsSent) {
  auto trace = run(R"({"format": 1, "name": "T", "start": "P", "elements": [
    {"name": "P", "type": "SetProperty", "destination": {"type": "IvrData", "name": "V"},
     "source": {"type": "FreeText", "name": "x\r\nX-Injected: 1"}, "next": {"output": "A"}},
    {"name": "A", "type": "ApiRequest", "url": "http://127.0.0.1:PORT/echo",
     "header": "X-V: {{V}}", "next": {"error": "Say"}},
    {"name": "Say", "type": "TextToSpeech", "text": "{{A.StatusCode}} {{A.Error}}"}]})");
  EXPECT_EQ(str(trace["said"].as_array().at(0)),
            "0 header \"X-V\": the value of \"{{V}}\" contains CR, LF or NUL");
  EXPECT_EQ(str(trace["http"].as_array().at(0).as_object().at("status")), "0");
}

TEST_F(ApiRequestHttpTest, CallerDigitsCannotChangeTheUrlShape) {
  std::string from = "+44 1#2/3?x=&y";
  auto trace = run(oneRequest(R"("url": "http://127.0.0.1:PORT/echo?n={{call.phonenum}}&k=1")",
                              "{{A.Result.path}}"),
                   from);
  EXPECT_EQ(str(trace["said"].as_array().at(0)), "/echo?n=%2B44%201%232%2F3%3Fx%3D%26y&k=1");
}

TEST_F(ApiRequestHttpTest, QuotesAndBackslashesInAJsonBodyStayData) {
  std::string from = "a\"b\\c\x01 }, \"evil\": 1";
  // The stub echoes the body it got; it must parse and give back the caller's text exactly.
  auto flow = load(oneRequest(R"("action": "PUT", "url": "http://127.0.0.1:PORT/echo",
         "body": "{\"n\": \"{{call.phonenum}}\", \"raw\": {{call.phonenum}}}")",
                              "{{A.Result.body}}"));
  boost::asio::io_context loop(1);
  CurlHttpClient http(loop, HttpClientOptions{stubAllowed(), ""});
  Simulation simulation;
  simulation.from = from;
  simulation.services.http = &http;
  simulation.loop = &loop;
  Call call = simulate(*flow, simulation);
  std::string body = call.trace().said.at(0);
  boost::system::error_code ec;
  auto parsed = boost::json::parse(body, ec);
  ASSERT_FALSE(ec) << body;
  EXPECT_EQ(parsed.as_object().at("n").as_string(), from);
  EXPECT_EQ(parsed.as_object().at("raw").as_string(), from);
  EXPECT_EQ(parsed.as_object().size(), 2u) << body;
}

TEST_F(ApiRequestHttpTest, SecretIsSentButNeverShown) {
  secrets_["KEY"] = "hunter2-very-secret";
  auto trace = run(oneRequest(R"("url": "http://127.0.0.1:PORT/echo?key={{secret.KEY}}",
         "header": "X-Key: {{secret.KEY}}",
         "auth": {"type": "basic", "username": "ivr", "password": "{{secret.KEY}}"})",
                              "{{A.Result.headers.X-Key}} {{A.Result}}"));
  std::string text = boost::json::serialize(trace);
  EXPECT_EQ(text.find("hunter2"), std::string::npos) << text;
  EXPECT_NE(text.find("*** "), std::string::npos) << text;  // it was sent and echoed back
  EXPECT_NE(text.find("key=***"), std::string::npos) << text;
}

TEST_F(ApiRequestHttpTest, OutboundPolicyIsCheckedOnTheConnectedAddress) {
  auto metadata =
      run(oneRequest(R"("url": "http://169.254.169.254/latest/meta-data")", "{{A.Error}}"));
  EXPECT_EQ(str(metadata["said"].as_array().at(0)), "the outbound policy denies that address");
  // Loopback is denied by default: the stub answers, but not to a flow that is not allowed it.
  auto denied = run(oneRequest(R"("url": "http://localhost:PORT/ok")", "{{A.Error}}"),
                    "+441632960001", OutboundPolicy::defaults());
  EXPECT_EQ(str(denied["said"].as_array().at(0)), "the outbound policy denies that address");
  // Allowing the stub's address and port opens that port only, under any name for it.
  auto by_name = run(oneRequest(R"("url": "http://localhost:PORT/ok")", "{{A.Result.Value}}"));
  EXPECT_EQ(str(by_name["said"].as_array().at(0)), "Gold");
  auto other_port = run(oneRequest(R"("url": "http://127.0.0.1:9/ok")", "{{A.Error}}"));
  EXPECT_EQ(str(other_port["said"].as_array().at(0)), "the outbound policy denies that address");
  OutboundPolicy whole_range = OutboundPolicy::defaults();
  whole_range.allow.push_back(*Cidr::parse("127.0.0.1/32"));
  auto allowed = run(oneRequest(R"("url": "http://127.0.0.1:PORT/ok")", "{{A.Result.Value}}"),
                     "+441632960001", whole_range);
  EXPECT_EQ(str(allowed["said"].as_array().at(0)), "Gold");
}

TEST_F(ApiRequestHttpTest, RedirectsAreFollowedOnlyWhenAskedAndEachHopIsChecked) {
  auto not_followed = run(oneRequest(R"("url": "http://127.0.0.1:PORT/redirect?to=/ok")",
                                     "{{A.StatusCode}} {{A.Error}}"));
  EXPECT_EQ(str(not_followed["said"].as_array().at(0)), "302 HTTP status 302");
  auto followed = run(oneRequest(
      R"("url": "http://127.0.0.1:PORT/redirect?to=/redirect%3Fto%3D/ok", "followRedirects": true)",
      "{{A.StatusCode}} {{A.Result.Value}}"));
  EXPECT_EQ(str(followed["said"].as_array().at(0)), "200 Gold");
  auto to_metadata = run(oneRequest(
      R"("url": "http://127.0.0.1:PORT/redirect?to=http://169.254.169.254/latest",
         "followRedirects": true)",
      "{{A.Error}}"));
  EXPECT_EQ(str(to_metadata["said"].as_array().at(0)), "the outbound policy denies that address");
  OutboundPolicy deny_localhost = stubAllowed();
  ASSERT_TRUE(deny_localhost.add("localhost", false));
  auto to_denied_host =
      run(oneRequest(
              R"("url": "http://127.0.0.1:PORT/redirect?to=http://localhost:PORT/ok",
         "followRedirects": true)",
              "{{A.Error}}"),
          "+441632960001", deny_localhost);
  EXPECT_EQ(str(to_denied_host["said"].as_array().at(0)), "the outbound policy denies that host");
}

TEST_F(ApiRequestHttpTest, AHostAllowedByNameIsReachedWhateverItsAddress) {
  OutboundPolicy policy = OutboundPolicy::defaults();  // loopback denied
  auto denied = run(oneRequest(R"("url": "http://localhost:PORT/ok")", "{{A.Error}}"),
                    "+441632960001", policy);
  EXPECT_EQ(str(denied["said"].as_array().at(0)), "the outbound policy denies that address");
  ASSERT_TRUE(policy.add("localhost:" + std::to_string(stub->port()), true));
  auto allowed = run(oneRequest(R"("url": "http://localhost:PORT/ok")", "{{A.Result.Value}}"),
                     "+441632960001", policy);
  EXPECT_EQ(str(allowed["said"].as_array().at(0)), "Gold");
  auto other_port =
      run(oneRequest(R"("url": "http://localhost:1/ok")", "{{A.Error}}"), "+441632960001", policy);
  EXPECT_EQ(str(other_port["said"].as_array().at(0)), "the outbound policy denies that address");
}

TEST_F(ApiRequestHttpTest, RetriesIdempotentRequestsOnFiveHundreds) {
  auto trace = run(oneRequest(R"("url": "http://127.0.0.1:PORT/status/503", "retries": 2,
                                  "timeout": 5)",
                              "{{A.StatusCode}}"));
  EXPECT_EQ(str(trace["said"].as_array().at(0)), "503");
  EXPECT_EQ(str(trace["http"].as_array().at(0).as_object().at("retries")), "2");
}

TEST_F(ApiRequestHttpTest, AThousandCallsAtOnceEachMakeARequest) {
  auto flow = load(oneRequest(R"("url": "http://127.0.0.1:PORT/ok?call={{call.phonenum}}",
                                  "timeout": 60)",
                              "{{A.Result.Value}}"));
  ASSERT_TRUE(flow);
  constexpr int kCalls = 1000;
  boost::asio::io_context loop(1);
  CurlHttpClient http(loop, HttpClientOptions{stubAllowed(), ""});
  std::vector<std::unique_ptr<Call>> calls;
  std::vector<std::unique_ptr<ScriptChannel>> lines;
  for (int i = 0; i < kCalls; ++i) {
    calls.push_back(std::make_unique<Call>(makeCall(*flow, std::to_string(i), "")));
    calls.back()->services().http = &http;
    lines.push_back(std::make_unique<ScriptChannel>(CallerScript{}));
    boost::asio::co_spawn(loop, runCall(*flow, *calls.back(), *lines.back()),
                          boost::asio::detached);
  }
  auto started = std::chrono::steady_clock::now();
  loop.run();
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  int answered = 0;
  for (const auto& call : calls) {
    answered += call->trace().said.size() == 1 && call->trace().said[0] == "Gold";
  }
  std::printf("%d calls, one request each, on one loop: %.2f s\n", kCalls, seconds);
  EXPECT_EQ(answered, kCalls);
}

boost::asio::awaitable<void> sendInto(HttpClient& http, HttpRequest request, HttpResponse& out) {
  out = co_await http.send(std::move(request));
}

// One exchange through the real client, on a loop of its own.
HttpResponse sendOne(const std::string& url, bool follow_redirects = false) {
  boost::asio::io_context loop(1);
  CurlHttpClient http(loop, HttpClientOptions{stubAllowed(), ""});
  HttpRequest request;
  request.method = "GET";
  request.url = url;
  request.follow_redirects = follow_redirects;
  HttpResponse response;
  boost::asio::co_spawn(loop, sendInto(http, std::move(request), response), boost::asio::detached);
  loop.run();
  return response;
}

std::vector<std::string> headerValues(const HttpResponse& response, const std::string& name) {
  std::vector<std::string> values;
  for (const auto& [n, v] : response.headers) {
    if (n == name) values.push_back(v);
  }
  return values;
}

TEST_F(ApiRequestHttpTest, ResponseHeadersAreKeptInOrderWithLowerCaseNames) {
  HttpResponse response = sendOne(withPort("http://127.0.0.1:PORT/headers"));
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(headerValues(response, "x-stub"), std::vector<std::string>{"yes"});
  EXPECT_EQ(headerValues(response, "set-cookie"), (std::vector<std::string>{"a=1", "b=2"}));
  EXPECT_EQ(headerValues(response, "content-type"), std::vector<std::string>{"application/json"});
  for (const auto& [name, value] : response.headers) {
    for (char c : name) EXPECT_FALSE(c >= 'A' && c <= 'Z') << name;
  }
}

TEST_F(ApiRequestHttpTest, ResponseHeadersAreBoundedByCountAndBytes) {
  HttpResponse many = sendOne(withPort("http://127.0.0.1:PORT/headers?n=300&len=10"));
  EXPECT_EQ(many.status, 200);
  EXPECT_EQ(many.headers.size(), HttpResponse::kMaxHeaders);
  EXPECT_EQ(headerValues(many, "x-stub"), std::vector<std::string>{"yes"});
  HttpResponse large = sendOne(withPort("http://127.0.0.1:PORT/headers?n=60&len=1000"));
  EXPECT_EQ(large.status, 200);
  std::size_t bytes = 0;
  for (const auto& [name, value] : large.headers) bytes += name.size() + value.size();
  EXPECT_LE(bytes, HttpResponse::kMaxHeaderBytes);
  EXPECT_GT(bytes, HttpResponse::kMaxHeaderBytes - 1100);
  EXPECT_LT(large.headers.size(), 60u);
  EXPECT_EQ(large.body, R"({"ok": true})");
}

TEST_F(ApiRequestHttpTest, AfterRedirectsOnlyTheLastAnswersHeadersRemain) {
  HttpResponse followed =
      sendOne(withPort("http://127.0.0.1:PORT/redirect?to=/headers"), /*follow_redirects=*/true);
  EXPECT_EQ(followed.status, 200);
  EXPECT_EQ(headerValues(followed, "x-stub"), std::vector<std::string>{"yes"});
  EXPECT_TRUE(headerValues(followed, "location").empty());
  HttpResponse not_followed = sendOne(withPort("http://127.0.0.1:PORT/redirect?to=/headers"));
  EXPECT_EQ(not_followed.status, 302);
  EXPECT_EQ(headerValues(not_followed, "location"), std::vector<std::string>{"/headers"});
}

TEST_F(ApiRequestHttpTest, TraceShowsTheRequestAndAnswerWithSecretsMasked) {
  secrets_["KEY"] = "hunter2-very-secret";
  auto trace = run(oneRequest(R"("action": "POST", "url": "http://127.0.0.1:PORT/echo",
         "header": "X-Key: {{secret.KEY}}, X-Caller: {{call.phonenum}}",
         "auth": {"type": "basic", "username": "ivr", "password": "{{secret.KEY}}"},
         "body": "{\"key\": \"{{secret.KEY}}\", \"n\": 1}")",
                              "{{A.StatusCode}}"));
  const auto& http = trace["http"].as_array().at(0).as_object();
  EXPECT_EQ(str(http.at("requestHeaders")),
            R"([["X-Key","***"],["X-Caller","+441632960001"],["Authorization","Basic ***"],)"
            R"(["Content-Type","application/json"]])");
  EXPECT_EQ(str(http.at("requestBody")), R"({"key": "***", "n": 1})");
  EXPECT_EQ(str(http.at("contentType")), "application/json");
  std::string body = str(http.at("responseBody"));
  EXPECT_NE(body.find(R"("method": "POST")"), std::string::npos) << body;
  EXPECT_NE(body.find(R"("X-Key": "***")"), std::string::npos) << body;
  // The echo holds the secret (its header, its body, the Basic credentials), each shown as ***.
  EXPECT_GT(http.at("responseBytes").to_number<std::size_t>(), body.size()) << body;
  EXPECT_NE(body.find(R"("Authorization": "Basic aXZyOm***)"), std::string::npos) << body;
  EXPECT_FALSE(http.contains("responseBodyTruncated"));
  std::string text = boost::json::serialize(trace);
  EXPECT_EQ(text.find("hunter2"), std::string::npos) << text;
  EXPECT_EQ(text.find(base64("ivr:hunter2-very-secret")), std::string::npos) << text;
}

TEST_F(ApiRequestHttpTest, TraceKeepsAnExcerptOfALargeAnswer) {
  auto trace = run(oneRequest(R"("url": "http://127.0.0.1:PORT/huge?kb=200",
                                  "maxResponseBytes": 1000000)",
                              "{{A.StatusCode}}"));
  const auto& http = trace["http"].as_array().at(0).as_object();
  EXPECT_EQ(str(trace["said"].as_array().at(0)), "200");
  EXPECT_EQ(http.at("responseBody").as_string().size(), HttpExchange::kTraceBodyBytes);
  EXPECT_EQ(http.at("responseBytes").to_number<std::size_t>(), 200u * 1024 + 11);
  EXPECT_TRUE(http.at("responseBodyTruncated").as_bool());
}

}  // namespace
}  // namespace callflow
