// The admin API under /api/v1 (Bearer tokens from POST /api/v1/auth/token). Roles:
//   admin       everything
//   supervisor  flows (read, validate, test calls), calls, leads (no delete), DNC
//   agent       flows (read), leads (read), DNC (read, add), transfer targets
// The designer uses this API and nothing else (docs/ADMIN_API.md lists every endpoint).
#include <boost/json.hpp>
#include <boost/url/parse_query.hpp>

#include "callflow/utf8.h"
#include "elements/elements.h"
#include "engine/call_record.h"
#include "engine/runner.h"
#include "engine/script_channel.h"
#include "engine/secrets.h"
#include "engine/trace_json.h"
#include "flow/json_text.h"
#include "flow/problems_json.h"
#include "flow/settings.h"
#include "server/context.h"
#include "store/lead_json.h"
#include "store/record_json.h"
#include "store/sqlite_lead_store.h"

namespace callflow {
namespace {

constexpr std::int64_t kTokenSeconds = 12 * 3600;
constexpr int kMaxListLimit = 1000;

#define CALLFLOW_REQUIRE(who_expression)                                        \
  auto who = who_expression;                                                    \
  if (auto* denied = std::get_if<Response>(&who)) co_return std::move(*denied); \
  const User& user = std::get<User>(who);                                       \
  (void)user

// The percent-decoded value of query parameter `name`, if present ("%20" is a space; "+" stays).
std::optional<std::string> queryParam(const Request& request, std::string_view name) {
  auto params = boost::urls::parse_query(request.query);
  if (!params) return std::nullopt;
  for (auto param : *params) {
    if (param.key == name) return param.value.decode();
  }
  return std::nullopt;
}

// The list endpoints' parameters; a query that is not valid percent-encoding is an error.
Result<int> limitParam(const Request& request, int fallback) {
  if (!boost::urls::parse_query(request.query)) {
    return fail(ErrorCode::kInvalidArgument, "the query string is not valid percent-encoding");
  }
  auto text = queryParam(request, "limit");
  if (!text) return fallback;
  auto limit = parseId(*text, "limit");
  if (!limit || *limit < 1 || *limit > kMaxListLimit) {
    return fail(ErrorCode::kInvalidArgument,
                "limit must be a number from 1 to " + std::to_string(kMaxListLimit));
  }
  return static_cast<int>(*limit);
}

// A version as listed; `liveVersion` (the flow's newest version that is not a draft, 0 if
// none) where the whole flow is described rather than one row of its history.
boost::json::object flowSummary(const FlowVersion& version, bool with_live = true) {
  boost::json::object out{{"name", version.name},
                          {"version", version.version},
                          {"savedBy", version.saved_by},
                          {"savedAt", isoTime(version.saved_ms)},
                          {"draft", version.draft}};
  if (with_live) out["liveVersion"] = version.live_version;
  return out;
}

// The flow document's "name" when it is a string.
std::optional<std::string> documentName(const boost::json::value& document) {
  const boost::json::object* object = document.if_object();
  const boost::json::value* name = object ? object->if_contains("name") : nullptr;
  if (name == nullptr || !name->is_string()) return std::nullopt;
  return std::string(name->get_string());
}

// The 422 of a flow refused for its problems.
Response flowProblems(const Diagnostics& diagnostics) {
  return Response::json(
      422,
      boost::json::object{
          {"error", boost::json::object{{"status", 422},
                                        {"message", "the flow has " +
                                                        std::to_string(diagnostics.errorCount()) +
                                                        " problem(s)"}}},
          {"problems", problemsToJson(diagnostics.problems())}});
}

// --- sign-in -----------------------------------------------------------------------------------

boost::asio::awaitable<Response> signIn(ServerContext& context, const Request& request,
                                        const PathParams&) {
  auto body = parseBody(request);
  if (!body) co_return badRequest(body.error().message);
  const boost::json::object* object = body->if_object();
  const boost::json::value* name = object ? object->if_contains("username") : nullptr;
  const boost::json::value* password = object ? object->if_contains("password") : nullptr;
  if (!name || !password || !name->is_string() || !password->is_string()) {
    co_return badRequest("the body must be {\"username\": text, \"password\": text}");
  }
  AuthResult result = co_await context.auth.password(
      std::string(name->get_string()), std::string(password->get_string()), request.remote);
  if (result.outcome != AuthOutcome::kOk) {
    co_return std::get<Response>(authDenial(result.outcome, "Bearer"));
  }
  Result<std::string> token = std::string();
  co_await context.writer.run(
      [&](Database& db) { token = db.createToken(result.user.id, kTokenSeconds); });
  if (!token) co_return storeFailure(token.error());
  co_return Response::json(
      200, boost::json::object{{"token", *token},
                               {"expiresIn", kTokenSeconds},
                               {"user", boost::json::object{{"name", result.user.name},
                                                            {"role", result.user.role}}}});
}

boost::asio::awaitable<Response> me(ServerContext& context, const Request& request,
                                    const PathParams&) {
  CALLFLOW_REQUIRE(context.bearer(request, {"admin", "supervisor", "agent"}));
  co_return Response::json(200, boost::json::object{{"name", user.name}, {"role", user.role}});
}

// --- flows -------------------------------------------------------------------------------------

boost::asio::awaitable<Response> listFlows(ServerContext& context, const Request& request,
                                           const PathParams&) {
  CALLFLOW_REQUIRE(context.bearer(request, {"admin", "supervisor", "agent"}));
  auto flows = context.reader.listFlows();
  if (!flows) co_return storeFailure(flows.error());
  boost::json::array out;
  for (const FlowVersion& version : *flows) out.push_back(flowSummary(version));
  co_return Response::json(200, boost::json::object{{"flows", std::move(out)}});
}

// GET /api/v1/flows/{name} and /api/v1/flows/{name}/versions/{version}: the saved document.
boost::asio::awaitable<Response> getFlow(ServerContext& context, const Request& request,
                                         const PathParams& params) {
  CALLFLOW_REQUIRE(context.bearer(request, {"admin", "supervisor", "agent"}));
  int version = 0;
  if (std::string_view text = params.get("version"); !text.empty()) {
    auto parsed = parseId(text, "version");
    if (!parsed || *parsed < 1 || *parsed > 1'000'000'000) {
      co_return badRequest("version \"" + std::string(text) + "\" is not a version number");
    }
    version = static_cast<int>(*parsed);
  }
  std::string name(params.get("name"));
  auto found = context.reader.flow(name, version);
  if (!found) co_return storeFailure(found.error());
  if (!*found) {
    co_return Response::error(
        404, version ? "flow \"" + name + "\" has no version " + std::to_string(version)
                     : "no flow \"" + name + "\"");
  }
  boost::json::object out = flowSummary(**found);
  // Parsed as it was checked when saved (nesting up to 64 deep, as a sample response may be).
  boost::json::value document;
  JsonError json_error;
  if (!parseStrictJson((*found)->body, document, json_error)) {
    co_return Response::error(500, "the stored flow is not JSON");
  }
  out["flow"] = std::move(document);
  co_return Response::json(200, out);
}

boost::asio::awaitable<Response> flowVersions(ServerContext& context, const Request& request,
                                              const PathParams& params) {
  CALLFLOW_REQUIRE(context.bearer(request, {"admin", "supervisor", "agent"}));
  std::string name(params.get("name"));
  auto versions = context.reader.flowVersions(name);
  if (!versions) co_return storeFailure(versions.error());
  if (versions->empty()) co_return Response::error(404, "no flow \"" + name + "\"");
  boost::json::array out;
  for (const FlowVersion& version : *versions) out.push_back(flowSummary(version, false));
  co_return Response::json(200, boost::json::object{{"name", name},
                                                    {"liveVersion", versions->front().live_version},
                                                    {"versions", std::move(out)}});
}

// POST /api/v1/validate: the problems `callflow check` would list for the body.
boost::asio::awaitable<Response> validate(ServerContext& context, const Request& request,
                                          const PathParams&) {
  CALLFLOW_REQUIRE(context.bearer(request, {"admin", "supervisor"}));
  LoadedFlow loaded = loadFlow(request.body, elementTypes());
  if (loaded.flow) checkDialTargets(*loaded.flow, &context.transfers, loaded.diagnostics);
  co_return Response::json(
      200, boost::json::object{{"valid", !loaded.diagnostics.hasErrors()},
                               {"problems", problemsToJson(loaded.diagnostics.problems())}});
}

// PUT /api/v1/flows/{name}: checks the document and saves it as the flow's next version, which
// new calls then run. A flow with errors is refused (422) with every problem.
// PUT /api/v1/flows/{name}?draft=true saves it as a draft even with errors (as long as it is a
// JSON object named {name}); a draft is never deployed and changes nothing calls run.
boost::asio::awaitable<Response> putFlow(ServerContext& context, const Request& request,
                                         const PathParams& params) {
  CALLFLOW_REQUIRE(context.bearer(request, {"admin"}));
  std::string name(params.get("name"));
  bool draft = false;
  if (!boost::urls::parse_query(request.query)) {
    co_return badRequest("the query string is not valid percent-encoding");
  }
  if (auto text = queryParam(request, "draft")) {
    if (*text != "true" && *text != "false") co_return badRequest("draft must be true or false");
    draft = *text == "true";
  }
  LoadedFlow loaded = loadFlow(request.body, elementTypes());
  if (draft) {
    // A draft only has to be a JSON object that names this flow; its problems are kept with it.
    boost::json::value document;
    JsonError json_error;
    if (!parseStrictJson(request.body, document, json_error) || !document.is_object()) {
      co_return flowProblems(loaded.diagnostics);
    }
    auto document_name = documentName(document);
    if (document_name != name) {
      co_return badRequest(document_name
                               ? "the flow's \"name\" is \"" + *document_name + "\", the URL's \"" +
                                     name + "\""
                               : "the flow has no \"name\"; the URL's is \"" + name + "\"");
    }
    if (!Settings::isName(name)) {
      co_return badRequest("\"" + name + "\" is not a flow name (letters, digits, '_' and '-')");
    }
  } else {
    if (loaded.diagnostics.hasErrors()) co_return flowProblems(loaded.diagnostics);
    if (loaded.flow->name != name) {
      co_return badRequest("the flow's \"name\" is \"" + loaded.flow->name + "\", the URL's \"" +
                           name + "\"");
    }
    // As `callflow check --secrets` does: a live flow whose secret the server does not have
    // would send an empty credential on every call. Names only, never a value.
    addSecretsFromEnvironment(loaded.flow->secret_names, context.secrets);
    for (const std::string& secret : loaded.flow->secret_names) {
      if (!context.secrets.contains(secret)) {
        loaded.diagnostics.error("", "",
                                 "secret \"" + secret +
                                     "\" is not configured on this server (--secrets "
                                     "FILE or CALLFLOW_SECRET_" +
                                     secret + "); save it as a draft until it is");
      }
    }
    // A fixed Transfer target outside the allowlist would fail on every call (toll-fraud guard).
    checkDialTargets(*loaded.flow, &context.transfers, loaded.diagnostics);
    if (loaded.diagnostics.hasErrors()) co_return flowProblems(loaded.diagnostics);
  }
  Result<int> version = 0;
  co_await context.writer.run(
      [&](Database& db) { version = db.saveFlow(name, request.body, user.name, draft); });
  if (!version) co_return storeFailure(version.error());
  if (!draft) {
    addSecretsFromEnvironment(loaded.flow->secret_names, context.secrets);
    context.flows[name] = DeployedFlow{loaded.flow, *version};
  }
  co_return Response::json(
      200, boost::json::object{{"name", name},
                               {"version", *version},
                               {"draft", draft},
                               {"problems", problemsToJson(loaded.diagnostics.problems())}});
}

boost::asio::awaitable<Response> deleteFlow(ServerContext& context, const Request& request,
                                            const PathParams& params) {
  CALLFLOW_REQUIRE(context.bearer(request, {"admin"}));
  std::string name(params.get("name"));
  Result<bool> deleted = false;
  co_await context.writer.run([&](Database& db) { deleted = db.deleteFlow(name); });
  if (!deleted) co_return storeFailure(deleted.error());
  if (!*deleted) co_return Response::error(404, "no flow \"" + name + "\"");
  context.flows.erase(name);
  co_return Response{204, "", ""};
}

// POST /api/v1/flows/{name}/rename {"to": "NewName"}: the flow and all its versions go under the
// new name (their history kept), and its live version (else its newest draft) is saved again as
// the next version with the new name inside, deployed under that name if it was live.
boost::asio::awaitable<Response> renameFlow(ServerContext& context, const Request& request,
                                            const PathParams& params) {
  CALLFLOW_REQUIRE(context.bearer(request, {"admin"}));
  std::string name(params.get("name"));
  auto body = parseBody(request);
  if (!body) co_return badRequest(body.error().message);
  const boost::json::object* object = body->if_object();
  const boost::json::value* to_value = object ? object->if_contains("to") : nullptr;
  if (!to_value || !to_value->is_string() || object->size() != 1) {
    co_return badRequest("the body must be {\"to\": text}");
  }
  std::string to(to_value->get_string());
  if (!Settings::isName(to)) {
    co_return badRequest("\"" + to +
                         "\" is not a flow name (letters, digits, '_' and '-', at most 64)");
  }
  if (context.routed_flows.contains(name)) {
    co_return Response::error(409, "flow \"" + name +
                                       "\" answers SIP calls (serve --flow or --route): change "
                                       "that first");
  }
  auto deployed = context.flows.find(name);
  int source_version = deployed != context.flows.end() ? deployed->second.version : 0;
  auto source = context.reader.flow(name, source_version);
  if (!source) co_return storeFailure(source.error());
  if (!*source) co_return Response::error(404, "no flow \"" + name + "\"");
  boost::json::value document;
  JsonError json_error;
  if (!parseStrictJson((*source)->body, document, json_error) || !document.is_object()) {
    co_return Response::error(500, "the stored flow is not JSON");
  }
  document.as_object()["name"] = to;
  std::string text = boost::json::serialize(document);
  bool draft = (*source)->draft;
  std::shared_ptr<const Flow> flow;
  if (!draft) {
    LoadedFlow loaded = loadFlow(text, elementTypes());
    if (!loaded.flow || loaded.diagnostics.hasErrors()) {
      co_return Response::error(500, "the live version does not load under its new name");
    }
    flow = loaded.flow;
  }
  Result<bool> renamed = false;
  Result<int> version = 0;
  co_await context.writer.run([&](Database& db) {
    renamed = db.renameFlow(name, to);
    if (!renamed || !*renamed) return;
    version = db.saveFlow(to, text, user.name, draft);
    if (!version) (void)db.renameFlow(to, name);  // put it back rather than half done
  });
  if (!renamed) {
    co_return renamed.error().code == ErrorCode::kFailedPrecondition
        ? Response::error(409, renamed.error().message)
        : storeFailure(renamed.error());
  }
  if (!*renamed) co_return Response::error(404, "no flow \"" + name + "\"");
  if (!version) co_return storeFailure(version.error());
  if (flow) {
    context.flows.erase(name);
    context.flows[to] = DeployedFlow{flow, *version};
  }
  co_return Response::json(
      200, boost::json::object{
               {"name", to}, {"version", *version}, {"draft", draft}, {"renamedFrom", name}});
}

// Runs one test call to its end and stores its record (without waiting for the write).
boost::asio::awaitable<Response> runTestCall(ServerContext& context,
                                             std::shared_ptr<const Flow> flow, int version,
                                             CallerScript script, std::string from,
                                             std::string to) {
  SqliteLeadStore leads(context.writer, "flow " + flow->name);
  Call call = makeCall(*flow, from, to);
  call.setSecrets(&context.secrets);
  call.services().leads = &leads;
  call.services().http = &context.http;
  call.services().transfers = &context.transfers;
  ScriptChannel line(std::move(script));
  // The record exists from the start (status open): a call cut short by a crash is closed as
  // interrupted at the next start rather than lost.
  const CallClock clock = CallClock::now();
  CallRecord opening;
  opening.uuid = newCallUuid();
  opening.started_ms = clock.started_ms;
  opening.status = "open";
  opening.from = toValidUtf8(from);
  opening.to = toValidUtf8(to);
  opening.flow = flow->name;
  opening.flow_version = version;
  std::string uuid = opening.uuid;
  context.storeRecord(opening, true);
  co_await runCall(*flow, call, line);
  context.calls.record(*flow, call);
  boost::json::object trace = traceToJson(*flow, call);
  context.storeRecord(
      completedCallRecord(*flow, call, uuid, clock.started_ms, clock.endedMs(), version), false);
  co_return Response::json(
      200,
      boost::json::object{{"uuid", uuid}, {"flowVersion", version}, {"trace", std::move(trace)}});
}

// POST /api/v1/flows/{name}/calls {"from", "to", "digits": ["12#", ""], "hangupAt"}: one test
// call through the deployed flow with a scripted caller, as `callflow run` does it but with the
// server's database, secrets and HTTP client. Its record is stored like any call's.
boost::asio::awaitable<Response> testCall(ServerContext& context, const Request& request,
                                          const PathParams& params) {
  CALLFLOW_REQUIRE(context.bearer(request, {"admin", "supervisor"}));
  std::string name(params.get("name"));
  auto deployed = context.flows.find(name);
  if (deployed == context.flows.end()) co_return Response::error(404, "no flow \"" + name + "\"");
  std::shared_ptr<const Flow> flow = deployed->second.flow;
  int version = deployed->second.version;
  TestCallOptions options;
  if (!request.body.empty()) {
    auto body = parseBody(request);
    if (!body) co_return badRequest(body.error().message);
    const boost::json::object* object = body->if_object();
    if (!object) co_return badRequest("the body must be an object");
    auto parsed = parseTestCallOptions(*object, *flow);
    if (!parsed) co_return badRequest(parsed.error().message);
    options = std::move(*parsed);
  }
  co_return co_await runTestCall(context, std::move(flow), version, std::move(options.script),
                                 std::move(options.from), std::move(options.to));
}

// --- calls -------------------------------------------------------------------------------------

// The filters of GET /api/v1/calls: phone, flow, resultCode, since, until.
Result<CallFilter> callFilter(const Request& request) {
  CallFilter filter;
  if (auto phone = queryParam(request, "phone")) {
    for (char c : *phone) {
      if (c >= '0' && c <= '9') filter.phone_digits += c;
    }
    if (filter.phone_digits.empty()) {
      return fail(ErrorCode::kInvalidArgument, "phone \"" + *phone + "\" has no digits");
    }
  }
  filter.flow = queryParam(request, "flow");
  filter.result_code = queryParam(request, "resultCode");
  for (auto [key, until] : {std::pair{"since", false}, std::pair{"until", true}}) {
    auto text = queryParam(request, key);
    if (!text) continue;
    auto ms = parseTime(*text, until);
    if (!ms) return fail(ErrorCode::kInvalidArgument, std::string(key) + ": " + ms.error().message);
    (until ? filter.until_ms : filter.since_ms) = *ms;
  }
  return filter;
}

boost::asio::awaitable<Response> listCalls(ServerContext& context, const Request& request,
                                           const PathParams&) {
  CALLFLOW_REQUIRE(context.bearer(request, {"admin", "supervisor"}));
  auto limit = limitParam(request, 100);
  if (!limit) co_return badRequest(limit.error().message);
  auto filter = callFilter(request);
  if (!filter) co_return badRequest(filter.error().message);
  auto records = context.reader.listCalls(*limit, false, *filter);
  if (!records) co_return storeFailure(records.error());
  boost::json::array out;
  for (const CallRecord& record : *records) out.push_back(callRecordToJson(record));
  co_return Response::json(200, boost::json::object{{"calls", std::move(out)}});
}

boost::asio::awaitable<Response> getCall(ServerContext& context, const Request& request,
                                         const PathParams& params) {
  CALLFLOW_REQUIRE(context.bearer(request, {"admin", "supervisor"}));
  auto record = context.reader.callByUuid(params.get("uuid"));
  if (!record) co_return storeFailure(record.error());
  if (!*record)
    co_return Response::error(404, "no call \"" + std::string(params.get("uuid")) + "\"");
  co_return Response::json(200, callRecordToJson(**record, true));
}

// --- leads -------------------------------------------------------------------------------------

boost::asio::awaitable<Response> listLeads(ServerContext& context, const Request& request,
                                           const PathParams&) {
  CALLFLOW_REQUIRE(context.bearer(request, {"admin", "supervisor", "agent"}));
  auto limit = limitParam(request, 100);
  if (!limit) co_return badRequest(limit.error().message);
  Result<std::vector<Lead>> leads = std::vector<Lead>();
  if (auto phone = queryParam(request, "phone")) {
    leads = context.reader.leadsByPhone(*phone, *limit);
  } else if (auto reference = queryParam(request, "reference")) {
    auto found = context.reader.leadByReference(*reference);
    if (!found) co_return storeFailure(found.error());
    if (*found) leads->push_back(std::move(**found));
  } else {
    std::int64_t after = 0;
    if (auto text = queryParam(request, "after")) {
      auto parsed = parseId(*text, "after");
      if (!parsed) co_return badRequest(parsed.error().message);
      after = *parsed;
    }
    leads = context.reader.listLeads(*limit, after);
  }
  if (!leads) co_return storeFailure(leads.error());
  boost::json::array out;
  for (const Lead& lead : *leads) out.push_back(leadToJson(lead));
  co_return Response::json(200, boost::json::object{{"leads", std::move(out)}});
}

boost::asio::awaitable<Response> getLead(ServerContext& context, const Request& request,
                                         const PathParams& params) {
  CALLFLOW_REQUIRE(context.bearer(request, {"admin", "supervisor", "agent"}));
  auto id = parseId(params.get("id"), "lead id");
  if (!id) co_return badRequest(id.error().message);
  auto lead = context.reader.leadById(*id);
  if (!lead) co_return storeFailure(lead.error());
  if (!*lead) co_return Response::error(404, "no lead " + std::to_string(*id));
  co_return Response::json(200, leadToJson(**lead));
}

boost::asio::awaitable<Response> createLead(ServerContext& context, const Request& request,
                                            const PathParams&) {
  CALLFLOW_REQUIRE(context.bearer(request, {"admin", "supervisor"}));
  auto body = parseBody(request);
  if (!body) co_return badRequest(body.error().message);
  auto lead = leadFromJson(*body);
  if (!lead) co_return badRequest(lead.error().message);
  Result<std::int64_t> id = std::int64_t{0};
  co_await context.writer.run([&](Database& db) { id = db.insertLead(*lead); });
  if (!id) co_return storeFailure(id.error());
  lead->id = *id;
  Response response = Response::json(201, leadToJson(*lead));
  response.headers.emplace_back("Location", "/api/v1/leads/" + std::to_string(*id));
  co_return response;
}

boost::asio::awaitable<Response> putLead(ServerContext& context, const Request& request,
                                         const PathParams& params) {
  CALLFLOW_REQUIRE(context.bearer(request, {"admin", "supervisor"}));
  auto id = parseId(params.get("id"), "lead id");
  if (!id) co_return badRequest(id.error().message);
  auto body = parseBody(request);
  if (!body) co_return badRequest(body.error().message);
  auto lead = leadFromJson(*body);
  if (!lead) co_return badRequest(lead.error().message);
  lead->id = *id;
  Result<bool> updated = false;
  co_await context.writer.run([&](Database& db) { updated = db.updateLead(*lead); });
  if (!updated) co_return storeFailure(updated.error());
  if (!*updated) co_return Response::error(404, "no lead " + std::to_string(*id));
  co_return Response::json(200, leadToJson(*lead));
}

boost::asio::awaitable<Response> deleteLead(ServerContext& context, const Request& request,
                                            const PathParams& params) {
  CALLFLOW_REQUIRE(context.bearer(request, {"admin"}));
  auto id = parseId(params.get("id"), "lead id");
  if (!id) co_return badRequest(id.error().message);
  Result<bool> deleted = false;
  co_await context.writer.run([&](Database& db) { deleted = db.deleteLead(*id); });
  if (!deleted) co_return storeFailure(deleted.error());
  if (!*deleted) co_return Response::error(404, "no lead " + std::to_string(*id));
  co_return Response{204, "", ""};
}

// --- DNC ---------------------------------------------------------------------------------------

boost::asio::awaitable<Response> listDnc(ServerContext& context, const Request& request,
                                         const PathParams&) {
  CALLFLOW_REQUIRE(context.bearer(request, {"admin", "supervisor", "agent"}));
  auto limit = limitParam(request, 100);
  if (!limit) co_return badRequest(limit.error().message);
  auto entries = context.reader.listDnc(*limit);
  if (!entries) co_return storeFailure(entries.error());
  boost::json::array out;
  for (const DncEntry& entry : *entries) {
    out.push_back(boost::json::object{{"number", entry.number},
                                      {"key", entry.key},
                                      {"addedAt", isoTime(entry.added_ms)},
                                      {"source", entry.source}});
  }
  co_return Response::json(200, boost::json::object{{"dnc", std::move(out)}});
}

boost::asio::awaitable<Response> addDnc(ServerContext& context, const Request& request,
                                        const PathParams&) {
  CALLFLOW_REQUIRE(context.bearer(request, {"admin", "supervisor", "agent"}));
  auto body = parseBody(request);
  if (!body) co_return badRequest(body.error().message);
  const boost::json::object* object = body->if_object();
  const boost::json::value* number = object ? object->if_contains("number") : nullptr;
  if (!number || !number->is_string() || object->size() != 1) {
    co_return badRequest("the body must be {\"number\": text}");
  }
  std::string text(number->get_string());
  Result<void> added;
  co_await context.writer.run([&](Database& db) { added = db.addDnc(text, "api " + user.name); });
  if (!added) {
    co_return added.error().code == ErrorCode::kInvalidArgument ? badRequest(added.error().message)
                                                                : storeFailure(added.error());
  }
  co_return Response::json(201, boost::json::object{{"number", text}});
}

boost::asio::awaitable<Response> removeDnc(ServerContext& context, const Request& request,
                                           const PathParams& params) {
  CALLFLOW_REQUIRE(context.bearer(request, {"admin", "supervisor"}));
  std::string number(params.get("number"));
  Result<bool> removed = false;
  co_await context.writer.run([&](Database& db) { removed = db.removeDnc(number); });
  if (!removed) co_return storeFailure(removed.error());
  if (!*removed) co_return Response::error(404, "\"" + number + "\" is not on the list");
  co_return Response{204, "", ""};
}

// --- transfer targets --------------------------------------------------------------------------

// The elements of deployed flows a live call may be transferred into by this user: those with
// agentsCanSee for everyone, and those with supervisorCanSee for supervisors and admins.
boost::asio::awaitable<Response> transferTargets(ServerContext& context, const Request& request,
                                                 const PathParams&) {
  CALLFLOW_REQUIRE(context.bearer(request, {"admin", "supervisor", "agent"}));
  bool supervisor = user.role == "supervisor" || user.role == "admin";
  boost::json::array out;
  for (const auto& [name, deployed] : context.flows) {
    for (const Node& node : deployed.flow->nodes) {
      if (!node.agents_can_see && !(supervisor && node.supervisor_can_see)) continue;
      out.push_back(boost::json::object{{"flow", name},
                                        {"version", deployed.version},
                                        {"element", node.name},
                                        {"type", node.type->name},
                                        {"description", node.description}});
    }
  }
  co_return Response::json(200, boost::json::object{{"targets", std::move(out)}});
}

#undef CALLFLOW_REQUIRE

}  // namespace

void addAdminApi(Router& router, ServerContext& context) {
  auto bind = [&context](auto handler) {
    return [&context, handler](const Request& request, const PathParams& params) {
      return handler(context, request, params);
    };
  };
  router.add("POST", "/api/v1/auth/token", bind(signIn));
  router.add("GET", "/api/v1/me", bind(me));
  router.add("GET", "/api/v1/flows", bind(listFlows));
  router.add("GET", "/api/v1/flows/{name}", bind(getFlow));
  router.add("PUT", "/api/v1/flows/{name}", bind(putFlow));
  router.add("DELETE", "/api/v1/flows/{name}", bind(deleteFlow));
  router.add("POST", "/api/v1/flows/{name}/rename", bind(renameFlow));
  router.add("GET", "/api/v1/flows/{name}/versions", bind(flowVersions));
  router.add("GET", "/api/v1/flows/{name}/versions/{version}", bind(getFlow));
  router.add("POST", "/api/v1/flows/{name}/calls", bind(testCall));
  router.add("POST", "/api/v1/validate", bind(validate));
  router.add("GET", "/api/v1/calls", bind(listCalls));
  router.add("GET", "/api/v1/calls/{uuid}", bind(getCall));
  router.add("GET", "/api/v1/leads", bind(listLeads));
  router.add("POST", "/api/v1/leads", bind(createLead));
  router.add("GET", "/api/v1/leads/{id}", bind(getLead));
  router.add("PUT", "/api/v1/leads/{id}", bind(putLead));
  router.add("DELETE", "/api/v1/leads/{id}", bind(deleteLead));
  router.add("GET", "/api/v1/dnc", bind(listDnc));
  router.add("POST", "/api/v1/dnc", bind(addDnc));
  router.add("DELETE", "/api/v1/dnc/{number}", bind(removeDnc));
  router.add("GET", "/api/v1/transfer-targets", bind(transferTargets));
}

}  // namespace callflow
