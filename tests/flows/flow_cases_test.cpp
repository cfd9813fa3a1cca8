// The data-driven flow cases: every `tests/flows/<topic>/<case>.json` is one test. A case is a
// flow (inline, a file of the repository, or raw text), a scripted caller, optional secrets,
// seeded leads and scripted HTTP answers, and what must come of it: the trace of the call (a
// subset of the `callflow run --json` document), or, for a flow that must be refused, the
// problems the loader reports. Adding a case is adding a file; this driver knows no case.
//
// Case file keys (unknown keys are refused, so a typo cannot silently skip a check):
//   description        what the case shows
//   flow | flowFile | flowText
//                      the flow document; a path relative to the repository root; raw text
//   caller             {"from", "to", "digits": ["1", "123#"], "hangupAt", "failTransfers"}
//   secrets            {"NAME": "value"}
//   leads              [{"referenceid": "R1", "name": "Ada", "phonenum": "...", "field:158":
//   "..."}] leadStore          false: the call runs without a lead store httpResponses [{"status":
//   200, "body": {…} or "text", "failure": "timeout", "error"}],
//                      answered in order; absent: the call runs without an HTTP client
//   expect             a subset of the trace (objects: listed keys; arrays: same length,
//                      element-wise; scalars: equal)
//   expectNotContains  texts that must not appear in the trace (JSON or text form)
//   expectRequests     a subset of the HTTP requests sent: [{"method", "url", "headers":
//                      ["Name: value"], "body", "timeout"}] (seconds left, to 10 ms)
//   expectStore        a subset of the lead store afterwards: {"leads": [{…}], "dnc": ["…"]}
//   errors             the flow must be refused: one substring per error, each found in a
//                      different error's text, and exactly that many errors
//   warnings           substrings each found in some warning
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "callflow/http_client.h"
#include "elements/elements.h"
#include "engine/script_channel.h"
#include "engine/simulator.h"
#include "engine/trace_json.h"
#include "flow/flow.h"
#include "flow/json_text.h"
#include "store/memory_lead_store.h"

namespace callflow {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

fs::path casesDir() { return fs::path(CALLFLOW_CASES_DIR); }

// The repository root, for `flowFile`.
fs::path sourceDir() {
  if (const char* dir = std::getenv("CALLFLOW_SOURCE_DIR"); dir != nullptr && *dir != '\0') {
    return fs::path(dir);
  }
  return casesDir().parent_path().parent_path();
}

// Every case, as its path relative to the cases folder, sorted.
std::vector<std::string> findCases() {
  std::vector<std::string> cases;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(casesDir(), ec), end; !ec && it != end;
       it.increment(ec)) {
    if (it->is_regular_file() && it->path().extension() == ".json") {
      cases.push_back(it->path().lexically_relative(casesDir()).generic_string());
    }
  }
  std::sort(cases.begin(), cases.end());
  return cases;
}

std::string caseName(const testing::TestParamInfo<std::string>& info) {
  std::string name = info.param.substr(0, info.param.size() - std::string(".json").size());
  for (char& c : name) {
    if (std::isalnum(static_cast<unsigned char>(c)) == 0) c = '_';
  }
  return name;
}

// --- Printing and matching JSON ------------------------------------------------------------

void appendPretty(const json::value& value, int indent, std::string& out) {
  auto newline = [&](int level) {
    out += '\n' + std::string(static_cast<std::size_t>(level), ' ');
  };
  if (const json::object* object = value.if_object(); object != nullptr && !object->empty()) {
    out += '{';
    bool first = true;
    for (const auto& [key, item] : *object) {
      out += first ? "" : ",";
      first = false;
      newline(indent + 2);
      out += json::serialize(json::value(key)) + ": ";
      appendPretty(item, indent + 2, out);
    }
    newline(indent);
    out += '}';
    return;
  }
  if (const json::array* array = value.if_array(); array != nullptr && !array->empty()) {
    bool scalars = std::all_of(array->begin(), array->end(), [](const json::value& item) {
      return !item.is_object() && !item.is_array();
    });
    if (scalars) {
      out += json::serialize(value);
      return;
    }
    out += '[';
    for (std::size_t i = 0; i < array->size(); ++i) {
      out += i == 0 ? "" : ",";
      newline(indent + 2);
      appendPretty((*array)[i], indent + 2, out);
    }
    newline(indent);
    out += ']';
    return;
  }
  out += json::serialize(value);
}

std::string pretty(const json::value& value) {
  std::string out;
  appendPretty(value, 0, out);
  return out;
}

std::string memberPath(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}

// Whether `actual` holds `expected`: objects by the keys `expected` lists, arrays of the same
// length element by element, scalars equal (numbers by value). On a mismatch, `why` names the
// path within the document and both fragments.
bool matchSubset(const json::value& expected, const json::value& actual, const std::string& path,
                 std::string& why) {
  auto mismatch = [&](const std::string& at, const std::string& what) {
    why = "at " + (at.empty() ? std::string("(the top)") : at) + ": " + what;
    return false;
  };
  auto both = [&](const json::value& want) {
    return "expected " + json::serialize(want) + ", got " + json::serialize(actual);
  };
  if (const json::object* want = expected.if_object()) {
    const json::object* have = actual.if_object();
    if (have == nullptr) return mismatch(path, both(expected));
    for (const auto& [key, item] : *want) {
      std::string at = memberPath(path, key);
      auto found = have->find(key);
      if (found == have->end()) {
        return mismatch(at, "expected " + json::serialize(item) + ", but there is no such key");
      }
      if (!matchSubset(item, found->value(), at, why)) return false;
    }
    return true;
  }
  if (const json::array* want = expected.if_array()) {
    const json::array* have = actual.if_array();
    if (have == nullptr) return mismatch(path, both(expected));
    if (want->size() != have->size()) {
      return mismatch(path, "expected " + std::to_string(want->size()) + " items, got " +
                                std::to_string(have->size()) + ": expected " +
                                json::serialize(expected) + ", got " + json::serialize(actual));
    }
    for (std::size_t i = 0; i < want->size(); ++i) {
      if (!matchSubset((*want)[i], (*have)[i], path + "[" + std::to_string(i) + "]", why)) {
        return false;
      }
    }
    return true;
  }
  bool equal = expected.is_number() && actual.is_number()
                   ? expected.to_number<double>() == actual.to_number<double>()
                   : expected == actual;
  return equal || mismatch(path, both(expected));
}

// --- Reading a case file -------------------------------------------------------------------

// A problem in the case file itself (not in the code under test).
testing::AssertionResult badCase(const std::string& key, const std::string& message) {
  return testing::AssertionFailure() << "case file: key \"" << key << "\": " << message;
}

testing::AssertionResult onlyKeys(const json::object& object, const std::string& where,
                                  std::initializer_list<std::string_view> known) {
  for (const auto& [key, value] : object) {
    if (std::find(known.begin(), known.end(), std::string_view(key)) == known.end()) {
      return badCase(memberPath(where, key), "unknown key");
    }
  }
  return testing::AssertionSuccess();
}

testing::AssertionResult readString(const json::value& value, const std::string& key,
                                    std::string& out) {
  if (!value.is_string()) return badCase(key, "must be a string");
  out = std::string(value.get_string());
  return testing::AssertionSuccess();
}

testing::AssertionResult readStrings(const json::value& value, const std::string& key,
                                     std::vector<std::string>& out) {
  if (!value.is_array()) return badCase(key, "must be a list of strings");
  for (const json::value& item : value.get_array()) {
    if (!item.is_string()) return badCase(key, "must be a list of strings");
    out.emplace_back(item.get_string());
  }
  return testing::AssertionSuccess();
}

testing::AssertionResult readCaller(const json::value& value, Simulation& simulation) {
  if (!value.is_object()) return badCase("caller", "must be an object");
  const json::object& caller = value.get_object();
  if (auto ok = onlyKeys(caller, "caller", {"from", "to", "digits", "hangupAt", "failTransfers"});
      !ok) {
    return ok;
  }
  for (const auto& [key, item] : caller) {
    std::string name = memberPath("caller", key);
    testing::AssertionResult ok = testing::AssertionSuccess();
    if (key == "from") ok = readString(item, name, simulation.from);
    if (key == "to") ok = readString(item, name, simulation.to);
    if (key == "hangupAt") ok = readString(item, name, simulation.caller.hangup_at);
    if (key == "digits") {
      ok = readStrings(item, name, simulation.caller.digits);
      for (const std::string& entry : simulation.caller.digits) {
        if (!isDtmf(entry)) return badCase(name, "\"" + entry + "\" is not 0-9, *, #, A-D");
      }
    }
    if (key == "failTransfers") {
      if (!item.is_bool()) return badCase(name, "must be true or false");
      simulation.caller.fail_transfers = item.get_bool();
    }
    if (!ok) return ok;
  }
  return testing::AssertionSuccess();
}

testing::AssertionResult readLeads(const json::value& value, MemoryLeadStore& store) {
  if (!value.is_array()) return badCase("leads", "must be a list of objects");
  for (std::size_t i = 0; i < value.get_array().size(); ++i) {
    const json::value& item = value.get_array()[i];
    std::string where = "leads[" + std::to_string(i) + "]";
    if (!item.is_object()) return badCase(where, "must be an object");
    Lead lead;
    for (const auto& [key, field] : item.get_object()) {
      std::string name = memberPath(where, key);
      std::string text;
      if (auto ok = readString(field, name, text); !ok) return ok;
      std::string_view k(key);
      if (auto standard = leadFieldFromName(k)) {
        lead.field(*standard) = std::move(text);
        continue;
      }
      int custom = 0;
      std::string_view digits = k.substr(std::min<std::size_t>(k.size(), 6));
      auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), custom);
      if (k.substr(0, 6) != "field:" || ec != std::errc() || end != digits.data() + digits.size() ||
          custom <= 0) {
        return badCase(name, "not a lead field (referenceid, name, …, or field:ID)");
      }
      lead.custom[custom] = std::move(text);
    }
    store.add(std::move(lead));
  }
  return testing::AssertionSuccess();
}

class ScriptedHttpClient : public HttpClient {
 public:
  boost::asio::awaitable<HttpResponse> send(HttpRequest request) override {
    requests_.push_back(std::move(request));
    if (next_ < responses_.size()) co_return responses_[next_++];
    HttpResponse none;
    none.failure = HttpResponse::Failure::kConnect;
    none.error = "the case scripts no further HTTP response";
    co_return none;
  }

  std::vector<HttpResponse>& responses() { return responses_; }

  json::array requestsJson() const {
    json::array out;
    for (const HttpRequest& request : requests_) {
      json::array headers;
      for (const auto& [name, value] : request.headers) headers.emplace_back(name + ": " + value);
      out.push_back(json::object{{"method", request.method},
                                 {"url", request.url},
                                 {"headers", std::move(headers)},
                                 {"body", request.body},
                                 {"timeout", std::round(request.timeout_seconds * 100) / 100}});
    }
    return out;
  }

 private:
  std::vector<HttpResponse> responses_;
  std::size_t next_ = 0;
  std::vector<HttpRequest> requests_;
};

testing::AssertionResult readHttpResponses(const json::value& value, ScriptedHttpClient& http) {
  if (!value.is_array()) return badCase("httpResponses", "must be a list of objects");
  for (std::size_t i = 0; i < value.get_array().size(); ++i) {
    const json::value& item = value.get_array()[i];
    std::string where = "httpResponses[" + std::to_string(i) + "]";
    if (!item.is_object()) return badCase(where, "must be an object");
    const json::object& object = item.get_object();
    if (auto ok = onlyKeys(object, where, {"status", "body", "contentType", "failure", "error"});
        !ok) {
      return ok;
    }
    HttpResponse response;
    if (const json::value* status = object.if_contains("status")) {
      if (!status->is_int64()) return badCase(where + ".status", "must be a whole number");
      response.status = static_cast<int>(status->get_int64());
    }
    if (const json::value* body = object.if_contains("body")) {
      response.body = body->is_string() ? std::string(body->get_string()) : json::serialize(*body);
      response.content_type = body->is_string() ? "text/plain" : "application/json";
    }
    if (const json::value* type = object.if_contains("contentType")) {
      if (auto ok = readString(*type, where + ".contentType", response.content_type); !ok) {
        return ok;
      }
    }
    if (const json::value* failure = object.if_contains("failure")) {
      static const std::pair<std::string_view, HttpResponse::Failure> kFailures[] = {
          {"timeout", HttpResponse::Failure::kTimeout},
          {"connect", HttpResponse::Failure::kConnect},
          {"tooLarge", HttpResponse::Failure::kTooLarge},
          {"policy", HttpResponse::Failure::kPolicy},
          {"other", HttpResponse::Failure::kOther}};
      std::string name;
      if (auto ok = readString(*failure, where + ".failure", name); !ok) return ok;
      auto found = std::find_if(std::begin(kFailures), std::end(kFailures),
                                [&](const auto& f) { return f.first == name; });
      if (found == std::end(kFailures)) {
        return badCase(where + ".failure", "must be timeout, connect, tooLarge, policy or other");
      }
      response.failure = found->second;
    }
    if (const json::value* error = object.if_contains("error")) {
      if (auto ok = readString(*error, where + ".error", response.error); !ok) return ok;
    }
    http.responses().push_back(std::move(response));
  }
  return testing::AssertionSuccess();
}

json::object storeJson(const MemoryLeadStore& store) {
  json::array leads;
  for (const Lead& lead : store.leads()) {
    json::object entry{{"id", lead.id}};
    for (std::size_t i = 0; i < kLeadFieldCount; ++i) {
      auto field = static_cast<LeadField>(i);
      entry[leadFieldName(field)] = lead.field(field);
    }
    for (const auto& [id, text] : lead.custom) entry["field:" + std::to_string(id)] = text;
    leads.push_back(std::move(entry));
  }
  json::array dnc;
  for (const std::string& number : store.dnc()) dnc.emplace_back(number);
  return json::object{{"leads", std::move(leads)}, {"dnc", std::move(dnc)}};
}

// --- Problems of a refused flow ------------------------------------------------------------

std::string listProblems(const Diagnostics& diagnostics) {
  std::string out;
  for (const Problem& problem : diagnostics.problems()) out += "  " + problem.text() + '\n';
  return out.empty() ? "  (none)\n" : out;
}

// Whether each expected substring can be given its own error (a bipartite matching, so that
// overlapping substrings cannot claim the same error).
bool matchErrors(const std::vector<std::string>& expected, const std::vector<std::string>& errors,
                 std::string& why) {
  std::vector<int> owner(errors.size(), -1);  // error -> expected index
  std::function<bool(std::size_t, std::vector<bool>&)> assign = [&](std::size_t want,
                                                                    std::vector<bool>& seen) {
    for (std::size_t e = 0; e < errors.size(); ++e) {
      if (seen[e] || errors[e].find(expected[want]) == std::string::npos) continue;
      seen[e] = true;
      if (owner[e] < 0 || assign(static_cast<std::size_t>(owner[e]), seen)) {
        owner[e] = static_cast<int>(want);
        return true;
      }
    }
    return false;
  };
  for (std::size_t want = 0; want < expected.size(); ++want) {
    std::vector<bool> seen(errors.size(), false);
    if (!assign(want, seen)) {
      why = "no error (of its own) contains \"" + expected[want] + "\"";
      return false;
    }
  }
  if (expected.size() != errors.size()) {
    why = "expected " + std::to_string(expected.size()) + " errors, got " +
          std::to_string(errors.size());
    return false;
  }
  return true;
}

// --- The test ------------------------------------------------------------------------------

class FlowCaseTest : public testing::TestWithParam<std::string> {};

TEST_P(FlowCaseTest, Runs) {
  fs::path file = casesDir() / GetParam();
  std::ifstream in(file, std::ios::binary);
  ASSERT_TRUE(in) << "cannot read " << file;
  std::stringstream buffer;
  buffer << in.rdbuf();
  json::value document;
  JsonError json_error;
  ASSERT_TRUE(parseStrictJson(buffer.str(), document, json_error))
      << file.string() << ": line " << json_error.line << ", column " << json_error.column << ": "
      << json_error.message;
  ASSERT_TRUE(document.is_object()) << file.string() << ": a case is a JSON object";
  const json::object& test_case = document.get_object();
  ASSERT_TRUE(onlyKeys(test_case, "",
                       {"description", "flow", "flowFile", "flowText", "caller", "secrets", "leads",
                        "leadStore", "httpResponses", "expect", "expectNotContains",
                        "expectRequests", "expectStore", "errors", "warnings"}));
  const json::value* description = test_case.if_contains("description");
  ASSERT_TRUE(description != nullptr && description->is_string() &&
              !description->get_string().empty())
      << "case file: give a \"description\" of what the case shows";
  SCOPED_TRACE(std::string(description->get_string()));

  // The flow.
  const json::value* flow_value = test_case.if_contains("flow");
  const json::value* flow_file = test_case.if_contains("flowFile");
  const json::value* flow_text = test_case.if_contains("flowText");
  ASSERT_EQ((flow_value != nullptr) + (flow_file != nullptr) + (flow_text != nullptr), 1)
      << "case file: give exactly one of \"flow\", \"flowFile\" and \"flowText\"";
  LoadedFlow loaded;
  if (flow_value != nullptr) {
    loaded = loadFlow(json::serialize(*flow_value), elementTypes());
  } else if (flow_file != nullptr) {
    std::string path;
    ASSERT_TRUE(readString(*flow_file, "flowFile", path));
    loaded = loadFlowFile((sourceDir() / path).string(), elementTypes());
  } else {
    std::string text;
    ASSERT_TRUE(readString(*flow_text, "flowText", text));
    loaded = loadFlow(text, elementTypes());
  }
  const Diagnostics& diagnostics = loaded.diagnostics;

  if (const json::value* warnings = test_case.if_contains("warnings")) {
    std::vector<std::string> expected;
    ASSERT_TRUE(readStrings(*warnings, "warnings", expected));
    for (const std::string& want : expected) {
      bool found = std::any_of(diagnostics.problems().begin(), diagnostics.problems().end(),
                               [&](const Problem& p) {
                                 return p.severity == Problem::Severity::kWarning &&
                                        p.text().find(want) != std::string::npos;
                               });
      EXPECT_TRUE(found) << "no warning contains \"" << want << "\"; the problems:\n"
                         << listProblems(diagnostics);
    }
  }

  if (const json::value* errors = test_case.if_contains("errors")) {
    for (std::string_view key : {"expect", "expectNotContains", "expectRequests", "expectStore",
                                 "caller", "secrets", "leads", "leadStore", "httpResponses"}) {
      ASSERT_FALSE(test_case.contains(key))
          << "case file: key \"" << key << "\": a case with \"errors\" does not run a call";
    }
    std::vector<std::string> expected;
    ASSERT_TRUE(readStrings(*errors, "errors", expected));
    ASSERT_FALSE(expected.empty()) << "case file: key \"errors\": list at least one error";
    EXPECT_EQ(loaded.flow, nullptr) << "the flow loaded, but errors were expected";
    std::vector<std::string> actual;
    for (const Problem& problem : diagnostics.problems()) {
      if (problem.severity == Problem::Severity::kError) actual.push_back(problem.text());
    }
    std::string why;
    EXPECT_TRUE(matchErrors(expected, actual, why)) << why << "; the problems:\n"
                                                    << listProblems(diagnostics);
    return;
  }
  ASSERT_NE(loaded.flow, nullptr) << "the flow was refused:\n" << listProblems(diagnostics);
  const Flow& flow = *loaded.flow;

  // The call.
  Simulation simulation;
  if (const json::value* caller = test_case.if_contains("caller")) {
    ASSERT_TRUE(readCaller(*caller, simulation));
  }
  if (!simulation.caller.hangup_at.empty()) {
    ASSERT_TRUE(flow.find(simulation.caller.hangup_at))
        << "case file: key \"caller.hangupAt\": the flow has no element named \""
        << simulation.caller.hangup_at << "\"";
  }
  SecretMap secrets;
  if (const json::value* value = test_case.if_contains("secrets")) {
    ASSERT_TRUE(value->is_object()) << "case file: key \"secrets\": must be an object";
    for (const auto& [name, secret] : value->get_object()) {
      ASSERT_TRUE(readString(secret, memberPath("secrets", name), secrets[std::string(name)]));
    }
  }
  for (const std::string& name : flow.secret_names) {
    ASSERT_TRUE(secrets.count(name) != 0)
        << "case file: the flow uses {{secret." << name << "}}; give it in \"secrets\"";
  }
  simulation.secrets = &secrets;
  MemoryLeadStore store;
  simulation.services.leads = &store;
  if (const json::value* value = test_case.if_contains("leadStore")) {
    ASSERT_TRUE(value->is_bool()) << "case file: key \"leadStore\": must be true or false";
    if (!value->get_bool()) simulation.services.leads = nullptr;
  }
  if (const json::value* leads = test_case.if_contains("leads")) {
    ASSERT_TRUE(readLeads(*leads, store));
  }
  ScriptedHttpClient http;
  if (const json::value* responses = test_case.if_contains("httpResponses")) {
    ASSERT_TRUE(readHttpResponses(*responses, http));
    simulation.services.http = &http;
  }

  Call call = simulate(flow, simulation);
  json::value trace = traceToJson(flow, call);
  std::string trace_text = pretty(trace);

  if (const json::value* expect = test_case.if_contains("expect")) {
    ASSERT_TRUE(expect->is_object()) << "case file: key \"expect\": must be an object";
    std::string why;
    EXPECT_TRUE(matchSubset(*expect, trace, "", why))
        << "the trace differs " << why << "\nthe whole trace:\n"
        << trace_text;
  }
  if (const json::value* value = test_case.if_contains("expectNotContains")) {
    std::vector<std::string> forbidden;
    ASSERT_TRUE(readStrings(*value, "expectNotContains", forbidden));
    std::string serialized = json::serialize(trace);
    std::string text = traceToText(flow, call);
    for (const std::string& text_part : forbidden) {
      EXPECT_EQ(serialized.find(text_part), std::string::npos)
          << "the trace contains \"" << text_part << "\":\n"
          << trace_text;
      EXPECT_EQ(text.find(text_part), std::string::npos)
          << "the text trace contains \"" << text_part << "\":\n"
          << text;
    }
  }
  if (const json::value* expect = test_case.if_contains("expectRequests")) {
    ASSERT_TRUE(simulation.services.http != nullptr)
        << "case file: key \"expectRequests\": give \"httpResponses\" too";
    json::value requests = http.requestsJson();
    std::string why;
    EXPECT_TRUE(matchSubset(*expect, requests, "requests", why))
        << "the HTTP requests differ " << why << "\nthe requests:\n"
        << pretty(requests);
  }
  if (const json::value* expect = test_case.if_contains("expectStore")) {
    json::value actual = storeJson(store);
    std::string why;
    EXPECT_TRUE(matchSubset(*expect, actual, "store", why))
        << "the lead store differs " << why << "\nthe store:\n"
        << pretty(actual);
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, FlowCaseTest, testing::ValuesIn(findCases()), caseName);

// A moved or empty cases folder must fail loudly rather than run no case.
TEST(FlowCasesFolder, HoldsCases) {
  EXPECT_GE(findCases().size(), 40u) << "cases folder: " << casesDir();
}

}  // namespace
}  // namespace callflow
