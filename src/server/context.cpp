#include "server/context.h"

#include <boost/json.hpp>
#include <charconv>
#include <cstdio>

#include "flow/json_text.h"

namespace callflow {

ServerContext::Who authDenial(AuthOutcome outcome, std::string_view scheme) {
  Response response;
  switch (outcome) {
    case AuthOutcome::kMissing:
    case AuthOutcome::kBad:
      response = Response::error(401, outcome == AuthOutcome::kMissing
                                          ? "authentication required"
                                          : "wrong user name, password or token");
      response.headers.emplace_back("WWW-Authenticate",
                                    std::string(scheme) + " realm=\"callflow\"");
      break;
    case AuthOutcome::kThrottled:
      response = Response::error(429, "too many failed sign-ins from this address; wait a minute");
      response.headers.emplace_back("Retry-After", "60");
      break;
    case AuthOutcome::kBusy:
      response = Response::error(503, "too many sign-ins in progress; try again in a moment");
      response.headers.emplace_back("Retry-After", "1");
      break;
    case AuthOutcome::kUnavailable:
    case AuthOutcome::kOk:
      response = Response::error(503, "the user database is unavailable");
      break;
  }
  return response;
}

namespace {

ServerContext::Who allowed(const User& user, std::initializer_list<std::string_view> roles) {
  for (std::string_view role : roles) {
    if (user.role == role) return user;
  }
  return Response::error(403,
                         "user \"" + user.name + "\" (role " + user.role + ") may not do this");
}

MetricLabels label(std::string name, std::string value) {
  MetricLabels labels;
  labels.emplace_back(std::move(name), std::move(value));
  return labels;
}

}  // namespace

ServerContext::Who ServerContext::bearer(const Request& request,
                                         std::initializer_list<std::string_view> roles) {
  AuthResult result = auth.bearer(request.header("Authorization"), request.remote);
  if (result.outcome != AuthOutcome::kOk) return authDenial(result.outcome, "Bearer");
  return allowed(result.user, roles);
}

boost::asio::awaitable<ServerContext::Who> ServerContext::basic(const Request& request,
                                                                std::string_view role) {
  AuthResult result = co_await auth.basic(request.header("Authorization"), request.remote);
  if (result.outcome != AuthOutcome::kOk) co_return authDenial(result.outcome, "Basic");
  co_return allowed(result.user, {role});
}

Result<boost::json::value> parseBody(const Request& request) {
  if (request.body.empty()) return fail(ErrorCode::kInvalidArgument, "the request has no body");
  boost::json::value value;
  JsonError error;
  if (!parseStrictJson(request.body, value, error)) {
    return fail(ErrorCode::kInvalidArgument,
                "the body is not valid JSON: line " + std::to_string(error.line) + ", column " +
                    std::to_string(error.column) + ": " + error.message);
  }
  return value;
}

Response badRequest(std::string_view message) { return Response::error(400, message); }

Response storeFailure(const Error& error) {
  return Response::error(error.code == ErrorCode::kUnavailable ? 503 : 500,
                         "the database failed: " + error.message);
}

Result<std::int64_t> parseId(std::string_view text, std::string_view what) {
  std::int64_t id = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || id < 0) {
    return fail(ErrorCode::kInvalidArgument,
                std::string(what) + " \"" + std::string(text) + "\" is not a number");
  }
  return id;
}

void ServerContext::storeRecord(CallRecord record, bool begin) {
  // Records share commits with their neighbours (group commit): an upsert by UUID, so running
  // one again after a failed shared commit is harmless.
  writer.postBatchable(
      [record = std::move(record), begin, failures = record_write_failures](Database& db) {
        Result<void> written = begin ? db.beginCall(record) : db.finishCall(record);
        if (!written) {
          failures.inc();
          std::fprintf(stderr, "callflow serve: call %s: the record was not written: %s\n",
                       record.uuid.c_str(), written.error().message.c_str());
        }
      });
}

void CallMetrics::record(const Flow& flow, const Call& call) const {
  if (!registry) return;
  const Trace& trace = call.trace();
  registry
      ->counter("callflow_calls_total", "Calls ended, by how they ended",
                label("hung_up_by", hungUpByName(trace.hung_up_by)))
      .inc();
  for (const TraceStep& step : trace.steps) {
    registry
        ->counter("callflow_element_visits_total", "Elements entered by calls, by type",
                  label("type",
                        std::string(flow.nodes[static_cast<std::size_t>(step.element)].type->name)))
        .inc();
  }
  for (const HttpExchange& exchange : trace.http) {
    std::string outcome = exchange.status > 0  ? std::to_string(exchange.status / 100) + "xx"
                          : exchange.timed_out ? "timeout"
                                               : "error";
    registry
        ->counter("callflow_api_requests_total", "ApiRequest exchanges, by outcome",
                  label("outcome", outcome))
        .inc();
    api_seconds.observe(exchange.seconds);
  }
}

}  // namespace callflow
