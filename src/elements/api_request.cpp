// ApiRequest: calls an HTTP API in the middle of a call and leaves the answer for later
// elements: `NAME.Result` (the body as text), `NAME.Result.<path>` (the body parsed as JSON),
// `NAME.StatusCode` (0 when no answer came) and `NAME.Error` (empty on success). The element's
// `phrase` loops to the caller while it waits.
// Exits: output (2xx), timeout (falls back to error when not connected), error (anything else).
//
// Untrusted inputs: every value rendered into the URL, headers and body (caller digits, lead
// data, earlier API results) and the response. Values are encoded for where they land
// (flow/fillpoint.h): percent-encoded in the URL, JSON-escaped in a JSON body, refused in a
// header when they hold CR, LF or NUL. Fillpoints may not appear in the scheme, host or port.
#include "elements/api_request.h"

#include <arpa/inet.h>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>

#include "callflow/channel.h"
#include "callflow/http_client.h"
#include "elements/elements.h"
#include "engine/secrets.h"
#include "flow/settings.h"

namespace callflow {
namespace {

constexpr std::string_view kMethods[] = {"GET", "POST", "PUT", "PATCH", "DELETE"};
constexpr int kDefaultMaxResponseBytes = 1 << 20;

bool isTokenChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

struct Header {
  std::string name;
  Template value;
};

struct Auth {
  Template username;
  Template password;
};

double secondsUntil(std::chrono::steady_clock::time_point deadline) {
  double left = std::chrono::duration<double>(deadline - std::chrono::steady_clock::now()).count();
  return std::max(left, 0.001);
}

class ApiRequest : public Element {
 public:
  struct Config {
    int index = -1;
    std::string method = "GET";
    double timeout = 10;
    Template url;
    std::vector<Header> headers;
    std::optional<Template> body;
    bool json_body = false;
    bool follow_redirects = false;
    int retries = 0;
    int max_response_bytes = kDefaultMaxResponseBytes;
    std::optional<Auth> auth;
    std::vector<std::string> phrase;
    std::string name;
  };

  explicit ApiRequest(Config config) : config_(std::move(config)) {}

  boost::asio::awaitable<Exit> run(Call& call, Channel& line) const override {
    ElementResult& result = call.result(config_.index);
    result = ElementResult{};
    result.ran = true;

    HttpRequest request;
    request.method = config_.method;
    request.timeout_seconds = config_.timeout;
    request.max_response_bytes = static_cast<std::size_t>(config_.max_response_bytes);
    request.follow_redirects = config_.follow_redirects;
    request.url = config_.url.render(call);

    HttpExchange exchange{config_.name, config_.method, request.url};
    int exchange_retries = 0;
    // The header `auth` built, when its user or password holds a secret: the trace shows it as
    // "Basic ***", since redaction cannot find a secret inside base64.
    std::size_t masked_header = std::string::npos;
    Trace& trace = call.trace();
    // The first bytes of a body for a detailed trace, within what its budget has left.
    auto excerpt = [&trace](const std::string& body) {
      std::string kept = body.substr(
          0, std::min({body.size(), HttpExchange::kTraceBodyBytes, trace.detail_budget}));
      trace.detail_budget -= kept.size();
      return kept;
    };
    auto noteRequest = [&] {
      exchange.request_bytes = request.body.size();
      if (!trace.detail) return;
      exchange.request_headers = request.headers;
      if (masked_header < exchange.request_headers.size()) {
        exchange.request_headers[masked_header].second = "Basic ***";
      }
      exchange.request_body = excerpt(request.body);
    };
    auto refuse = [&](std::string why) {
      result.error = why;
      exchange.error = std::move(why);
      noteRequest();
      call.trace().http.push_back(exchange);
      return Exit{ExitKind::kError, -1, {}, "the request was not sent"};
    };

    bool has_content_type = false;
    for (const Header& header : config_.headers) {
      std::string value;
      if (auto rendered = header.value.renderTo(call, value); !rendered) {
        co_return refuse("header \"" + header.name + "\": " + rendered.error().message);
      }
      if (equalsIgnoreCase(header.name, "Content-Type")) has_content_type = true;
      request.headers.emplace_back(header.name, std::move(value));
    }
    if (config_.auth) {
      std::string user, password;
      auto u = config_.auth->username.renderTo(call, user);
      auto p = config_.auth->password.renderTo(call, password);
      if (!u || !p) co_return refuse("auth: the username or password contains CR, LF or NUL");
      if (redact(user, call.secrets()) != user || redact(password, call.secrets()) != password) {
        masked_header = request.headers.size();
      }
      request.headers.emplace_back("Authorization", "Basic " + base64(user + ":" + password));
    }
    if (config_.body) {
      request.body = config_.body->render(call);
      if (config_.json_body && !has_content_type) {
        request.headers.emplace_back("Content-Type", "application/json");
      }
    }

    HttpClient* client = call.services().http;
    if (client == nullptr) co_return refuse("no HTTP client is configured");
    noteRequest();

    auto started = std::chrono::steady_clock::now();
    auto deadline = started + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                  std::chrono::duration<double>(config_.timeout));
    if (!config_.phrase.empty()) {
      line.startHold(config_.phrase);
      for (const std::string& file : config_.phrase) call.trace().played.push_back(file);
    }
    HttpResponse response;
    for (int attempt = 0;; ++attempt) {
      request.timeout_seconds = secondsUntil(deadline);
      // A request that may be retried is sent as a copy. (No `?:` around a temporary in a
      // co_await: GCC 12 destroys such temporaries twice.)
      if (config_.retries > 0) {
        HttpRequest copy = request;
        response = co_await client->send(std::move(copy));
      } else {
        response = co_await client->send(std::move(request));
      }
      bool retryable = response.failure == HttpResponse::Failure::kConnect ||
                       (response.failure == HttpResponse::Failure::kNone &&
                        response.status >= 500 && response.status <= 599);
      if (!retryable || attempt >= config_.retries || line.hungUp()) break;
      // Back off 100 ms, 200 ms, 400 ms…, but only while the element's timeout allows a try.
      auto backoff = std::chrono::milliseconds(100 << std::min(attempt, 5));
      if (std::chrono::steady_clock::now() + backoff + std::chrono::milliseconds(50) >= deadline) {
        break;
      }
      boost::asio::steady_timer pause(co_await boost::asio::this_coro::executor, backoff);
      co_await pause.async_wait(boost::asio::use_awaitable);
      ++exchange_retries;
    }
    if (!config_.phrase.empty()) line.stopHold();
    exchange.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

    result.status_code = response.status;
    result.text = std::move(response.body);
    exchange.content_type = std::move(response.content_type);
    exchange.response_bytes = result.text.size();
    if (trace.detail) exchange.response_body = excerpt(result.text);
    if (!result.text.empty()) {
      boost::system::error_code ec;
      boost::json::parse_options options;
      options.max_depth = 64;
      auto parsed = boost::json::parse(result.text, ec, {}, options);
      if (!ec) result.json = std::make_shared<const boost::json::value>(std::move(parsed));
    }
    exchange.status = response.status;
    Exit exit{ExitKind::kOutput};
    if (response.failure != HttpResponse::Failure::kNone) {
      result.error = response.error.empty() ? "the request failed" : response.error;
      exit.kind = ExitKind::kError;
      if (response.failure == HttpResponse::Failure::kTimeout) {
        // Each try had what was left of the element's timeout; the caller waited all of it.
        char seconds[32];
        std::snprintf(seconds, sizeof seconds, "%g", config_.timeout);
        result.error = std::string("no complete answer within ") + seconds + " s";
        exit.kind = ExitKind::kTimeout;
        exchange.timed_out = true;
      }
    } else if (response.status < 200 || response.status > 299) {
      result.error = "HTTP status " + std::to_string(response.status);
      exit.kind = ExitKind::kError;
    }
    exchange.error = result.error;
    exchange.retries = exchange_retries;
    call.trace().http.push_back(std::move(exchange));
    co_return exit;
  }

 private:
  static bool equalsIgnoreCase(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
      if (std::tolower(static_cast<unsigned char>(a[i])) !=
          std::tolower(static_cast<unsigned char>(b[i]))) {
        return false;
      }
    }
    return true;
  }

  Config config_;
};

// Whether an IPv4 address (host byte order) is in a block that is not the public internet:
// this host (0/8), private (10/8, 172.16/12, 192.168/16), shared (100.64/10), loopback (127/8),
// link-local and cloud metadata (169.254/16).
bool isPrivateIpv4(std::uint32_t address) {
  struct Block {
    std::uint32_t prefix;
    int bits;
  };
  static constexpr Block kBlocks[] = {{0x00000000, 8}, {0x0A000000, 8},  {0x64400000, 10},
                                      {0x7F000000, 8}, {0xA9FE0000, 16}, {0xAC100000, 12},
                                      {0xC0A80000, 16}};
  for (const Block& block : kBlocks) {
    std::uint32_t mask = ~std::uint32_t{0} << (32 - block.bits);
    if ((address & mask) == block.prefix) return true;
  }
  return false;
}

// Whether the literal host of a URL (no DNS) names this machine or a private network: localhost
// (with or without the final dot, and its subdomains), an IPv4 address in any form inet_aton
// reads (127.1, 2130706433, 0x7f000001, 0177.0.0.1), or an IPv6 address in brackets (::, ::1,
// fc00::/7, fe80::/10, fec0::/10, or an IPv4-mapped one of the blocks above).
bool isPrivateHost(std::string_view authority) {
  std::string host;
  if (!authority.empty() && authority.front() == '[') {
    std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return false;
    host = authority.substr(1, close - 1);
    std::size_t zone = host.find('%');  // fe80::1%25lo: the zone is not part of the address
    if (zone != std::string::npos) host.resize(zone);
    in6_addr address{};
    if (inet_pton(AF_INET6, host.c_str(), &address) != 1) return false;
    const unsigned char* b = address.s6_addr;
    static constexpr unsigned char kZero[16] = {};
    bool mapped = std::memcmp(b, kZero, 10) == 0 && b[10] == 0xFF && b[11] == 0xFF;
    if (mapped) {
      return isPrivateIpv4(std::uint32_t{b[12]} << 24 | std::uint32_t{b[13]} << 16 |
                           std::uint32_t{b[14]} << 8 | b[15]);
    }
    bool unspecified_or_loopback = std::memcmp(b, kZero, 15) == 0 && (b[15] == 0 || b[15] == 1);
    bool unique_local = (b[0] & 0xFE) == 0xFC;
    bool link_or_site_local = b[0] == 0xFE && (b[1] & 0x80) == 0x80;  // fe80::/10, fec0::/10
    return unspecified_or_loopback || unique_local || link_or_site_local;
  }
  std::size_t colon = authority.rfind(':');
  host = authority.substr(0, colon);
  for (char& c : host) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (!host.empty() && host.back() == '.') host.pop_back();  // the root: localhost. is localhost
  if (host == "localhost" ||
      (host.size() > 10 && host.compare(host.size() - 10, 10, ".localhost") == 0)) {
    return true;
  }
  in_addr address{};
  if (host.empty() || inet_aton(host.c_str(), &address) == 0) return false;
  return isPrivateIpv4(ntohl(address.s_addr));
}

// Checks what must be literal in a URL: an http or https scheme, a host, no user:password.
// A host that names this machine or a private network is only a warning: such calls are made
// when the outbound policy allows that address.
void checkUrl(Settings& settings, const std::string& source) {
  std::string lower;
  for (char c : source.substr(0, 8)) lower += static_cast<char>(std::tolower(c));
  std::size_t authority_start;
  if (lower.rfind("http://", 0) == 0) {
    authority_start = 7;
  } else if (lower.rfind("https://", 0) == 0) {
    authority_start = 8;
  } else {
    settings.problem("url", "must start with http:// or https://");
    return;
  }
  std::size_t authority_end = source.find_first_of("/?#", authority_start);
  if (authority_end == std::string::npos) authority_end = source.size();
  std::string_view authority =
      std::string_view(source).substr(authority_start, authority_end - authority_start);
  if (source.find("{{") < authority_end) {
    settings.problem("url", "fillpoints are not allowed in the scheme, host or port");
  } else if (authority.empty()) {
    settings.problem("url", "has no host");
  } else if (authority.find('@') != std::string_view::npos) {
    settings.problem("url",
                     "user:password in the URL is not allowed; use \"auth\" or a header "
                     "with a {{secret.NAME}}");
  } else if (authority.find_first_of(" \t\r\n\\") != std::string_view::npos) {
    settings.problem("url", "the host contains a space or a backslash");
  } else if (isPrivateHost(authority)) {
    settings.warning("url",
                     "the host is a loopback/private address: calls reach it only if the "
                     "outbound policy allows it (--allow)");
  }
  // In the literal text only: spaces inside a fillpoint's braces are allowed.
  for (std::size_t i = 0; i < source.size(); ++i) {
    if (source.compare(i, 2, "{{") == 0) {
      std::size_t close = source.find("}}", i + 2);
      if (close == std::string::npos) break;  // the template parser reports it
      i = close + 1;
    } else if (source[i] == ' ' || source[i] == '\r' || source[i] == '\n') {
      settings.problem("url", "contains a space or line break; write it as %20");
      break;
    }
  }
}

}  // namespace

std::vector<std::string> splitHeaders(std::string_view text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    if (text.compare(i, 2, "{{") == 0) {
      std::size_t close = text.find("}}", i + 2);
      i = close == std::string_view::npos ? text.size() : close + 2;
      continue;
    }
    if (text[i] == ',') {
      // A comma separates headers only where a header name and ':' follow it.
      std::size_t j = i + 1;
      while (j < text.size() && (text[j] == ' ' || text[j] == '\t')) ++j;
      std::size_t name_start = j;
      while (j < text.size() && isTokenChar(text[j])) ++j;
      if (j > name_start && j < text.size() && text[j] == ':') {
        out.emplace_back(trim(text.substr(start, i - start)));
        start = i + 1;
      }
    }
    ++i;
  }
  std::string_view last = trim(text.substr(start));
  if (!last.empty() || !out.empty()) out.emplace_back(last);
  return out;
}

std::string base64(std::string_view input) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((input.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < input.size(); i += 3) {
    unsigned n = (static_cast<unsigned char>(input[i]) << 16) |
                 (static_cast<unsigned char>(input[i + 1]) << 8) |
                 static_cast<unsigned char>(input[i + 2]);
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
    out += kAlphabet[n & 63];
  }
  if (i < input.size()) {
    unsigned n = static_cast<unsigned char>(input[i]) << 16;
    if (i + 1 < input.size()) n |= static_cast<unsigned char>(input[i + 1]) << 8;
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += i + 1 < input.size() ? kAlphabet[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

ElementPtr loadApiRequest(Settings& settings) {
  ApiRequest::Config config;
  config.index = settings.elementIndex();
  config.name = settings.elementName();
  config.phrase = settings.phrase();
  bool ok = true;

  if (auto action = settings.string("action")) {
    if (std::find(std::begin(kMethods), std::end(kMethods), *action) == std::end(kMethods)) {
      settings.problem("action", "must be GET, POST, PUT, PATCH or DELETE (in capitals)");
      ok = false;
    } else {
      config.method = *action;
    }
  }
  config.timeout = settings.number("timeout", {0, 120, true}).value_or(10);

  if (auto url = settings.text("url", Encoding::kUrl, true)) {
    checkUrl(settings, url->source());
    config.url = std::move(*url);
  } else {
    ok = false;
  }

  if (const auto* raw = settings.raw("header")) {
    std::vector<std::string> lines;
    if (raw->is_string()) {
      lines = splitHeaders(raw->get_string());
    } else if (auto list = settings.stringList("header")) {
      lines = std::move(*list);
    } else {
      ok = false;
    }
    for (const std::string& line : lines) {
      std::size_t colon = line.find(':');
      std::string_view name = colon == std::string::npos
                                  ? std::string_view()
                                  : trim(std::string_view(line).substr(0, colon));
      bool valid_name = !name.empty() && std::all_of(name.begin(), name.end(), isTokenChar);
      if (!valid_name) {
        settings.problem("header", "\"" + line + "\" is not \"Name: value\" with a valid name");
        ok = false;
        continue;
      }
      std::string_view value = trim(std::string_view(line).substr(colon + 1));
      if (value.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos) {
        settings.problem("header",
                         "the value of \"" + std::string(name) + "\" contains a line break or NUL");
        ok = false;
        continue;
      }
      auto parsed = settings.textFrom("header", value, Encoding::kHeader);
      if (!parsed) {
        ok = false;
        continue;
      }
      config.headers.push_back({std::string(name), std::move(*parsed)});
    }
  }

  if (auto body = settings.string("body"); body && !body->empty()) {
    std::string_view trimmed = *body;
    while (!trimmed.empty() &&
           std::string_view(" \t\r\n").find(trimmed.front()) != std::string_view::npos) {
      trimmed.remove_prefix(1);  // JSON whitespace, in any mix ("\n  {")
    }
    config.json_body = !trimmed.empty() && (trimmed.front() == '{' || trimmed.front() == '[');
    config.body =
        settings.textFrom("body", *body, config.json_body ? Encoding::kJson : Encoding::kText);
    if (!config.body) ok = false;
  }

  config.follow_redirects = settings.boolean("followRedirects").value_or(false);
  config.retries = settings.integer("retries", 0, 5).value_or(0);
  if (config.retries > 0 && config.method != "GET" && config.method != "PUT" &&
      config.method != "DELETE") {
    settings.problem("retries", "only GET, PUT and DELETE may be retried (they are idempotent)");
    ok = false;
  }
  config.max_response_bytes =
      settings.integer("maxResponseBytes", 1, 64 << 20).value_or(kDefaultMaxResponseBytes);

  if (settings.has("auth")) {
    Settings* auth = settings.object("auth");
    if (auth == nullptr) return nullptr;
    auto type = auth->string("type", true);
    if (type && *type != "basic") auth->problem("type", "must be \"basic\"");
    auto username = auth->text("username", Encoding::kHeader, true);
    auto password = auth->text("password", Encoding::kHeader, true);
    if (!type || !username || !password) return nullptr;
    config.auth = Auth{std::move(*username), std::move(*password)};
  }
  if (!ok) return nullptr;
  return std::make_unique<ApiRequest>(std::move(config));
}

}  // namespace callflow
