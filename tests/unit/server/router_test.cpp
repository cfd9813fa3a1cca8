// Router: pattern matching, 400/404/405 answers, the prefix fallback, target parsing, and the
// Authorization header parsers.
#include "server/router.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <stdexcept>

#include "unit/support/run_awaitable.h"

namespace callflow {
namespace {

using test_support::runAwaitable;

// Answers "name a=1 b=2": which route ran, with which parameters.
Handler echo(std::string name) {
  return [name](const Request&, const PathParams& params) -> boost::asio::awaitable<Response> {
    std::string body = name;
    for (const auto& [key, value] : params.values) body += " " + std::string(key) + "=" + value;
    co_return Response{.content_type = "text/plain", .body = body};
  };
}

Response dispatch(const Router& router, std::string_view method, std::string_view target) {
  Request request;
  request.method = method;
  Result<void> parsed = parseTarget(target, request);
  EXPECT_TRUE(parsed) << target << ": " << parsed.error().message;
  return runAwaitable(router.dispatch(request));
}

boost::json::value errorOf(const Response& response) {
  EXPECT_EQ(response.content_type, "application/json");
  return boost::json::parse(response.body).at("error");
}

std::string_view headerOf(const Response& response, std::string_view name) {
  for (const auto& [key, value] : response.headers) {
    if (key == name) return value;
  }
  return {};
}

TEST(RouterTest, MatchesLiteralAndParameterSegments) {
  Router router;
  router.add("GET", "/leadservices/api/v2/leads/{id}/fields/{fieldId}", echo("field"));
  router.add("GET", "/leadservices/api/v2/leads/{id}", echo("lead"));
  router.add("GET", "/", echo("root"));
  ASSERT_TRUE(router.status());
  EXPECT_EQ(dispatch(router, "GET", "/leadservices/api/v2/leads/42/fields/phone").body,
            "field id=42 fieldId=phone");
  EXPECT_EQ(dispatch(router, "GET", "/leadservices/api/v2/leads/42").body, "lead id=42");
  EXPECT_EQ(dispatch(router, "GET", "/").body, "root");
  EXPECT_EQ(dispatch(router, "GET", "/leadservices/api/v2/leads/42/").status, 404);
  EXPECT_EQ(dispatch(router, "GET", "/leadservices/api/v2/leads").status, 404);
}

TEST(RouterTest, LiteralSegmentWinsOverParameterWhateverTheOrder) {
  Router router;
  router.add("GET", "/leads/{id}", echo("by-id"));
  router.add("GET", "/leads/search", echo("search"));
  router.add("GET", "/{kind}/count", echo("count"));
  router.add("GET", "/leads/{id}/x", echo("lead-x"));
  router.add("GET", "/{kind}/{id}/x", echo("any-x"));
  EXPECT_EQ(dispatch(router, "GET", "/leads/search").body, "search");
  EXPECT_EQ(dispatch(router, "GET", "/leads/7").body, "by-id id=7");
  EXPECT_EQ(dispatch(router, "GET", "/leads/count").body, "by-id id=count");  // leftmost literal
  EXPECT_EQ(dispatch(router, "GET", "/calls/count").body, "count kind=calls");
  EXPECT_EQ(dispatch(router, "GET", "/leads/7/x").body, "lead-x id=7");
  EXPECT_EQ(dispatch(router, "GET", "/calls/7/x").body, "any-x kind=calls id=7");
}

TEST(RouterTest, ParametersArePercentDecodedAndQueryIsKeptRaw) {
  Router router;
  router.add(
      "GET", "/files/{name}",
      [](const Request& request, const PathParams& params) -> boost::asio::awaitable<Response> {
        co_return Response{.body = std::string(params.get("name")) + "|" + request.path + "|" +
                                   request.query + "|" + std::string(params.get("missing"))};
      });
  EXPECT_EQ(dispatch(router, "GET", "/files/a%20b%C3%A9+c?x=1%202&y").body,
            "a b\xC3\xA9+c|/files/a b\xC3\xA9+c|x=1%202&y|");
}

TEST(RouterTest, NoMatchIsJson404) {
  Router router;
  router.add("GET", "/leads", echo("leads"));
  Response response = dispatch(router, "GET", "/calls");
  EXPECT_EQ(response.status, 404);
  boost::json::value error = errorOf(response);
  EXPECT_EQ(error.at("status"), 404);
  EXPECT_EQ(error.at("message"), "not found: /calls");
}

TEST(RouterTest, WrongMethodIs405WithAllow) {
  Router router;
  router.add("GET", "/leads/{id}", echo("get"));
  router.add("PUT", "/leads/{id}", echo("put"));
  router.add("POST", "/leads/search", echo("search"));
  router.addPrefix("/", echo("static"));
  Response response = dispatch(router, "DELETE", "/leads/7");
  EXPECT_EQ(response.status, 405);
  EXPECT_EQ(headerOf(response, "Allow"), "GET, PUT, HEAD");
  EXPECT_EQ(errorOf(response).at("message"), "method DELETE is not allowed on /leads/7");
  // Every route matching the path counts, literal or not.
  EXPECT_EQ(headerOf(dispatch(router, "DELETE", "/leads/search"), "Allow"), "GET, PUT, POST, HEAD");
  EXPECT_EQ(headerOf(dispatch(router, "GET", "/leads/search"), "Allow"), "");  // GET /leads/{id}
}

TEST(RouterTest, HeadFallsBackToGet) {
  Router router;
  router.add("GET", "/page", echo("get"));
  router.add("HEAD", "/other", echo("head"));
  EXPECT_EQ(dispatch(router, "HEAD", "/page").body, "get");
  EXPECT_EQ(dispatch(router, "HEAD", "/other").body, "head");
  EXPECT_EQ(headerOf(dispatch(router, "GET", "/other"), "Allow"), "HEAD");
}

TEST(RouterTest, PrefixRoutesComeLastAndLongestWins) {
  Router router;
  router.addPrefix("/", echo("static"));
  router.addPrefix("/ui/", echo("ui"));
  router.add("GET", "/api/leads", echo("api"));
  EXPECT_EQ(dispatch(router, "GET", "/api/leads").body, "api");
  EXPECT_EQ(dispatch(router, "POST", "/api/leads").status, 405);  // not the static handler
  EXPECT_EQ(dispatch(router, "GET", "/ui/js/app.js").body, "ui rest=js/app.js");
  EXPECT_EQ(dispatch(router, "GET", "/ui").body, "ui rest=");
  EXPECT_EQ(dispatch(router, "GET", "/uix").body, "static rest=uix");
  EXPECT_EQ(dispatch(router, "GET", "/").body, "static rest=");
  EXPECT_EQ(dispatch(router, "POST", "/index.html").body, "static rest=index.html");
}

TEST(RouterTest, ParseTargetRefusesWhatCouldEscapeOrConfuse) {
  for (std::string_view target :
       {"", "leads", "http://host/leads", "*", "/a/../b", "/a/..", "/..", "/a/./b", "/a/%2e%2E/b",
        "/a/%2E/b", "/a%2Fb", "/a%2fb", "/a%00b", "/a%zzb", "/a%4", "/a%", "/a%%41"}) {
    Request request;
    EXPECT_FALSE(parseTarget(target, request)) << target;
  }
  Request request;
  ASSERT_TRUE(parseTarget("/a/..b/c../.../%2E%2E%2E?x=..", request));
  EXPECT_EQ(request.path, "/a/..b/c../.../...");
  EXPECT_EQ(request.query, "x=..");
  EXPECT_FALSE(parseTarget("/a/%2e%2e", request));
  EXPECT_EQ(request.path, "/a/..b/c../.../...");  // untouched on failure
}

TEST(RouterTest, DispatchRefusesBadPathsBuiltByHand) {
  Router router;
  router.addPrefix("/", echo("static"));
  for (std::string path : {std::string("/a/../etc/passwd"), std::string("/a/.", 4),
                           std::string("/a\0b", 4), std::string("relative"), std::string()}) {
    Request request;
    request.method = "GET";
    request.path = path;
    Response response = runAwaitable(router.dispatch(request));
    EXPECT_EQ(response.status, 400) << path;
    EXPECT_EQ(errorOf(response).at("status"), 400);
  }
}

TEST(RouterTest, HandlerExceptionsPropagate) {
  Router router;
  router.add("GET", "/boom",
             [](const Request&, const PathParams&) -> boost::asio::awaitable<Response> {
               throw std::runtime_error("boom");
               co_return Response{};
             });
  EXPECT_THROW(dispatch(router, "GET", "/boom"), std::runtime_error);
}

TEST(RouterTest, BadRoutesAreReportedByStatus) {
  struct Case {
    std::string_view method;
    std::string_view pattern;
    std::string_view message;
  };
  for (const Case& bad : {
           Case{"GET", "leads",
                "route table: GET \"leads\": needs a method and a pattern starting with '/'"},
           Case{"", "/leads",
                "route table:  \"/leads\": needs a method and a pattern starting with '/'"},
           Case{"GET", "/leads/{}",
                "route table: GET \"/leads/{}\": a parameter must be a whole segment \"{name}\""},
           Case{
               "GET", "/leads/x{id}",
               "route table: GET \"/leads/x{id}\": a parameter must be a whole segment \"{name}\""},
           Case{"GET", "/a/{id}/b/{id}",
                "route table: GET \"/a/{id}/b/{id}\": parameter \"id\" appears twice"},
           Case{"GET", "/leads/{other}", "route table: GET \"/leads/{other}\": registered twice"},
       }) {
    Router router;
    router.add("GET", "/leads/{id}", echo("lead"));
    ASSERT_TRUE(router.status());
    router.add(bad.method, bad.pattern, echo("bad"));
    router.add("GET", "/leads/{id}/{x}/{y}/{x}", echo("second"));  // only the first is reported
    Result<void> status = router.status();
    ASSERT_FALSE(status) << bad.pattern;
    EXPECT_EQ(status.error().message, bad.message);
  }
  Router router;
  router.addPrefix("ui", echo("ui"));
  ASSERT_FALSE(router.status());
  EXPECT_EQ(router.status().error().message, "route table: prefix \"ui\": must start with '/'");
}

TEST(RequestTest, HeaderLookupIgnoresCase) {
  Request request;
  request.headers = {{"Content-Type", "text/plain"}, {"X-Twice", "1"}, {"x-twice", "2"}};
  EXPECT_EQ(request.header("content-type"), "text/plain");
  EXPECT_EQ(request.header("CONTENT-TYPE"), "text/plain");
  EXPECT_EQ(request.header("X-TWICE"), "1");
  EXPECT_EQ(request.header("Authorization"), "");
}

TEST(ResponseTest, ErrorAndJsonBodies) {
  Response error = Response::error(404, "no lead \"7\"");
  EXPECT_EQ(error.status, 404);
  EXPECT_EQ(error.content_type, "application/json");
  EXPECT_EQ(error.body, R"({"error":{"status":404,"message":"no lead \"7\""}})");
  Response ok = Response::json(201, boost::json::value{{"id", 7}});
  EXPECT_EQ(ok.status, 201);
  EXPECT_EQ(ok.body, R"({"id":7})");
}

TEST(AuthHeaderTest, BasicCredentials) {
  using Pair = std::pair<std::string, std::string>;
  EXPECT_EQ(parseBasicAuth("Basic dXNlcjpwYXNz"), (Pair{"user", "pass"}));
  EXPECT_EQ(parseBasicAuth("basic   dXNlcjpwYXNz  "), (Pair{"user", "pass"}));
  EXPECT_EQ(parseBasicAuth("BASIC\tdXNlcjpwYXNz"), (Pair{"user", "pass"}));
  EXPECT_EQ(parseBasicAuth("Basic dXNlcjpwOmFzcw=="), (Pair{"user", "p:ass"}));  // first colon
  EXPECT_EQ(parseBasicAuth("Basic dXNlcjo="), (Pair{"user", ""}));
  EXPECT_EQ(parseBasicAuth("Basic OnB3"), (Pair{"", "pw"}));
}

TEST(AuthHeaderTest, BasicRefusesMalformedValues) {
  for (std::string_view value : {
           "", "Basic", "Basic ", "Basic    ", "Basicx dXNlcjpwYXNz", "Bearer dXNlcjpwYXNz",
           "dXNlcjpwYXNz",
           "Basic dXNlcg==",       // "user": no colon
           "Basic dXNlcjpwYXNz=",  // length not a multiple of 4
           "Basic dXNlcjpwYXN",    // missing padding
           "Basic dXN!cjpwYXNz",   // outside the alphabet
           "Basic dXNl cjpwYXNz",  // space inside
           "Basic ====",           // padding only
           "Basic dX=lcjpw",       // padding in the middle
           "Basic dXNlcjo=dXNl",   // padding before the end
           "Basic dXNlcjpwYXNz====",
           "Basic dXMKZXI6cHc=",    // "us\ner:pw": control character
           "Basic dXNlcl9wYXNz-_",  // URL-safe alphabet
       }) {
    EXPECT_EQ(parseBasicAuth(value), std::nullopt) << value;
  }
}

TEST(AuthHeaderTest, BearerTokens) {
  EXPECT_EQ(parseBearer("Bearer abc.DEF-123_~+/=="), "abc.DEF-123_~+/==");
  EXPECT_EQ(parseBearer("bearer   tok  "), "tok");
  for (std::string_view value :
       {"", "Bearer", "Bearer ", "Bearertok", "Basic tok", "Bearer a b", "Bearer ==", "Bearer a=b",
        "Bearer tok\"", "Bearer t\x01k", "Bearer t,k"}) {
    EXPECT_EQ(parseBearer(value), std::nullopt) << value;
  }
}

TEST(RouterTest, BodyLimitsFollowTheRouteDispatchWouldChoose) {
  Router router;
  router.add("GET", "/files", echo("list"));
  router.add("PUT", "/files/{name}", echo("put"), 16 << 20);
  router.add("PUT", "/files/special", echo("special"));
  EXPECT_EQ(router.bodyLimit("PUT", "/files/a.wav"), std::size_t{16 << 20});
  EXPECT_EQ(router.bodyLimit("PUT", "/files/special"), 0u);  // the literal route wins
  EXPECT_EQ(router.bodyLimit("POST", "/files/a.wav"), 0u);
  EXPECT_EQ(router.bodyLimit("PUT", "/files/a/b"), 0u);
  EXPECT_EQ(router.bodyLimit("PUT", "/files/.."), 0u);
  EXPECT_EQ(router.largestBodyLimit(), std::size_t{16 << 20});
  EXPECT_EQ(Router().largestBodyLimit(), 0u);
}

}  // namespace
}  // namespace callflow
