// The web designer's test endpoints (admin only: an unsaved document may send the server's
// secrets, or ask any address the outbound policy allows and read the answer), for a flow that
// is not saved yet:
//   POST /api/v1/test-request  one ApiRequest element sent as a live call would send it, with
//                              sample values for the data it reads; the request and the answer
//   POST /api/v1/test-call     a call through the document with a scripted caller; its trace
// Both use the server's secrets, HTTP client (its outbound policy) and, for calls, its database;
// neither stores a call record. Everything shown is redacted of secrets (`***`).
//
// Testing one element of a half-built flow: the element is loaded from a reduced document made
// of it and a stub for every other element (same name and type name, so references to their
// results bind and are checked as in the whole flow, but with no settings of their own to get
// wrong), chained so that each stub can run before the element. Only the element's own problems
// remain. It then runs alone on a call whose data is seeded from the sample values: its own
// run(), so the URL, headers and body are rendered and encoded exactly as on a live call.
#include <algorithm>
#include <boost/json.hpp>
#include <charconv>
#include <map>
#include <memory>
#include <variant>
#include <vector>

#include "callflow/http_client.h"
#include "callflow/utf8.h"
#include "elements/elements.h"
#include "engine/runner.h"
#include "engine/script_channel.h"
#include "engine/secrets.h"
#include "engine/trace_json.h"
#include "flow/problems_json.h"
#include "flow/settings.h"
#include "server/context.h"
#include "store/sqlite_lead_store.h"

namespace callflow {
namespace {

namespace json = boost::json;

constexpr std::size_t kMaxValues = 200;
constexpr std::size_t kMaxValueBytes = 4 << 10;
constexpr int kMaxSeedIndex = 1000;             // `X.Result.list[1000]` at most
constexpr std::size_t kMaxSeedNodes = 20000;    // JSON values all sample results make
constexpr std::size_t kMaxShownBody = 1 << 20;  // of the answer's body, in the reply
constexpr std::string_view kTestedType = "ApiRequest (under test)";
constexpr std::string_view kUnknownType = "(unknown type)";

// --- the reduced document ------------------------------------------------------------------------

// Stands in for an element that is not under test; never run.
class Stub : public Element {
 public:
  boost::asio::awaitable<Exit> run(Call&, Channel&) const override { co_return Exit{}; }
};

ElementPtr loadStub(Settings&) { return std::make_unique<Stub>(); }

constexpr ExitKind kStubExits[] = {ExitKind::kOutput};

// Every element type as a stub (its name and result parts, no settings, one exit), plus the
// real ApiRequest under a name no document uses, for the element under test.
std::span<const ElementType> reducedRegistry() {
  static const std::vector<ElementType> registry = [] {
    std::vector<ElementType> rows;
    for (const ElementType& type : elementTypes()) {
      rows.push_back({.name = type.name,
                      .load = loadStub,
                      .exits = kStubExits,
                      .result_fields = type.result_fields,
                      .waits_for_caller = true});
      if (type.name == "ApiRequest") {
        ElementType tested = type;
        tested.name = kTestedType;
        rows.push_back(tested);
      }
    }
    rows.push_back({.name = kUnknownType,
                    .load = loadStub,
                    .exits = kStubExits,
                    .result_fields = kResultText | kResultJson | kStatusCode | kErrorText,
                    .waits_for_caller = true});
    return rows;
  }();
  return registry;
}

bool isKnownType(std::string_view name) {
  for (const ElementType& type : elementTypes()) {
    if (type.name == name) return true;
  }
  return false;
}

// The document that loads `element` (an ApiRequest of `flow`) and stubs of the other elements:
// stubs chained from the start, then the element, then back to the first stub (so a reference
// to any of them, the element's own included, is one to an element that can run before it).
Result<std::string> reducedDocument(const json::object& flow, std::string_view element) {
  const json::value* elements = flow.if_contains("elements");
  if (elements == nullptr || !elements->is_array()) {
    return fail(ErrorCode::kInvalidArgument, "the flow has no \"elements\" list");
  }
  const json::object* tested = nullptr;
  for (const json::value& entry : elements->get_array()) {
    const json::object* object = entry.if_object();
    const json::value* name = object ? object->if_contains("name") : nullptr;
    if (name != nullptr && name->is_string() && name->get_string() == element) {
      tested = object;
      break;
    }
  }
  if (tested == nullptr) {
    return fail(ErrorCode::kInvalidArgument,
                "the flow has no element \"" + std::string(element) + "\"");
  }
  const json::value* type = tested->if_contains("type");
  if (type == nullptr || !type->is_string() || type->get_string() != "ApiRequest") {
    std::string what = type != nullptr && type->is_string() ? "a " + std::string(type->get_string())
                                                            : "an element without a type";
    return fail(ErrorCode::kInvalidArgument,
                "element \"" + std::string(element) + "\" is " + what + ", not an ApiRequest");
  }

  json::array out;
  json::object copy = *tested;
  copy.erase("next");
  copy["type"] = kTestedType;
  out.push_back(std::move(copy));
  std::vector<std::string> stubs;
  for (const json::value& entry : elements->get_array()) {
    const json::object* object = entry.if_object();
    const json::value* name = object ? object->if_contains("name") : nullptr;
    if (name == nullptr || !name->is_string()) continue;
    std::string text(name->get_string());
    // Elements whose name is itself a problem are left out: that is not the tested element's.
    if (text == element || !Settings::isName(text) || text == "call" || text == "dynamic" ||
        text == "secret" || std::find(stubs.begin(), stubs.end(), text) != stubs.end()) {
      continue;
    }
    const json::value* stub_type = object->if_contains("type");
    bool known =
        stub_type != nullptr && stub_type->is_string() && isKnownType(stub_type->get_string());
    out.push_back(json::object{
        {"name", text},
        {"type", known ? json::string(stub_type->get_string()) : json::string(kUnknownType)}});
    stubs.push_back(std::move(text));
  }
  std::string first = stubs.empty() ? std::string(element) : stubs.front();
  for (std::size_t i = 0; i < stubs.size(); ++i) {
    std::string next = i + 1 < stubs.size() ? stubs[i + 1] : std::string(element);
    out[i + 1].get_object()["next"] = json::object{{"output", next}};
  }
  out[0].get_object()["next"] = json::object{{"output", first}};
  json::object document{
      {"format", 1}, {"name", "DesignerTest"}, {"start", first}, {"elements", std::move(out)}};
  return json::serialize(document);
}

// --- sample values -------------------------------------------------------------------------------

// The checks that need no flow: an object of at most 200 texts of at most 4 KiB, each under a
// key that is a data path.
Result<void> checkValues(const json::value& values) {
  const json::object* object = values.if_object();
  if (object == nullptr) {
    return fail(ErrorCode::kInvalidArgument, "\"values\" must be an object of data paths to texts");
  }
  if (object->size() > kMaxValues) {
    return fail(ErrorCode::kInvalidArgument,
                "\"values\" has more than " + std::to_string(kMaxValues) + " entries");
  }
  for (const auto& [key, value] : *object) {
    std::string name(key);
    if (!value.is_string()) {
      return fail(ErrorCode::kInvalidArgument, "value \"" + name + "\": must be a text");
    }
    if (value.get_string().size() > kMaxValueBytes) {
      return fail(ErrorCode::kInvalidArgument, "value \"" + name + "\": longer than 4 KiB");
    }
    if (auto path = parseDataPath(name); !path) {
      return fail(ErrorCode::kInvalidArgument,
                  "value \"" + name + "\": not a data path: " + path.error().message);
    }
  }
  return {};
}

// Sets `text` at `steps` below `root`, making objects and arrays on the way. False when a step
// meets another shape (a value already there, or an object where an array is needed).
// `room` is how many more JSON values the seeding may create (a path of many large indexes
// would otherwise build millions of them); false too when that runs out.
bool setAt(json::value& root, const std::vector<DataPath::Step>& steps, std::string_view text,
           std::size_t& room) {
  json::value* at = &root;
  for (const DataPath::Step& step : steps) {
    if (room == 0) return false;
    --room;
    if (step.index >= 0) {
      if (at->is_null()) at->emplace_array();
      json::array* array = at->if_array();
      if (array == nullptr) return false;
      auto index = static_cast<std::size_t>(step.index);
      if (array->size() <= index) {
        if (index + 1 - array->size() > room) return false;
        room -= index + 1 - array->size();
        array->resize(index + 1);
      }
      at = &(*array)[index];
    } else {
      if (at->is_null()) at->emplace_object();
      json::object* object = at->if_object();
      if (object == nullptr) return false;
      at = &(*object)[step.key];
    }
  }
  if (!at->is_null()) return false;
  *at = json::string(text);
  return true;
}

std::optional<json::value> parseJson(std::string_view text) {
  json::parse_options options;
  options.max_depth = 64;
  boost::system::error_code ec;
  json::value parsed = json::parse(text, ec, {}, options);
  if (ec) return std::nullopt;
  return parsed;
}

// What the sample values say of one other element's result.
struct SeededResult {
  std::optional<std::string> text;  // `X.Result`
  json::value parts;                // `X.Result.<path>`
  std::optional<int> status;        // `X.StatusCode`
  std::optional<std::string> error;
};

// Seeds `call` (sized for `flow`) with the sample values, each bound as the flow's templates
// bind paths. Values for data the flow never reads, and for the tested element's own result
// (which it resets when it runs), are ignored. An error names the key.
Result<void> seedValues(const json::object& values, const Flow& flow, int tested, Call& call) {
  Diagnostics scratch;
  LoadContext binder(scratch, reducedRegistry());
  std::vector<std::string> names;
  std::vector<const ElementType*> types;
  for (const Node& node : flow.nodes) {
    names.push_back(node.name);
    types.push_back(node.type);
  }
  binder.setElements(std::move(names), std::move(types));
  auto slotOf = [](const std::vector<std::string>& slots, std::string_view name) {
    auto it = std::find(slots.begin(), slots.end(), name);
    return it == slots.end() ? -1 : static_cast<int>(it - slots.begin());
  };
  std::map<int, SeededResult> results;
  std::size_t room = kMaxSeedNodes;
  for (const auto& [key, value] : values) {
    std::string name(key);
    auto bad = [&](std::string why) {
      return fail(ErrorCode::kInvalidArgument, "value \"" + name + "\": " + why);
    };
    std::string text(value.get_string());
    auto path = parseDataPath(name);
    if (!path) return bad(path.error().message);
    if (std::string why = binder.bind(*path); !why.empty()) return bad(why);
    switch (path->scope) {
      case DataPath::Scope::kCallVariable:
        call.setVariable(static_cast<CallVariable>(path->slot), std::move(text));
        continue;
      case DataPath::Scope::kIvrData:
        if (int slot = slotOf(flow.ivr_data_names, path->name); slot >= 0) {
          call.setIvrData(slot, std::move(text));
        }
        continue;
      case DataPath::Scope::kDynamic:
        if (int slot = slotOf(flow.dynamic_names, path->name); slot >= 0) {
          call.setDynamic(slot, std::move(text));
        }
        continue;
      case DataPath::Scope::kSecret:
        return bad("secrets come from the server's configuration, not from sample values");
      case DataPath::Scope::kElement:
        break;
    }
    if (path->slot == tested) continue;
    SeededResult& seeded = results[path->slot];
    switch (path->field) {
      case DataPath::Field::kStatusCode: {
        int status = 0;
        auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), status);
        if (text.empty() || ec != std::errc() || end != text.data() + text.size() || status < 0 ||
            status > 999) {
          return bad("a status code is a number from 0 to 999");
        }
        seeded.status = status;
        break;
      }
      case DataPath::Field::kError:
        seeded.error = std::move(text);
        break;
      case DataPath::Field::kResult:
        if (path->steps.empty()) {
          seeded.text = std::move(text);
          break;
        }
        for (const DataPath::Step& step : path->steps) {
          if (step.index > kMaxSeedIndex) {
            return bad("array indexes of sample values go up to " + std::to_string(kMaxSeedIndex));
          }
        }
        if (!setAt(seeded.parts, path->steps, text, room)) {
          return bad(room == 0 ? "the sample values make too large a result (at most " +
                                     std::to_string(kMaxSeedNodes) + " values in all)"
                               : "conflicts with another value for " + path->name + ".Result");
        }
        break;
    }
  }
  for (auto& [element, seeded] : results) {
    ElementResult& result = call.result(element);
    result.ran = true;
    std::optional<json::value> document;
    if (seeded.text) {
      result.text = std::move(*seeded.text);
      document = parseJson(result.text);
    }
    if (!seeded.parts.is_null()) {
      if (!document) {
        document = std::move(seeded.parts);
      } else if (document->is_object() && seeded.parts.is_object()) {
        for (auto& [key, part] : seeded.parts.get_object()) document->get_object()[key] = part;
      } else {
        return fail(ErrorCode::kInvalidArgument,
                    "the values for " + flow.nodes[static_cast<std::size_t>(element)].name +
                        ".Result and its parts do not fit together");
      }
      if (!seeded.text) result.text = json::serialize(*document);
    }
    if (document) result.json = std::make_shared<const json::value>(std::move(*document));
    result.status_code = seeded.status.value_or(0);
    result.error = seeded.error.value_or("");
  }
  return {};
}

// --- running -------------------------------------------------------------------------------------

// The server's HTTP client, keeping the header fields of the last answer (the trace keeps no
// response headers: the Test request panel shows them).
class RecordingHttpClient : public HttpClient {
 public:
  explicit RecordingHttpClient(HttpClient& inner) : inner_(inner) {}

  boost::asio::awaitable<HttpResponse> send(HttpRequest request) override {
    auto sending = inner_.send(std::move(request));
    HttpResponse response = co_await std::move(sending);
    headers = response.headers;
    co_return response;
  }

  std::vector<std::pair<std::string, std::string>> headers;

 private:
  HttpClient& inner_;
};

Response problemsResponse(const Diagnostics& diagnostics, bool errors_only) {
  std::vector<Problem> problems;
  for (const Problem& problem : diagnostics.problems()) {
    if (!errors_only || problem.severity == Problem::Severity::kError) problems.push_back(problem);
  }
  return Response::json(
      422,
      json::object{{"error", json::object{{"status", 422},
                                          {"message", "the flow has " +
                                                          std::to_string(diagnostics.errorCount()) +
                                                          " problem(s)"}}},
                   {"problems", problemsToJson(problems)}});
}

// The body as an object with a "flow" object, or the 400 to answer.
Result<json::object> designerBody(const Request& request) {
  auto body = parseBody(request);
  if (!body) return body.error();
  if (!body->is_object()) return fail(ErrorCode::kInvalidArgument, "the body must be an object");
  const json::value* flow = body->get_object().if_contains("flow");
  if (flow == nullptr || !flow->is_object()) {
    return fail(ErrorCode::kInvalidArgument,
                "\"flow\" must be the flow document (FLOW_FORMAT), as an object");
  }
  return std::move(body->get_object());
}

// What a test runs with, on the heap: a coroutine frame that holds a Call and its company
// outgrows Asio's recycled frame sizes, and GCC 12 then warns (-Wmismatched-new-delete) about
// Asio's own frame allocator.
struct RequestTest {
  LoadedFlow loaded;
  SecretMap secrets;  // the server's, and CALLFLOW_SECRET_* the document names, for this test
  int tested = 0;
  std::unique_ptr<Call> call;
  std::unique_ptr<RecordingHttpClient> http;
  ScriptChannel line{CallerScript{}};
};

struct CallTest {
  std::shared_ptr<const Flow> flow;
  SecretMap secrets;  // the server's, and CALLFLOW_SECRET_* the document names, for this test
  std::unique_ptr<SqliteLeadStore> leads;
  std::unique_ptr<Call> call;
  std::unique_ptr<ScriptChannel> line;
};

// The checks of POST /api/v1/test-request before anything is sent: the test ready to run, or
// the 400 or 422 to answer.
std::variant<std::unique_ptr<RequestTest>, Response> prepareRequestTest(ServerContext& context,
                                                                        const Request& request) {
  auto body = designerBody(request);
  if (!body) return badRequest(body.error().message);
  const json::value* element = nullptr;
  const json::value* values = nullptr;
  for (const auto& [key, value] : *body) {
    if (key == "element") {
      element = &value;
    } else if (key == "values") {
      values = &value;
    } else if (key != "flow") {
      return badRequest("unknown key \"" + std::string(key) + "\" (flow, element, values)");
    }
  }
  if (element == nullptr || !element->is_string()) {
    return badRequest("\"element\" must be the name of an ApiRequest element of the flow");
  }
  if (values != nullptr) {
    if (auto checked = checkValues(*values); !checked) return badRequest(checked.error().message);
  }
  std::string name(element->get_string());
  auto document = reducedDocument(body->at("flow").get_object(), name);
  if (!document) return badRequest(document.error().message);
  auto test = std::make_unique<RequestTest>();
  test->loaded = loadFlow(*document, reducedRegistry());
  if (!test->loaded.flow) return problemsResponse(test->loaded.diagnostics, true);
  const Flow& flow = *test->loaded.flow;
  test->tested = flow.find(name).value_or(0);
  test->call = std::make_unique<Call>(flow.nodes.size(), flow.ivr_data_names.size(),
                                      flow.dynamic_names.size());
  if (values != nullptr) {
    if (auto seeded = seedValues(values->get_object(), flow, test->tested, *test->call); !seeded) {
      return badRequest(seeded.error().message);
    }
  }
  test->secrets = context.secrets;
  addSecretsFromEnvironment(flow.secret_names, test->secrets);
  test->call->setSecrets(&test->secrets);
  test->call->trace().detail = true;
  test->http = std::make_unique<RecordingHttpClient>(context.http);
  test->call->services().http = test->http.get();
  return test;
}

// The answer of POST /api/v1/test-request once the element has run.
Response describeRequestTest(const RequestTest& test, Exit exit) {
  const Call& call = *test.call;
  if (call.trace().http.empty()) return Response::error(500, "the element sent nothing");
  const SecretMap* secrets = call.secrets();
  auto clean = [&](std::string_view s) { return json::string(toValidUtf8(redact(s, secrets))); };
  const HttpExchange& exchange = call.trace().http.back();
  const ElementResult& result = call.result(test.tested);
  json::array request_headers, response_headers;
  for (const auto& [header, value] : exchange.request_headers) {
    request_headers.push_back(json::array{clean(header), clean(value)});
  }
  for (const auto& [header, value] : test.http->headers) {
    response_headers.push_back(json::array{clean(header), clean(value)});
  }
  bool request_cut = exchange.request_bytes > exchange.request_body.size();
  bool response_cut = result.text.size() > kMaxShownBody;
  std::string shown = toValidUtf8(
      response_cut ? redactExcerpt(std::string_view(result.text).substr(0, kMaxShownBody), secrets)
                   : redact(result.text, secrets));
  json::value parsed;  // the body as JSON, as the flow's `GETAPI.Result.<path>` sees it
  if (result.json && !response_cut) parsed = parseJson(shown).value_or(nullptr);
  json::object out{
      {"request", json::object{{"method", exchange.method},
                               {"url", clean(exchange.url)},
                               {"headers", std::move(request_headers)},
                               {"body", request_cut ? json::string(toValidUtf8(redactExcerpt(
                                                          exchange.request_body, secrets)))
                                                    : clean(exchange.request_body)}}},
      {"response", json::object{{"status", result.status_code},
                                {"headers", std::move(response_headers)},
                                {"contentType", clean(exchange.content_type)},
                                {"body", std::move(shown)},
                                {"truncated", response_cut},
                                {"json", std::move(parsed)}}},
      {"timeMs", static_cast<std::int64_t>(exchange.seconds * 1000 + 0.5)},
      {"exit", exit.kind == ExitKind::kOutput || exit.kind == ExitKind::kTimeout
                   ? exitName(exit.kind)
                   : "error"},
      {"error", clean(result.error)}};
  return Response::json(200, out);
}

// POST /api/v1/test-request {"flow": {…}, "element": "GETAPI", "values": {"call.phonenum": …}}
boost::asio::awaitable<Response> testRequest(ServerContext& context, const Request& request,
                                             const PathParams&) {
  auto who = context.bearer(request, {"admin"});
  if (auto* denied = std::get_if<Response>(&who)) co_return std::move(*denied);
  auto prepared = prepareRequestTest(context, request);
  if (auto* refused = std::get_if<Response>(&prepared)) co_return std::move(*refused);
  std::unique_ptr<RequestTest> test = std::move(std::get<std::unique_ptr<RequestTest>>(prepared));
  const Node& node = test->loaded.flow->nodes[static_cast<std::size_t>(test->tested)];
  Exit exit{ExitKind::kError};
  try {
    auto running = node.element->run(*test->call, test->line);
    exit = co_await std::move(running);
  } catch (const std::exception& e) {
    co_return Response::error(500, std::string("the element failed: ") + e.what());
  }
  co_return describeRequestTest(*test, exit);
}

// The checks of POST /api/v1/test-call: the call ready to run, or the 400 or 422 to answer.
std::variant<std::unique_ptr<CallTest>, Response> prepareCallTest(ServerContext& context,
                                                                  const Request& request) {
  auto body = designerBody(request);
  if (!body) return badRequest(body.error().message);
  LoadedFlow loaded = loadFlow(json::serialize(body->at("flow")), elementTypes());
  if (!loaded.flow) return problemsResponse(loaded.diagnostics, false);
  auto options = parseTestCallOptions(*body, *loaded.flow, "flow");
  if (!options) return badRequest(options.error().message);
  auto test = std::make_unique<CallTest>();
  test->flow = loaded.flow;
  test->leads = std::make_unique<SqliteLeadStore>(context.writer,
                                                  "designer test of flow " + test->flow->name);
  test->call = std::make_unique<Call>(
      makeCall(*test->flow, std::move(options->from), std::move(options->to)));
  test->secrets = context.secrets;
  addSecretsFromEnvironment(test->flow->secret_names, test->secrets);
  test->call->setSecrets(&test->secrets);
  test->call->trace().detail = true;
  test->call->services().leads = test->leads.get();
  test->call->services().http = &context.http;
  test->call->services().transfers = &context.transfers;
  test->line = std::make_unique<ScriptChannel>(std::move(options->script));
  return test;
}

// POST /api/v1/test-call {"flow": {…}, "from", "to", "digits", "hangupAt", "failTransfers"}:
// a call through the unsaved document, as POST /flows/{name}/calls makes one through a saved
// flow, but with no call record (and no call counted in the metrics).
boost::asio::awaitable<Response> testCall(ServerContext& context, const Request& request,
                                          const PathParams&) {
  auto who = context.bearer(request, {"admin"});
  if (auto* denied = std::get_if<Response>(&who)) co_return std::move(*denied);
  auto prepared = prepareCallTest(context, request);
  if (auto* refused = std::get_if<Response>(&prepared)) co_return std::move(*refused);
  std::unique_ptr<CallTest> test = std::move(std::get<std::unique_ptr<CallTest>>(prepared));
  auto running = runCall(*test->flow, *test->call, *test->line);
  co_await std::move(running);
  co_return Response::json(
      200, json::object{{"flowVersion", 0}, {"trace", traceToJson(*test->flow, *test->call)}});
}

}  // namespace

Result<TestCallOptions> parseTestCallOptions(const boost::json::object& body, const Flow& flow,
                                             std::string_view own_key) {
  TestCallOptions options;
  for (const auto& [key, value] : body) {
    if (!own_key.empty() && key == own_key) continue;
    if ((key == "from" || key == "to" || key == "hangupAt") && value.is_string()) {
      std::string text(value.get_string());
      if (key == "from") options.from = std::move(text);
      if (key == "to") options.to = std::move(text);
      if (key == "hangupAt") {
        if (!flow.find(text)) {
          return fail(ErrorCode::kInvalidArgument, "the flow has no element \"" + text + "\"");
        }
        options.script.hangup_at = std::move(text);
      }
    } else if (key == "digits" && value.is_array()) {
      for (const auto& entry : value.get_array()) {
        if (!entry.is_string() || !isDtmf(entry.get_string())) {
          return fail(ErrorCode::kInvalidArgument,
                      "\"digits\" must be a list of texts of 0-9, *, #, A-D");
        }
        options.script.digits.emplace_back(entry.get_string());
      }
    } else if (key == "failTransfers" && value.is_bool()) {
      options.script.fail_transfers = value.get_bool();
    } else {
      return fail(ErrorCode::kInvalidArgument,
                  "unknown or mistyped key \"" + std::string(key) +
                      "\" (from, to, digits, hangupAt, failTransfers" +
                      (own_key.empty() ? "" : ", " + std::string(own_key)) + ")");
    }
  }
  return options;
}

void addDesignerApi(Router& router, ServerContext& context) {
  auto bind = [&context](auto handler) {
    return [&context, handler](const Request& request, const PathParams& params) {
      return handler(context, request, params);
    };
  };
  router.add("POST", "/api/v1/test-request", bind(testRequest));
  router.add("POST", "/api/v1/test-call", bind(testCall));
}

}  // namespace callflow
