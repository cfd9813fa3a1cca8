// ApiRequest: the seed's header form, base64, its settings as loadFlow reads them, and one
// request through a recording HttpClient (src/elements/api_request.cpp). The same element
// against a real server is in tests/integration/.
#include "elements/api_request.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <string>
#include <utility>
#include <vector>

#include "callflow/http_client.h"
#include "elements/elements.h"
#include "engine/runner.h"
#include "engine/script_channel.h"
#include "flow/flow.h"

namespace callflow {
namespace {

using namespace std::string_literals;
using Lines = std::vector<std::string>;

// --- splitHeaders ------------------------------------------------------------------------------

TEST(SplitHeadersTest, CommaRule) {
  struct Case {
    std::string text;
    Lines want;
  };
  const Case cases[] = {
      {"Content-Type: application/json, Authorization: Basic abc==",
       {"Content-Type: application/json", "Authorization: Basic abc=="}},
      {"Accept: text/html, application/json", {"Accept: text/html, application/json"}},
      {"Accept: text/html, application/json, X-Id: 5",
       {"Accept: text/html, application/json", "X-Id: 5"}},
      {"A: 1,B: 2", {"A: 1", "B: 2"}},
      {"  A: 1  ,   B: 2  ", {"A: 1", "B: 2"}},
      {"A: 1,\tB: 2", {"A: 1", "B: 2"}},
      {"Cookie: a=1, b=2", {"Cookie: a=1, b=2"}},
      {"If-Modified-Since: Tue, 15 Nov 1994 08:12:31 GMT",
       {"If-Modified-Since: Tue, 15 Nov 1994 08:12:31 GMT"}},
      {"X-List: a, b, c", {"X-List: a, b, c"}},
      {"A: 1,", {"A: 1,"}},
      {"A: 1, X-Weird.Name_1~: 2", {"A: 1", "X-Weird.Name_1~: 2"}},
      {"Single: value", {"Single: value"}},
      {"", {}},
      {"   ", {}},
  };
  for (const Case& c : cases) EXPECT_EQ(splitHeaders(c.text), c.want) << c.text;
}

TEST(SplitHeadersTest, CommasInsideFillpointsNeverSplit) {
  EXPECT_EQ(splitHeaders("X-Data: {{a, B: c}}"), Lines{"X-Data: {{a, B: c}}"});
  EXPECT_EQ(splitHeaders(R"(X-A: {{Missing | default: "x, Y: z"}}, X-B: 2)"),
            (Lines{R"(X-A: {{Missing | default: "x, Y: z"}})", "X-B: 2"}));
  EXPECT_EQ(splitHeaders("Authorization: Bearer {{secret.TOKEN}}, X-Id: {{Ask.Result}}"),
            (Lines{"Authorization: Bearer {{secret.TOKEN}}", "X-Id: {{Ask.Result}}"}));
  // An unclosed fillpoint swallows the rest (the template parser then reports it).
  EXPECT_EQ(splitHeaders("X-A: {{oops, X-B: 2"), Lines{"X-A: {{oops, X-B: 2"});
}

// --- base64 ------------------------------------------------------------------------------------

TEST(Base64Test, Rfc4648Vectors) {
  EXPECT_EQ(base64(""), "");
  EXPECT_EQ(base64("f"), "Zg==");
  EXPECT_EQ(base64("fo"), "Zm8=");
  EXPECT_EQ(base64("foo"), "Zm9v");
  EXPECT_EQ(base64("foob"), "Zm9vYg==");
  EXPECT_EQ(base64("fooba"), "Zm9vYmE=");
  EXPECT_EQ(base64("foobar"), "Zm9vYmFy");
}

TEST(Base64Test, BinaryAndCredentials) {
  EXPECT_EQ(base64("\0"s), "AA==");
  EXPECT_EQ(base64("\xFF\xFE\xFD"), "//79");
  EXPECT_EQ(base64("\xFB\xFF"), "+/8=");
  EXPECT_EQ(base64("Aladdin:open sesame"), "QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
  EXPECT_EQ(base64("user:p\xC3\xA4ss"), "dXNlcjpww6Rzcw==");
}

// --- Settings through loadFlow -----------------------------------------------------------------

// A flow of SetV (IvrData V from `value`) -> API (ApiRequest with `settings`) -> End.
std::string flowWith(const boost::json::object& settings, std::string_view value = "v") {
  boost::json::object api{{"name", "API"},
                          {"type", "ApiRequest"},
                          {"url", "https://api.example.com/x"},
                          {"next", {{"output", "Done"}, {"error", "Failed"}}}};
  for (const auto& [key, v] : settings) api[key] = v;
  boost::json::object flow{
      {"format", 1},
      {"name", "Api"},
      {"start", "SetV"},
      {"elements",
       {boost::json::object{{"name", "SetV"},
                            {"type", "SetProperty"},
                            {"destination", {{"type", "IvrData"}, {"name", "V"}}},
                            {"source", {{"type", "FreeText"}, {"name", value}}},
                            {"next", {{"output", "API"}}}},
        std::move(api),
        boost::json::object{{"name", "Done"},
                            {"type", "TextToSpeech"},
                            {"text", "ok"},
                            {"resultCode", "OK"},
                            {"next", {{"output", "End"}}}},
        boost::json::object{{"name", "Failed"},
                            {"type", "TextToSpeech"},
                            {"text", "failed"},
                            {"resultCode", "FAILED"},
                            {"next", {{"output", "End"}}}},
        boost::json::object{{"name", "End"}, {"type", "Hangup"}}}}};
  return boost::json::serialize(flow);
}

LoadedFlow loadWith(const boost::json::object& settings) {
  return loadFlow(flowWith(settings), elementTypes());
}

std::string problems(const LoadedFlow& loaded) {
  std::string out;
  for (const Problem& p : loaded.diagnostics.problems()) out += p.text() + "\n";
  return out;
}

void expectLoads(const boost::json::object& settings) {
  LoadedFlow loaded = loadWith(settings);
  EXPECT_TRUE(loaded.flow) << boost::json::serialize(settings) << "\n" << problems(loaded);
  EXPECT_FALSE(loaded.diagnostics.hasErrors()) << problems(loaded);
}

// Expects exactly one error, with this text.
void expectProblem(const boost::json::object& settings, std::string_view text) {
  LoadedFlow loaded = loadWith(settings);
  EXPECT_FALSE(loaded.flow) << boost::json::serialize(settings);
  EXPECT_EQ(problems(loaded), std::string(text) + "\n") << boost::json::serialize(settings);
}

TEST(ApiRequestSettingsTest, TheBaseFlowLoads) { expectLoads({}); }

TEST(ApiRequestSettingsTest, Methods) {
  for (const char* method : {"GET", "POST", "PUT", "PATCH", "DELETE"}) {
    expectLoads({{"action", method}});
  }
  for (const char* method : {"get", "Post", "HEAD", "OPTIONS", "CONNECT", ""}) {
    expectProblem({{"action", method}},
                  R"(element "API": key "action": must be GET, POST, PUT, PATCH or DELETE )"
                  R"((in capitals))");
  }
  expectProblem({{"action", 1}}, R"(element "API": key "action": must be a string, not a number)");
}

TEST(ApiRequestSettingsTest, TimeoutRange) {
  for (double timeout : {0.001, 0.5, 1.0, 10.0, 119.9, 120.0}) expectLoads({{"timeout", timeout}});
  expectProblem({{"timeout", 0}}, R"(element "API": key "timeout": must be more than 0)");
  expectProblem({{"timeout", -1}}, R"(element "API": key "timeout": must be more than 0)");
  expectProblem({{"timeout", 120.5}}, R"(element "API": key "timeout": must be at most 120)");
  expectProblem({{"timeout", 3600}}, R"(element "API": key "timeout": must be at most 120)");
  expectProblem({{"timeout", "10"}},
                R"(element "API": key "timeout": must be a number, not a string)");
  expectProblem({{"timeout", nullptr}},
                R"(element "API": key "timeout": must be a number, not null)");
}

TEST(ApiRequestSettingsTest, UrlRules) {
  for (const char* url :
       {"http://api.example.com", "https://api.example.com/x", "HTTPS://API.EXAMPLE.COM/x",
        "https://api.example.com:8443/v1/leads/{{V}}?q={{ V }}&r={{V | default: \"a b\"}}",
        "https://10.0.0.5/x#{{V}}", "https://h?x={{V}}", "https://h/{{V}}@x",
        "https://[::1]:8080/x"}) {
    expectLoads({{"url", url}});
  }
  const std::string key = R"(element "API": key "url": )";
  expectProblem({{"url", "ftp://h/x"}}, key + "must start with http:// or https://");
  expectProblem({{"url", "api.example.com/x"}}, key + "must start with http:// or https://");
  expectProblem({{"url", "{{V}}/x"}}, key + "must start with http:// or https://");
  expectProblem({{"url", "https://{{V}}/x"}},
                key + "fillpoints are not allowed in the scheme, host or port");
  expectProblem({{"url", "https://api.example.com:{{V}}/x"}},
                key + "fillpoints are not allowed in the scheme, host or port");
  expectProblem({{"url", "https://api.{{V}}.com"}},
                key + "fillpoints are not allowed in the scheme, host or port");
  expectProblem({{"url", "https://user:pw@api.example.com/x"}},
                key +
                    "user:password in the URL is not allowed; use \"auth\" or a header with a "
                    "{{secret.NAME}}");
  expectProblem({{"url", "https://user@api.example.com/x"}},
                key +
                    "user:password in the URL is not allowed; use \"auth\" or a header with a "
                    "{{secret.NAME}}");
  expectProblem({{"url", "https://"}}, key + "has no host");
  expectProblem({{"url", "https:///x"}}, key + "has no host");
  expectProblem({{"url", "http:///{{p}}"}}, key + "has no host");  // libcurl: host from p
  expectProblem({{"url", "https://h\\evil.com/x"}},
                key + "the host contains a space or a backslash");
  expectProblem({{"url", "https://h/a b"}},
                key + "contains a space or line break; write it as %20");
  expectProblem({{"url", "https://h/a\nb"}},
                key + "contains a space or line break; write it as %20");
  expectProblem({{"url", "https://h/{{V}}/a b"}},
                key + "contains a space or line break; write it as %20");
  expectProblem({{"url", "https://h/{{V}}\r\n"}},
                key + "contains a space or line break; write it as %20");
  expectProblem({{"url", "https://h/{{V.}}"}},
                key + "at character 11: fillpoint \"V.\": ends with '.'");
}

// F15: a literal host that names this machine or a private network, in any spelling, loads
// with a warning on key "url" (the outbound policy decides at run time); no DNS is asked.
TEST(ApiRequestSettingsTest, F15PrivateHostsWarn) {
  const std::string warning =
      R"(warning: element "API": key "url": the host is a loopback/private address: calls )"
      R"(reach it only if the outbound policy allows it (--allow))"
      "\n";
  for (const char* host : {"127.0.0.1",
                           "127.1",
                           "2130706433",
                           "0x7f000001",
                           "0177.0.0.1",
                           "[::1]",
                           "[::ffff:127.0.0.1]",
                           "[::ffff:7f00:1]",
                           "0.0.0.0",
                           "0",
                           "[::]",
                           "169.254.169.254",
                           "localhost",
                           "LocalHost",
                           "localhost.",
                           "api.localhost",
                           "[fe80::1%25lo]",
                           "10.1.2.3",
                           "172.16.0.1",
                           "172.31.255.255",
                           "192.168.1.1",
                           "100.64.0.1",
                           "[fc00::1]",
                           "[fd12::1]",
                           "[FE80::1]"}) {
    for (const char* port : {"", ":8080"}) {
      std::string url = std::string("http://") + host + port + "/x?q={{V}}";
      LoadedFlow loaded = loadWith({{"url", url}});
      EXPECT_TRUE(loaded.flow) << url << "\n" << problems(loaded);
      EXPECT_EQ(problems(loaded), warning) << url;
    }
  }
  for (const char* host :
       {"api.example.com", "8.8.8.8", "172.32.0.1", "172.15.255.255", "100.128.0.1", "192.169.0.1",
        "11.0.0.1", "[2001:db8::1]", "[::ffff:8.8.8.8]", "localhost.example.com", "mylocalhost",
        "1.2.3.4.5", "127.0.0.1.example.com", "[::1"}) {
    std::string url = std::string("https://") + host + "/x";
    LoadedFlow loaded = loadWith({{"url", url}});
    EXPECT_EQ(problems(loaded), "") << url;
  }
}

TEST(ApiRequestSettingsTest, UrlIsRequired) {
  boost::json::value flow = boost::json::parse(flowWith({}));
  flow.at("elements").as_array()[1].as_object().erase("url");
  LoadedFlow loaded = loadFlow(boost::json::serialize(flow), elementTypes());
  EXPECT_EQ(problems(loaded), "element \"API\": key \"url\": missing\n");
}

TEST(ApiRequestSettingsTest, HeaderForms) {
  expectLoads({{"header", "Accept: application/json, Authorization: Bearer {{secret.T}}"}});
  expectLoads({{"header", boost::json::array{"Accept: application/json", "X-Token: {{secret.T}}",
                                             "X-Empty:"}}});
  expectLoads({{"header", ""}});
  expectLoads({{"header", boost::json::array{}}});
  const std::string key = R"(element "API": key "header": )";
  expectProblem({{"header", boost::json::array{"NoColon"}}},
                key + R"("NoColon" is not "Name: value" with a valid name)");
  expectProblem({{"header", boost::json::array{"Bad Name: x"}}},
                key + R"("Bad Name: x" is not "Name: value" with a valid name)");
  expectProblem({{"header", boost::json::array{": x"}}},
                key + R"(": x" is not "Name: value" with a valid name)");
  expectProblem({{"header", boost::json::array{"X-A: a\r\nX-B: b"}}},
                key + R"(the value of "X-A" contains a line break or NUL)");
  expectProblem({{"header", boost::json::array{"X-A: {{V..}}"}}},
                key + R"(at character 1: fillpoint "V..": expected a name at character 3)");
  expectProblem({{"header", 5}}, key + "must be a list of strings, not a number");
  expectProblem({{"header", boost::json::array{"A: 1", 2}}},
                R"(element "API": key "header[1]": must be a string, not a number)");
}

TEST(ApiRequestSettingsTest, Retries) {
  for (const char* method : {"GET", "PUT", "DELETE"}) {
    expectLoads({{"action", method}, {"retries", 5}});
  }
  for (const char* method : {"POST", "PATCH"}) {
    expectLoads({{"action", method}, {"retries", 0}});
    expectProblem({{"action", method}, {"retries", 1}},
                  R"(element "API": key "retries": only GET, PUT and DELETE may be retried )"
                  R"((they are idempotent))");
  }
  expectLoads({{"retries", 2}});  // GET by default
  expectProblem({{"retries", 6}}, R"(element "API": key "retries": must be at most 5)");
  expectProblem({{"retries", -1}}, R"(element "API": key "retries": must be at least 0)");
  expectProblem({{"retries", 1.5}}, R"(element "API": key "retries": must be a whole number)");
}

TEST(ApiRequestSettingsTest, Auth) {
  expectLoads({{"auth", {{"type", "basic"}, {"username", "u"}, {"password", "{{secret.P}}"}}}});
  const std::string key = R"(element "API": key "auth)";
  expectProblem({{"auth", {{"type", "digest"}, {"username", "u"}, {"password", "p"}}}},
                key + R"(.type": must be "basic")");
  expectProblem({{"auth", {{"type", "basic"}, {"username", "u"}}}}, key + R"(.password": missing)");
  expectProblem({{"auth", {{"username", "u"}, {"password", "p"}}}}, key + R"(.type": missing)");
  expectProblem(
      {{"auth", {{"type", "basic"}, {"username", "u"}, {"password", "p"}, {"realm", "x"}}}},
      key + R"(.realm": unknown setting)");
  expectProblem({{"auth", "basic u:p"}}, key + R"(": must be an object, not a string)");
}

TEST(ApiRequestSettingsTest, OtherSettings) {
  expectLoads({{"followRedirects", true}, {"maxResponseBytes", 1024}, {"body", ""}});
  expectProblem({{"followRedirects", "yes"}},
                R"(element "API": key "followRedirects": must be true or false, not a string)");
  expectProblem({{"maxResponseBytes", 0}},
                R"(element "API": key "maxResponseBytes": must be at least 1)");
  expectProblem({{"body", "{\"a\": \"{{V\"}"}},
                R"(element "API": key "body": at character 8: "{{" is never closed)");
  expectProblem({{"method", "GET"}}, R"(element "API": key "method": unknown setting)");
}

// --- Running: one request through a recording client --------------------------------------------

class RecordingHttp : public HttpClient {
 public:
  explicit RecordingHttp(ScriptChannel* line) : line_(line) {}

  boost::asio::awaitable<HttpResponse> send(HttpRequest request) override {
    requests.push_back(std::move(request));
    held_while_sending.push_back(line_->holding());
    co_return response;
  }

  HttpResponse response{200, R"({"tier": "Gold", "n": 3})", "application/json"};
  std::vector<HttpRequest> requests;
  std::vector<bool> held_while_sending;

 private:
  ScriptChannel* line_;
};

struct Ran {
  std::shared_ptr<const Flow> flow;
  std::vector<HttpRequest> requests;
  std::vector<bool> held;
  std::vector<std::string> path;
  std::optional<Call> call;
};

Ran runWith(const boost::json::object& settings, std::string_view value = "v",
            HttpResponse response = {200, R"({"tier": "Gold"})", "application/json"},
            bool with_client = true) {
  Ran ran;
  LoadedFlow loaded = loadFlow(flowWith(settings, value), elementTypes());
  EXPECT_TRUE(loaded.flow) << problems(loaded);
  if (!loaded.flow) return ran;
  ran.flow = loaded.flow;
  ScriptChannel line(CallerScript{});
  RecordingHttp http(&line);
  http.response = std::move(response);
  ran.call.emplace(makeCall(*ran.flow, "+15550001", "8005550199"));
  if (with_client) ran.call->services().http = &http;
  runCallToEnd(*ran.flow, *ran.call, line);
  EXPECT_FALSE(line.holding());
  ran.call->services().http = nullptr;
  ran.requests = std::move(http.requests);
  ran.held = std::move(http.held_while_sending);
  for (const TraceStep& step : ran.call->trace().steps) {
    ran.path.push_back(ran.flow->nodes[static_cast<std::size_t>(step.element)].name);
  }
  return ran;
}

std::optional<std::string> header(const HttpRequest& request, std::string_view name) {
  for (const auto& [key, value] : request.headers) {
    if (key == name) return value;
  }
  return std::nullopt;
}

TEST(ApiRequestRunTest, SuccessLeavesTheResultAndTakesOutput) {
  Ran ran = runWith({{"timeout", 2.5}, {"maxResponseBytes", 4096}, {"followRedirects", true}});
  ASSERT_EQ(ran.requests.size(), 1u);
  const HttpRequest& request = ran.requests[0];
  EXPECT_EQ(request.method, "GET");
  EXPECT_EQ(request.url, "https://api.example.com/x");
  EXPECT_LE(request.timeout_seconds, 2.5);
  EXPECT_GT(request.timeout_seconds, 0);
  EXPECT_EQ(request.max_response_bytes, 4096u);
  EXPECT_TRUE(request.follow_redirects);
  EXPECT_TRUE(request.body.empty());
  EXPECT_EQ(ran.path, (Lines{"SetV", "API", "Done", "End"}));
  const ElementResult& result = ran.call->result(1);
  EXPECT_TRUE(result.ran);
  EXPECT_EQ(result.status_code, 200);
  EXPECT_EQ(result.error, "");
  EXPECT_EQ(result.text, R"({"tier": "Gold"})");
  ASSERT_NE(result.json, nullptr);
  EXPECT_EQ(result.json->at("tier"), boost::json::value("Gold"));
  ASSERT_EQ(ran.call->trace().http.size(), 1u);
  const HttpExchange& exchange = ran.call->trace().http[0];
  EXPECT_EQ(exchange.element, "API");
  EXPECT_EQ(exchange.method, "GET");
  EXPECT_EQ(exchange.url, "https://api.example.com/x");
  EXPECT_EQ(exchange.status, 200);
  EXPECT_EQ(exchange.error, "");
}

TEST(ApiRequestRunTest, NonJsonBodyIsKeptAsText) {
  Ran ran = runWith({}, "v", {200, "<html>", "text/html"});
  const ElementResult& result = ran.call->result(1);
  EXPECT_EQ(result.text, "<html>");
  EXPECT_EQ(result.json, nullptr);
  EXPECT_EQ(ran.path, (Lines{"SetV", "API", "Done", "End"}));
}

TEST(ApiRequestRunTest, StatusOutside2xxTakesError) {
  for (int status : {100, 199, 300, 301, 404, 500, 503}) {
    Ran ran = runWith({}, "v", {status, "nope", "text/plain"});
    EXPECT_EQ(ran.path, (Lines{"SetV", "API", "Failed", "End"})) << status;
    EXPECT_EQ(ran.call->result(1).status_code, status);
    EXPECT_EQ(ran.call->result(1).error, "HTTP status " + std::to_string(status));
  }
  for (int status : {200, 201, 204, 299}) {
    Ran ran = runWith({}, "v", {status, "", ""});
    EXPECT_EQ(ran.path, (Lines{"SetV", "API", "Done", "End"})) << status;
  }
}

TEST(ApiRequestRunTest, TimeoutTakesTimeoutElseError) {
  HttpResponse timed_out{0, "", "", HttpResponse::Failure::kTimeout, "timed out"};
  Ran ran = runWith({{"timeout", 3}}, "v", timed_out);
  // No `timeout` in next: the Runner falls back to `error`.
  EXPECT_EQ(ran.path, (Lines{"SetV", "API", "Failed", "End"}));
  ASSERT_GE(ran.call->trace().steps.size(), 2u);
  EXPECT_EQ(ran.call->trace().steps[1].exit, ExitKind::kTimeout);
  EXPECT_EQ(ran.call->result(1).status_code, 0);
  EXPECT_EQ(ran.call->result(1).error, "no complete answer within 3 s");

  ran = runWith({{"timeout", 3}, {"next", {{"timeout", "Done"}, {"error", "Failed"}}}}, "v",
                timed_out);
  EXPECT_EQ(ran.path, (Lines{"SetV", "API", "Done", "End"}));
}

TEST(ApiRequestRunTest, OtherFailuresTakeError) {
  for (auto failure : {HttpResponse::Failure::kConnect, HttpResponse::Failure::kTooLarge,
                       HttpResponse::Failure::kPolicy, HttpResponse::Failure::kOther}) {
    Ran ran = runWith({{"next", {{"timeout", "Done"}, {"error", "Failed"}}}}, "v",
                      {0, "", "", failure, "refused"});
    EXPECT_EQ(ran.path, (Lines{"SetV", "API", "Failed", "End"}));
    EXPECT_EQ(ran.call->result(1).error, "refused");
    EXPECT_EQ(ran.call->trace().http.at(0).error, "refused");
  }
}

TEST(ApiRequestRunTest, ValuesAreEncodedForTheUrl) {
  Ran ran = runWith({{"url", "https://api.example.com/leads/{{V}}?q={{V}}"}}, "a/b?c#d e&f");
  ASSERT_EQ(ran.requests.size(), 1u);
  EXPECT_EQ(ran.requests[0].url,
            "https://api.example.com/leads/a%2Fb%3Fc%23d%20e%26f?q=a%2Fb%3Fc%23d%20e%26f");
  EXPECT_EQ(ran.call->trace().http.at(0).url, ran.requests[0].url);
}

TEST(ApiRequestRunTest, JsonBodyIsDetectedAndEscaped) {
  struct Case {
    const char* body;
    std::string want;
    bool json;
  };
  const Case cases[] = {
      {R"({"name": "{{V}}", "n": {{V}}})", R"({"name": "say \"hi\"", "n": "say \"hi\""})", true},
      {"  \n\r\n  [\"{{V}}\"]", "  \n\r\n  [\"say \\\"hi\\\"\"]", true},
      {"name={{V}}", "name=say \"hi\"", false},
      {"\"{{V}}\"", "\"say \"hi\"\"", false},
  };
  for (const Case& c : cases) {
    Ran ran = runWith({{"action", "POST"}, {"body", c.body}}, "say \"hi\"");
    ASSERT_EQ(ran.requests.size(), 1u) << c.body;
    EXPECT_EQ(ran.requests[0].body, c.want) << c.body;
    EXPECT_EQ(header(ran.requests[0], "Content-Type"),
              c.json ? std::optional<std::string>("application/json") : std::nullopt)
        << c.body;
  }
}

TEST(ApiRequestRunTest, ExplicitContentTypeIsKept) {
  Ran ran = runWith({{"action", "POST"},
                     {"header", "content-type: application/vnd.api+json"},
                     {"body", R"({"a": 1})"}});
  ASSERT_EQ(ran.requests.size(), 1u);
  EXPECT_EQ(ran.requests[0].headers, (std::vector<std::pair<std::string, std::string>>{
                                         {"content-type", "application/vnd.api+json"}}));
}

TEST(ApiRequestRunTest, HeadersAreRenderedInOrder) {
  Ran ran = runWith({{"header", "Accept: text/html, application/json, X-Value: <{{V}}>"}}, "a, b");
  ASSERT_EQ(ran.requests.size(), 1u);
  EXPECT_EQ(ran.requests[0].headers,
            (std::vector<std::pair<std::string, std::string>>{
                {"Accept", "text/html, application/json"}, {"X-Value", "<a, b>"}}));
}

TEST(ApiRequestRunTest, LineBreakInAHeaderValueSendsNothing) {
  for (const char* value : {"a\r\nX-Evil: 1", "a\nb", "a\rb"}) {
    Ran ran = runWith({{"header", "X-Value: {{V}}"}}, value);
    EXPECT_TRUE(ran.requests.empty()) << value;
    EXPECT_EQ(ran.path, (Lines{"SetV", "API", "Failed", "End"}));
    const ElementResult& result = ran.call->result(1);
    EXPECT_EQ(result.status_code, 0);
    EXPECT_NE(result.error.find("header \"X-Value\""), std::string::npos) << result.error;
    EXPECT_EQ(result.error.find("X-Evil"), std::string::npos) << result.error;
    ASSERT_EQ(ran.call->trace().http.size(), 1u);
    EXPECT_EQ(ran.call->trace().http[0].status, 0);
    EXPECT_FALSE(ran.call->trace().http[0].error.empty());
  }
}

TEST(ApiRequestRunTest, BasicAuth) {
  boost::json::object auth{{"type", "basic"}, {"username", "Aladdin"}, {"password", "{{V}}"}};
  Ran ran = runWith({{"auth", auth}}, "open sesame");
  ASSERT_EQ(ran.requests.size(), 1u);
  EXPECT_EQ(header(ran.requests[0], "Authorization"), "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");

  ran = runWith({{"auth", auth}}, "open\r\nsesame");
  EXPECT_TRUE(ran.requests.empty());
  EXPECT_EQ(ran.path, (Lines{"SetV", "API", "Failed", "End"}));
}

TEST(ApiRequestRunTest, PhraseHoldsWhileWaiting) {
  Ran ran = runWith({{"phrase", boost::json::array{"please-wait.wav"}}});
  ASSERT_EQ(ran.held.size(), 1u);
  EXPECT_TRUE(ran.held[0]);
  // Held while waiting (and recorded once), not also played at the element's start.
  EXPECT_EQ(ran.call->trace().played, Lines{"please-wait.wav"});

  ran = runWith({});
  ASSERT_EQ(ran.held.size(), 1u);
  EXPECT_FALSE(ran.held[0]);
  EXPECT_TRUE(ran.call->trace().played.empty());
}

TEST(ApiRequestRunTest, NoClientIsAnError) {
  Ran ran = runWith({}, "v", {}, /*with_client=*/false);
  EXPECT_EQ(ran.path, (Lines{"SetV", "API", "Failed", "End"}));
  EXPECT_EQ(ran.call->result(1).error, "no HTTP client is configured");
}

TEST(ApiRequestRunTest, ResultIsResetEachRun) {
  // A second run of the element in one call does not keep the first answer's parts.
  boost::json::value flow = boost::json::parse(flowWith({}));
  auto& elements = flow.at("elements").as_array();
  elements[2].as_object()["next"] = boost::json::object{{"output", "Again"}};
  elements.push_back(boost::json::object{
      {"name", "Again"},
      {"type", "Branch"},
      {"source", "API.StatusCode"},
      {"branches", boost::json::array{boost::json::object{{"value", "200"}, {"next", "API"}}}},
      {"next", {{"noMatch", "End"}}}});
  LoadedFlow loaded = loadFlow(boost::json::serialize(flow), elementTypes());
  ASSERT_TRUE(loaded.flow) << problems(loaded);
  ScriptChannel line(CallerScript{});
  struct Alternating : HttpClient {
    int calls = 0;
    boost::asio::awaitable<HttpResponse> send(HttpRequest) override {
      ++calls;
      if (calls == 1) co_return HttpResponse{200, R"({"tier": "Gold"})"};
      co_return HttpResponse{404, "missing"};
    }
  } http;
  Call call = makeCall(*loaded.flow, "", "");
  call.services().http = &http;
  runCallToEnd(*loaded.flow, call, line);
  EXPECT_EQ(http.calls, 2);
  EXPECT_EQ(call.result(1).status_code, 404);
  EXPECT_EQ(call.result(1).json, nullptr);
  EXPECT_EQ(call.result(1).text, "missing");
  EXPECT_EQ(call.trace().http.size(), 2u);
}

}  // namespace
}  // namespace callflow
