// Fuzz target 7: the admin API's request parsing and lead validation.
// - An input starting with '{' is a lead body: strict JSON (parseBody's parser), then
//   leadFromJson and leadFromWebApiJson.
// - Anything else is bytes arriving on a connection of `callflow serve`: Beast's request parser
//   with HttpServer's limits (header 16 KiB, body 1 MiB, or a route's own, here 16 MiB for a
//   prompt upload), pipelined requests one after the other as HttpServer::Impl::session reads
//   them, each complete one through what respond() does: toRequest (the method, parseTarget,
//   the Host header, the headers copied), then Router::dispatch on a route table shaped like
//   the admin API's; a body goes through the lead validation above.
// Invariants: a parsed target's path starts with '/' and holds no NUL, "." or ".." segment; a
// body read is within its route's limit; an accepted lead has only valid UTF-8 text of at most
// 4096 bytes without NUL, and reads back the same from both of its JSON shapes.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/json/value.hpp>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <string>
#include <string_view>

#include "callflow/utf8.h"
#include "flow/json_text.h"
#include "fuzz_check.h"
#include "server/http_request.h"
#include "server/router.h"
#include "store/lead_json.h"

namespace {

using namespace callflow;
namespace asio = boost::asio;
namespace http = boost::beast::http;

constexpr std::size_t kHeaderLimit = 16 * 1024;  // HttpServerOptions' defaults
constexpr std::size_t kBodyLimit = 1 << 20;
constexpr std::size_t kUploadLimit = 16 << 20;  // kMaxPromptUploadBytes

asio::awaitable<Response> echo(const Request& request, const PathParams& params) {
  Response response;
  response.body = request.path;
  for (const auto& [name, value] : params.values) response.body += std::string(name) + value;
  co_return response;
}

const Router& routes() {
  static const Router router = [] {
    Router r;
    for (const char* pattern :
         {"/api/v1/flows/{name}", "/api/v1/flows/{name}/versions/{version}", "/api/v1/leads/{id}",
          "/api/v1/dnc/{number}", "/api/v1/calls/{uuid}", "/leads/{id}/fields/{fieldId}"}) {
      r.add("GET", pattern, echo);
      r.add("PUT", pattern, echo);
    }
    r.add("POST", "/api/v1/leads", echo);
    r.add("PUT", "/api/v1/prompts/{name}", echo, kUploadLimit);
    r.addPrefix("/ui", echo);
    FUZZ_CHECK(r.status());
    return r;
  }();
  return router;
}

void checkText(const std::string& text) {
  FUZZ_CHECK(text.size() <= 4096 && isValidUtf8(text) && text.find('\0') == std::string::npos);
}

bool sameLead(const Lead& a, const Lead& b) { return a.fields == b.fields && a.custom == b.custom; }

void validateLead(std::string_view body) {
  boost::json::value value;
  JsonError error;
  if (!parseStrictJson(body, value, error)) return;
  for (bool web_api : {false, true}) {
    auto lead = web_api ? leadFromWebApiJson(value) : leadFromJson(value);
    if (!lead) continue;
    for (const std::string& text : lead->fields) checkText(text);
    for (const auto& [id, text] : lead->custom) checkText(text);
    auto again = leadFromJson(leadToJson(*lead));
    FUZZ_CHECK(again && sameLead(*again, *lead));
    auto again_web = leadFromWebApiJson(leadToWebApiJson(*lead));
    FUZZ_CHECK(again_web && sameLead(*again_web, *lead));
  }
}

// What HttpServer::Impl::respond does with a complete request: toRequest, then the router.
void respond(http::request<http::string_body>& message) {
  Request request;
  if (toRequest(message, request)) return;  // 400 or 501
  FUZZ_CHECK(!request.path.empty() && request.path.front() == '/');
  FUZZ_CHECK(request.path.find('\0') == std::string::npos);
  FUZZ_CHECK(request.path.find("/./") == std::string::npos &&
             request.path.find("/../") == std::string::npos);
  FUZZ_CHECK(!request.path.ends_with("/.") && !request.path.ends_with("/.."));
  (void)request.header("Authorization");

  asio::io_context loop;
  asio::co_spawn(loop, routes().dispatch(request), [](std::exception_ptr, Response) {});
  loop.run();
  if (!request.body.empty()) validateLead(request.body);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  if (!input.empty() && input.front() == '{') {
    validateLead(input);
    return 0;
  }
  const std::size_t largest = std::max(kBodyLimit, routes().largestBodyLimit());
  for (int pipelined = 0; pipelined < 8 && !input.empty(); ++pipelined) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(kHeaderLimit));
    parser.body_limit(largest);
    parser.eager(false);
    boost::beast::error_code ec;
    auto feed = [&] {
      while (!ec && !input.empty() && !parser.is_done()) {  // put() on a done parser asserts
        std::size_t used = parser.put(asio::buffer(input.data(), input.size()), ec);
        input.remove_prefix(used);
        if (ec == http::error::need_more) {
          ec = {};
          if (used == 0) break;
        }
        if (parser.is_header_done() && !parser.is_done() && used == 0) break;
        if (parser.is_done()) break;
      }
    };
    feed();  // the header (and what of the body comes with it)
    if (ec || !parser.is_header_done()) return 0;
    std::size_t body_limit = kBodyLimit;
    Request target;
    if (parseTarget(parser.get().target(), target)) {
      std::size_t own = routes().bodyLimit(parser.get().method_string(), target.path);
      if (own != 0) body_limit = own;
    }
    if (parser.content_length() && *parser.content_length() > body_limit) return 0;  // 413
    parser.body_limit(body_limit);
    parser.eager(true);
    feed();
    if (!parser.is_done()) parser.put_eof(ec);
    if (ec || !parser.is_done()) return 0;
    FUZZ_CHECK(parser.get().body().size() <= body_limit);
    respond(parser.get());
    if (!parser.get().keep_alive()) break;
  }
  return 0;
}
