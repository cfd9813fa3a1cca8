// loadFlow: the flow document, its elements' common keys, and the whole-flow checks
// (flow/flow.h). The data-driven suite (tests/flows) covers each element type's behaviour;
// these tests cover the loader's API and messages.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "elements/elements.h"
#include "engine/simulator.h"
#include "flow/flow.h"

namespace callflow {
namespace {

// Every element reachable, every IvrData set, every result read after it is made: no
// problems and no warnings.
constexpr std::string_view kFlow = R"({
  "format": 1,
  "name": "LeadField",
  "description": "Read a lead's tier back to the caller",
  "start": "Welcome",
  "defaultResultCode": "INBOUND",
  "_comment": "keys starting with _ are ignored",
  "elements": [
    {"name": "Welcome", "type": "TextToSpeech", "text": "Hello {{call.name}}",
     "next": {"output": "Ask"}},
    {"name": "Ask", "type": "CaptureDigits", "prompt": {"text": "Your account number?"},
     "maxDigits": 6, "next": {"output": "GETAPI", "noInput": "Bye", "error": "Bye"}},
    {"name": "GETAPI", "type": "ApiRequest", "action": "GET", "timeout": 5,
     "url": "https://api.example.com/accounts/{{Ask.Result}}", "phrase": ["please-wait.wav"],
     "header": "Authorization: Bearer {{secret.API_KEY}}",
     "next": {"output": "Save", "error": "Sorry"}},
    {"name": "Save", "type": "SetProperty",
     "destination": {"type": "IvrData", "name": "Tier"},
     "source": {"type": "DataBin", "name": "GETAPI.Result.tier"},
     "next": {"output": "Route", "error": "Sorry"}},
    {"name": "Route", "type": "Branch", "source": "Tier",
     "branches": [{"value": "Gold", "next": "GoldMsg"}], "next": {"noMatch": "Bye"}},
    {"name": "GoldMsg", "type": "TextToSpeech", "text": "Your status is {{Tier}}.",
     "resultCode": "SALE", "next": {"output": "Bye"}},
    {"name": "Sorry", "type": "TextToSpeech", "text": "Sorry, {{dynamic.Reason}}",
     "resultCode": "default", "next": {"output": "Bye"}},
    {"name": "Bye", "type": "Hangup", "resultCode": "COMPLETED"}
  ]
})";

LoadedFlow load(std::string_view text) { return loadFlow(text, elementTypes()); }

std::vector<std::string> texts(const LoadedFlow& loaded) {
  std::vector<std::string> out;
  for (const Problem& p : loaded.diagnostics.problems()) out.push_back(p.text());
  return out;
}

std::string joined(const LoadedFlow& loaded) {
  std::string out;
  for (const std::string& t : texts(loaded)) out += t + "\n";
  return out;
}

bool hasText(const LoadedFlow& loaded, std::string_view text) {
  for (const std::string& t : texts(loaded)) {
    if (t == text) return true;
  }
  return false;
}

bool hasTextStartingWith(const LoadedFlow& loaded, std::string_view prefix) {
  for (const std::string& t : texts(loaded)) {
    if (t.rfind(prefix, 0) == 0) return true;
  }
  return false;
}

boost::json::object& elementNamed(boost::json::object& flow, std::string_view name) {
  for (auto& e : flow["elements"].as_array()) {
    if (e.is_object() && e.as_object().contains("name") &&
        e.as_object()["name"] == boost::json::value(name)) {
      return e.as_object();
    }
  }
  ADD_FAILURE() << "no element " << name;
  static boost::json::object none;
  return none;
}

// The base flow with a change applied, as text.
std::string changed(const std::function<void(boost::json::object&)>& change) {
  boost::json::value flow = boost::json::parse(kFlow);
  change(flow.as_object());
  return boost::json::serialize(flow);
}

int indexOf(const Flow& flow, std::string_view name) {
  auto index = flow.find(name);
  EXPECT_TRUE(index.has_value()) << name;
  return index.value_or(-1);
}

int next(const Node& node, ExitKind exit) { return node.next[static_cast<std::size_t>(exit)]; }

// --- A valid flow ------------------------------------------------------------------------------

TEST(LoaderTest, ValidFlowLoadsWithoutProblems) {
  LoadedFlow loaded = load(kFlow);
  ASSERT_TRUE(loaded.flow) << joined(loaded);
  EXPECT_TRUE(loaded.diagnostics.problems().empty()) << joined(loaded);
  const Flow& flow = *loaded.flow;
  EXPECT_EQ(flow.name, "LeadField");
  EXPECT_EQ(flow.description, "Read a lead's tier back to the caller");
  EXPECT_EQ(flow.default_result_code, "INBOUND");
  ASSERT_EQ(flow.nodes.size(), 8u);
  const char* names[] = {"Welcome", "Ask", "GETAPI", "Save", "Route", "GoldMsg", "Sorry", "Bye"};
  const char* types[] = {"TextToSpeech", "CaptureDigits", "ApiRequest",   "SetProperty",
                         "Branch",       "TextToSpeech",  "TextToSpeech", "Hangup"};
  for (std::size_t i = 0; i < flow.nodes.size(); ++i) {
    EXPECT_EQ(flow.nodes[i].name, names[i]);
    ASSERT_NE(flow.nodes[i].type, nullptr);
    EXPECT_EQ(flow.nodes[i].type->name, types[i]);
    EXPECT_NE(flow.nodes[i].element, nullptr) << names[i];
    EXPECT_EQ(flow.find(names[i]), static_cast<int>(i));
  }
  EXPECT_EQ(flow.start, 0);
  EXPECT_FALSE(flow.find("Nope").has_value());
  EXPECT_EQ(flow.nodes[2].phrase, std::vector<std::string>{"please-wait.wav"});
  EXPECT_EQ(flow.ivr_data_names, std::vector<std::string>{"Tier"});
  EXPECT_EQ(flow.dynamic_names, std::vector<std::string>{"Reason"});
  EXPECT_EQ(flow.secret_names.size(), 1u);
  EXPECT_EQ(flow.secret_names.count("API_KEY"), 1u);
}

TEST(LoaderTest, StartIsAnIndex) {
  LoadedFlow loaded = load(changed([](auto& f) { f["start"] = "Ask"; }));
  // Welcome is then unreachable: a warning, not an error.
  ASSERT_TRUE(loaded.flow) << joined(loaded);
  EXPECT_EQ(loaded.flow->start, 1);
}

TEST(LoaderTest, NextTablesByExit) {
  LoadedFlow loaded = load(kFlow);
  ASSERT_TRUE(loaded.flow);
  const Flow& flow = *loaded.flow;
  const Node& ask = flow.nodes[static_cast<std::size_t>(indexOf(flow, "Ask"))];
  EXPECT_EQ(next(ask, ExitKind::kOutput), indexOf(flow, "GETAPI"));
  EXPECT_EQ(next(ask, ExitKind::kNoInput), indexOf(flow, "Bye"));
  EXPECT_EQ(next(ask, ExitKind::kError), indexOf(flow, "Bye"));
  EXPECT_EQ(next(ask, ExitKind::kNoMatch), -1);
  EXPECT_EQ(next(ask, ExitKind::kTimeout), -1);

  const Node& api = flow.nodes[static_cast<std::size_t>(indexOf(flow, "GETAPI"))];
  EXPECT_EQ(next(api, ExitKind::kOutput), indexOf(flow, "Save"));
  EXPECT_EQ(next(api, ExitKind::kError), indexOf(flow, "Sorry"));
  EXPECT_EQ(next(api, ExitKind::kTimeout), -1);  // the Runner falls back to error

  // A Branch's own targets are not exits; only noMatch is in its table.
  const Node& route = flow.nodes[static_cast<std::size_t>(indexOf(flow, "Route"))];
  EXPECT_EQ(next(route, ExitKind::kNoMatch), indexOf(flow, "Bye"));
  EXPECT_EQ(next(route, ExitKind::kOutput), -1);

  const Node& bye = flow.nodes[static_cast<std::size_t>(indexOf(flow, "Bye"))];
  for (int target : bye.next) EXPECT_EQ(target, -1);
}

TEST(LoaderTest, ResultCodesResolveDefault) {
  LoadedFlow loaded = load(kFlow);
  ASSERT_TRUE(loaded.flow);
  const Flow& flow = *loaded.flow;
  auto code = [&](std::string_view name) {
    return flow.nodes[static_cast<std::size_t>(indexOf(flow, name))].result_code;
  };
  EXPECT_EQ(code("GoldMsg"), "SALE");
  EXPECT_EQ(code("Bye"), "COMPLETED");
  EXPECT_EQ(code("Sorry"), "INBOUND");    // "default"
  EXPECT_EQ(code("Welcome"), "INBOUND");  // none given

  loaded = load(changed([](auto& f) { f["defaultResultCode"] = "ABANDON"; }));
  ASSERT_TRUE(loaded.flow);
  EXPECT_EQ(loaded.flow->default_result_code, "ABANDON");
  EXPECT_EQ(loaded.flow->nodes[6].result_code, "ABANDON");
  EXPECT_EQ(loaded.flow->nodes[0].result_code, "ABANDON");
  EXPECT_EQ(loaded.flow->nodes[5].result_code, "SALE");

  loaded = load(changed([](auto& f) { f.erase("defaultResultCode"); }));
  ASSERT_TRUE(loaded.flow);
  EXPECT_EQ(loaded.flow->nodes[6].result_code, "INBOUND");
}

TEST(LoaderTest, CommonKeys) {
  LoadedFlow loaded = load(changed([](auto& f) {
    auto& welcome = elementNamed(f, "Welcome");
    welcome["description"] = "Greets";
    welcome["agentsCanSee"] = true;
    welcome["supervisorCanSee"] = true;
    welcome["_note"] = "ignored";
  }));
  ASSERT_TRUE(loaded.flow) << joined(loaded);
  EXPECT_EQ(loaded.flow->nodes[0].description, "Greets");
  EXPECT_TRUE(loaded.flow->nodes[0].agents_can_see);
  EXPECT_TRUE(loaded.flow->nodes[0].supervisor_can_see);
  EXPECT_FALSE(loaded.flow->nodes[1].agents_can_see);
  EXPECT_FALSE(loaded.flow->nodes[1].supervisor_can_see);
}

TEST(LoaderTest, ElementsMayReferToLaterElements) {
  // Reversed document order: every next points backwards in the list.
  LoadedFlow loaded = load(changed([](auto& f) {
    auto& list = f["elements"].as_array();
    std::reverse(list.begin(), list.end());
  }));
  ASSERT_TRUE(loaded.flow) << joined(loaded);
  EXPECT_EQ(loaded.flow->start, 7);
  EXPECT_TRUE(loaded.diagnostics.problems().empty()) << joined(loaded);
}

// --- Problems name the element and the key -----------------------------------------------------

struct BadFlow {
  const char* what;
  std::function<void(boost::json::object&)> change;
  std::string problem;  // the exact text of one problem
};

TEST(LoaderTest, ProblemsNameElementAndKey) {
  const BadFlow cases[] = {
      {"timeout too long", [](auto& f) { elementNamed(f, "GETAPI")["timeout"] = 500; },
       R"(element "GETAPI": key "timeout": must be at most 120)"},
      {"timeout zero", [](auto& f) { elementNamed(f, "GETAPI")["timeout"] = 0; },
       R"(element "GETAPI": key "timeout": must be more than 0)"},
      {"timeout text", [](auto& f) { elementNamed(f, "GETAPI")["timeout"] = "5"; },
       R"(element "GETAPI": key "timeout": must be a number, not a string)"},
      {"lower-case method", [](auto& f) { elementNamed(f, "GETAPI")["action"] = "get"; },
       R"(element "GETAPI": key "action": must be GET, POST, PUT, PATCH or DELETE (in capitals))"},
      {"misspelt key", [](auto& f) { elementNamed(f, "Welcome")["txet"] = "x"; },
       R"(element "Welcome": key "txet": unknown setting)"},
      {"missing required key", [](auto& f) { elementNamed(f, "Welcome").erase("text"); },
       R"(element "Welcome": key "text": missing)"},
      {"next to nowhere",
       [](auto& f) { elementNamed(f, "Welcome")["next"].as_object()["output"] = "Nope"; },
       R"(element "Welcome": key "next.output": no element named "Nope")"},
      {"exit the type lacks",
       [](auto& f) {
         elementNamed(f, "Bye")["next"] = boost::json::object{{"output", "Welcome"}};
       },
       R"(element "Bye": key "next.output": Hangup has no exit "output" (its exits: none))"},
      {"exit the type lacks, with exits",
       [](auto& f) { elementNamed(f, "Welcome")["next"].as_object()["noInput"] = "Bye"; },
       R"(element "Welcome": key "next.noInput": TextToSpeech has no exit "noInput" (its exits:)"
       R"( output, error))"},
      {"unknown exit",
       [](auto& f) { elementNamed(f, "GETAPI")["next"].as_object()["sideways"] = "Bye"; },
       R"(element "GETAPI": key "next.sideways": unknown exit "sideways" (ApiRequest exits:)"
       R"( output, timeout, error))"},
      {"next not an object", [](auto& f) { elementNamed(f, "Welcome")["next"] = "Ask"; },
       R"(element "Welcome": key "next": must be an object, not a string)"},
      {"nested key",
       [](auto& f) { elementNamed(f, "Save")["destination"].as_object()["type"] = "Bogus"; },
       R"(element "Save": key "destination.type": must be IvrData, CallProperty or)"
       R"( DynamicProperty)"},
      {"list item key",
       [](auto& f) {
         elementNamed(f, "Route")["branches"].as_array()[0].as_object()["next"] = "Nope";
       },
       R"(element "Route": key "branches[0].next": no element named "Nope")"},
      {"bad fillpoint", [](auto& f) { elementNamed(f, "Welcome")["text"] = "Hi {{call.nope}}"; },
       R"(element "Welcome": key "text": at character 4: fillpoint "{{call.nope}}": unknown)"
       R"( call variable (known: call.referenceid, call.name, call.name2, call.address,)"
       R"( call.city, call.postalcode, call.phonenum, call.leadid, call.dnis, call.campaignid,)"
       R"( call.listid))"},
      {"result read before it exists",
       [](auto& f) { elementNamed(f, "Welcome")["text"] = "Hi {{GETAPI.Result.name}}"; },
       R"(element "Welcome": key "text": fillpoint "GETAPI.Result.name": element "GETAPI")"
       R"( cannot have run before "Welcome")"},
      {"part the type lacks", [](auto& f) { elementNamed(f, "Sorry")["text"] = "{{Save.Error}}"; },
       R"(element "Sorry": key "text": at character 1: fillpoint "{{Save.Error}}": SetProperty)"
       R"( "Save" leaves no Error)"},
      {"bad phrase file",
       [](auto& f) {
         elementNamed(f, "GETAPI")["phrase"] = boost::json::array{"ok.wav", "../etc/passwd"};
       },
       R"(element "GETAPI": key "phrase[1]": must be a file name under the prompts folder)"},
      {"bad result code", [](auto& f) { elementNamed(f, "Bye")["resultCode"] = "ALL DONE"; },
       R"(element "Bye": key "resultCode": must be "default" or a code of letters, digits, '_')"
       R"( and '-')"},
      {"bool as text", [](auto& f) { elementNamed(f, "Bye")["agentsCanSee"] = "yes"; },
       R"(element "Bye": key "agentsCanSee": must be true or false, not a string)"},
      {"duplicate name",
       [](auto& f) {
         f["elements"].as_array().push_back(
             boost::json::object{{"name", "Bye"}, {"type", "Hangup"}});
       },
       R"(element "Bye": key "name": duplicate element name)"},
      {"reserved name",
       [](auto& f) {
         f["elements"].as_array().push_back(
             boost::json::object{{"name", "secret"}, {"type", "Hangup"}});
       },
       R"(element "secret": key "name": "secret" is reserved for fillpoints)"},
      {"name with a space",
       [](auto& f) {
         f["elements"].as_array().push_back(
             boost::json::object{{"name", "Say Hi"}, {"type", "Hangup"}});
       },
       R"(flow: key "elements[8]": name "Say Hi": use letters, digits, '_' and '-' only (no)"
       R"( spaces, at most 64))"},
      {"nameless element",
       [](auto& f) {
         f["elements"].as_array().push_back(boost::json::object{{"type", "Hangup"}});
       },
       R"(flow: key "elements[8]": "name" missing)"},
      {"element not an object", [](auto& f) { f["elements"].as_array().push_back(3); },
       R"(flow: key "elements[8]": must be an object)"},
      {"missing type", [](auto& f) { elementNamed(f, "Bye").erase("type"); },
       R"(element "Bye": key "type": missing)"},
      {"unknown type", [](auto& f) { elementNamed(f, "Bye")["type"] = "HangUp"; },
       R"(element "Bye": key "type": unknown type "HangUp" (known: ApiRequest, SetProperty,)"
       R"( Branch, TextToSpeech, Play, CaptureDigits, Menu, LookupLead, CreateLead, AddToDnc,)"
       R"( Transfer, Hangup))"},
      {"unknown start", [](auto& f) { f["start"] = "Hello"; },
       R"(flow: key "start": no element named "Hello")"},
      {"missing start", [](auto& f) { f.erase("start"); }, R"(flow: key "start": missing)"},
      {"start not text", [](auto& f) { f["start"] = 1; },
       R"(flow: key "start": must be the name of an element)"},
      {"format 2", [](auto& f) { f["format"] = 2; },
       R"(flow: key "format": must be 1 (this is flow format version 1))"},
      {"bad flow name", [](auto& f) { f["name"] = "Lead Field"; },
       R"(flow: key "name": must be a name of letters, digits, '_' and '-' (at most 64))"},
      {"unknown document key", [](auto& f) { f["colour"] = "red"; },
       R"(flow: key "colour": unknown key)"},
      {"default result code 'default'", [](auto& f) { f["defaultResultCode"] = "default"; },
       R"(flow: key "defaultResultCode": must be a result code of letters, digits, '_' and '-')"},
      {"no elements", [](auto& f) { f["elements"] = boost::json::array(); },
       R"(flow: key "elements": must be a non-empty list)"},
      {"elements missing", [](auto& f) { f.erase("elements"); },
       R"(flow: key "elements": missing)"},
  };
  for (const BadFlow& c : cases) {
    LoadedFlow loaded = load(changed(c.change));
    EXPECT_FALSE(loaded.flow) << c.what;
    EXPECT_TRUE(loaded.diagnostics.hasErrors()) << c.what;
    EXPECT_TRUE(hasText(loaded, c.problem)) << c.what << ": got\n" << joined(loaded);
  }
}

TEST(LoaderTest, UnknownExitIsReportedOnce) {
  LoadedFlow loaded = load(
      changed([](auto& f) { elementNamed(f, "Welcome")["next"].as_object()["sideways"] = "Bye"; }));
  EXPECT_EQ(loaded.diagnostics.errorCount(), 1) << joined(loaded);
}

TEST(LoaderTest, EveryProblemIsReportedNotJustTheFirst) {
  LoadedFlow loaded = load(changed([](auto& f) {
    elementNamed(f, "GETAPI")["timeout"] = 500;
    elementNamed(f, "Welcome")["txet"] = "x";
    elementNamed(f, "Bye")["resultCode"] = "ALL DONE";
    f["colour"] = "red";
  }));
  EXPECT_FALSE(loaded.flow);
  EXPECT_EQ(loaded.diagnostics.errorCount(), 4) << joined(loaded);
  EXPECT_TRUE(hasTextStartingWith(loaded, "element \"GETAPI\": key \"timeout\""));
  EXPECT_TRUE(hasTextStartingWith(loaded, "element \"Welcome\": key \"txet\""));
  EXPECT_TRUE(hasTextStartingWith(loaded, "element \"Bye\": key \"resultCode\""));
  EXPECT_TRUE(hasTextStartingWith(loaded, "flow: key \"colour\""));
}

TEST(LoaderTest, DocumentProblems) {
  LoadedFlow loaded = load("[1, 2]");
  EXPECT_FALSE(loaded.flow);
  EXPECT_EQ(joined(loaded),
            "flow: the document must be a JSON object with \"start\" and \"elements\"\n");

  loaded = load("{\n  \"format\": 1,\n  \"start\": \"A\"\n  \"elements\": []\n}");
  EXPECT_FALSE(loaded.flow);
  ASSERT_EQ(loaded.diagnostics.problems().size(), 1u);
  const Problem& p = loaded.diagnostics.problems()[0];
  EXPECT_EQ(p.line, 4);
  EXPECT_EQ(p.column, 3);
  EXPECT_EQ(p.text(), "line 4, column 3: syntax error");

  loaded = load(R"({"start": "A", "start": "B", "elements": []})");
  EXPECT_EQ(joined(loaded), "line 1, column 22: duplicate key \"start\"\n");

  loaded = load(std::string(kMaxFlowBytes + 1, ' '));
  EXPECT_EQ(joined(loaded), "flow: the document is larger than 16 MiB\n");
}

TEST(LoaderTest, MissingFile) {
  LoadedFlow loaded = loadFlowFile("/nonexistent/dir/flow.json", elementTypes());
  EXPECT_FALSE(loaded.flow);
  EXPECT_EQ(joined(loaded), "flow: cannot read \"/nonexistent/dir/flow.json\"\n");
}

TEST(LoaderTest, ProblemTextFormats) {
  Problem error{Problem::Severity::kError, "GETAPI", "timeout", "must be at most 120"};
  EXPECT_EQ(error.text(), R"(element "GETAPI": key "timeout": must be at most 120)");
  Problem element_only{Problem::Severity::kError, "GETAPI", "", "broken"};
  EXPECT_EQ(element_only.text(), R"(element "GETAPI": broken)");
  Problem document{Problem::Severity::kError, "", "start", "missing"};
  EXPECT_EQ(document.text(), R"(flow: key "start": missing)");
  Problem warning{Problem::Severity::kWarning, "Orphan", "", "unreachable"};
  EXPECT_EQ(warning.text(), R"(warning: element "Orphan": unreachable)");
  Problem syntax;
  syntax.line = 3;
  syntax.column = 7;
  syntax.message = "syntax error";
  EXPECT_EQ(syntax.text(), "line 3, column 7: syntax error");

  Diagnostics diagnostics;
  diagnostics.warning("A", "", "w");
  EXPECT_FALSE(diagnostics.hasErrors());
  diagnostics.error("A", "k", "e");
  diagnostics.syntax(1, 2, "s");
  EXPECT_EQ(diagnostics.errorCount(), 2);
  EXPECT_EQ(diagnostics.problems().size(), 3u);
}

// --- Warnings ----------------------------------------------------------------------------------

TEST(LoaderTest, UnreachableElementIsAWarning) {
  LoadedFlow loaded = load(changed([](auto& f) {
    f["elements"].as_array().push_back(
        boost::json::object{{"name", "Orphan"}, {"type", "TextToSpeech"}, {"text", "never"}});
  }));
  ASSERT_TRUE(loaded.flow) << joined(loaded);
  EXPECT_FALSE(loaded.diagnostics.hasErrors());
  EXPECT_EQ(joined(loaded),
            "warning: element \"Orphan\": no path from \"start\" reaches this element\n");
}

TEST(LoaderTest, ReferencesFromUnreachableElementsAreNotErrors) {
  LoadedFlow loaded = load(changed([](auto& f) {
    f["elements"].as_array().push_back(boost::json::object{
        {"name", "Orphan"}, {"type", "TextToSpeech"}, {"text", "{{GETAPI.Result.x}}"}});
  }));
  ASSERT_TRUE(loaded.flow) << joined(loaded);
}

TEST(LoaderTest, IvrDataNeverSetIsAWarning) {
  LoadedFlow loaded = load(changed(
      [](auto& f) { elementNamed(f, "Welcome")["text"] = "Hello {{Nickname}} and {{Nickname}}"; }));
  ASSERT_TRUE(loaded.flow) << joined(loaded);
  EXPECT_EQ(joined(loaded),
            "warning: element \"Welcome\": key \"text\": no SetProperty sets IvrData "
            "\"Nickname\"; it will be empty\n");
}

TEST(LoaderTest, IvrDataSetLaterInTheDocumentIsNotWarned) {
  // GoldMsg reads Tier and comes after Save in the list; read it earlier in the list too.
  LoadedFlow loaded = load(changed([](auto& f) {
    auto& list = f["elements"].as_array();
    std::swap(list[3], list[5]);  // GoldMsg before Save
  }));
  ASSERT_TRUE(loaded.flow) << joined(loaded);
  EXPECT_TRUE(loaded.diagnostics.problems().empty()) << joined(loaded);
}

constexpr std::string_view kLoopFlow = R"({
  "format": 1, "name": "Loop", "start": "A",
  "elements": [
    {"name": "A", "type": "SetProperty", "destination": {"type": "IvrData", "name": "N"},
     "source": {"type": "FreeText", "name": "x"}, "next": {"output": "B"}},
    {"name": "B", "type": "Branch", "source": "N",
     "branches": [{"value": "y", "next": "End"}], "next": {"noMatch": "A"}},
    {"name": "End", "type": "Hangup"}
  ]
})";

TEST(LoaderTest, InstantLoopIsAWarning) {
  LoadedFlow loaded = load(kLoopFlow);
  ASSERT_TRUE(loaded.flow) << joined(loaded);
  EXPECT_EQ(joined(loaded),
            "warning: element \"A\": loop that never waits for the caller: A -> B -> A (a call "
            "stuck in it ends after 1000 elements)\n");

  // The loop guard then ends the call.
  Call call = simulate(*loaded.flow, Simulation{});
  EXPECT_EQ(call.trace().steps.size(), 1000u);
  EXPECT_FALSE(call.trace().error.empty());
}

TEST(LoaderTest, LoopThatWaitsForTheCallerIsFine) {
  // Through a TextToSpeech.
  boost::json::value flow = boost::json::parse(kLoopFlow);
  auto& list = flow.as_object()["elements"].as_array();
  list[1].as_object()["next"] = boost::json::object{{"noMatch", "Say"}};
  list.push_back(boost::json::object{
      {"name", "Say"}, {"type", "TextToSpeech"}, {"text", "again"}, {"next", {{"output", "A"}}}});
  LoadedFlow loaded = load(boost::json::serialize(flow));
  ASSERT_TRUE(loaded.flow) << joined(loaded);
  EXPECT_TRUE(loaded.diagnostics.problems().empty()) << joined(loaded);

  // Or an element that plays a phrase at its start.
  flow = boost::json::parse(kLoopFlow);
  flow.as_object()["elements"].as_array()[0].as_object()["phrase"] = boost::json::array{"beep.wav"};
  loaded = load(boost::json::serialize(flow));
  ASSERT_TRUE(loaded.flow) << joined(loaded);
  EXPECT_TRUE(loaded.diagnostics.problems().empty()) << joined(loaded);
}

TEST(LoaderTest, SelfLoopThroughBranchTargetIsAWarning) {
  LoadedFlow loaded = load(R"({
    "format": 1, "name": "Self", "start": "B",
    "elements": [
      {"name": "B", "type": "Branch", "source": "call.dnis",
       "branches": [{"value": "1", "next": "B"}], "next": {"noMatch": "End"}},
      {"name": "End", "type": "Hangup"}
    ]
  })");
  ASSERT_TRUE(loaded.flow) << joined(loaded);
  EXPECT_TRUE(hasTextStartingWith(
      loaded, "warning: element \"B\": loop that never waits for the caller: B -> B"))
      << joined(loaded);
}

// --- Designer keys -----------------------------------------------------------------------------

TEST(LoaderTest, LayoutAndSamplesChangeNothingWhenPathsAreThere) {
  LoadedFlow loaded = load(changed([](auto& f) {
    f["layout"] = boost::json::parse(R"({"nodes": {"GETAPI": {"x": 1, "y": 2}}, "any": [1]})");
    f["samples"] = boost::json::parse(
        R"({"GETAPI": {"status": 200, "body": {"tier": "Gold", "extra": [1, 2]}}})");
  }));
  ASSERT_TRUE(loaded.flow) << joined(loaded);
  EXPECT_TRUE(loaded.diagnostics.problems().empty()) << joined(loaded);
  EXPECT_EQ(loaded.flow->nodes.size(), 8u);
}

TEST(LoaderTest, SamplePathsMissingAreWarnedOncePerKey) {
  LoadedFlow loaded = load(changed([](auto& f) {
    // The sample has no "tier"; GoldMsg reads "Tier" twice in one text and the nested path once.
    f["samples"] = boost::json::parse(R"({"GETAPI": {"body": {"Tier": "Gold", "a": {"b": []}}}})");
    elementNamed(f, "GoldMsg")["text"] =
        "{{GETAPI.Result.Tier}} {{GETAPI.Result.tier}} {{GETAPI.Result.tier}} "
        "{{GETAPI.Result.a.b[0]}} {{GETAPI.Result}} {{GETAPI.StatusCode}}";
  }));
  ASSERT_TRUE(loaded.flow) << joined(loaded);
  EXPECT_EQ(joined(loaded),
            "warning: element \"Save\": key \"source.name\": \"GETAPI.Result.tier\": the last "
            "test response of GETAPI has no \"tier\"\n"
            "warning: element \"GoldMsg\": key \"text\": \"GETAPI.Result.tier\": the last test "
            "response of GETAPI has no \"tier\"\n"
            "warning: element \"GoldMsg\": key \"text\": \"GETAPI.Result.a.b[0]\": the last test "
            "response of GETAPI has no \"a.b[0]\"\n");
}

TEST(LoaderTest, SampleBodiesThatAreNotJsonAreNotChecked) {
  for (const char* body : {R"("plain text")", "42", "null"}) {
    LoadedFlow loaded = load(changed([&](auto& f) {
      f["samples"] = boost::json::object{{"GETAPI", {{"body", boost::json::parse(body)}}}};
    }));
    ASSERT_TRUE(loaded.flow) << joined(loaded);
    EXPECT_TRUE(loaded.diagnostics.problems().empty()) << body << ": " << joined(loaded);
  }
}

TEST(LoaderTest, SampleProblemsAreReportedWithFlowErrors) {
  // A draft may have errors; the sample warnings are still listed with them.
  LoadedFlow loaded = load(changed([](auto& f) {
    f["samples"] = boost::json::parse(
        R"({"GETAPI": {"body": {}}, "Ask": {"body": {}}, "Gone": {"body": 1}, "Bad": []})");
    elementNamed(f, "GETAPI")["timeout"] = 500;
  }));
  EXPECT_FALSE(loaded.flow);
  EXPECT_EQ(joined(loaded),
            "element \"GETAPI\": key \"timeout\": must be at most 120\n"
            "warning: flow: key \"samples.Ask\": element \"Ask\" is CaptureDigits, not "
            "ApiRequest\n"
            "warning: flow: key \"samples.Gone\": no ApiRequest element named \"Gone\"\n"
            "flow: key \"samples.Bad\": must be an object with \"body\"\n"
            "warning: element \"Save\": key \"source.name\": \"GETAPI.Result.tier\": the last "
            "test response of GETAPI has no \"tier\"\n");
}

// --- The transfer allowlist ---------------------------------------------------------------------

TEST(TransferPolicyTest, PatternsMatchTheWholeTarget) {
  EXPECT_TRUE(TransferPolicy::matches("+44163296????", "+441632960001"));
  EXPECT_FALSE(TransferPolicy::matches("+44163296????", "+4416329600011"));
  EXPECT_FALSE(TransferPolicy::matches("+44163296????", "+44163296001"));
  EXPECT_TRUE(TransferPolicy::matches("sip:*@pbx.example.com", "sip:sales@pbx.example.com"));
  // A wildcard never spans the characters of a URI's structure.
  EXPECT_FALSE(TransferPolicy::matches("sip:*@pbx.example.com",
                                       "sip:+882100@premium.example.net;x=@pbx.example.com"));
  EXPECT_FALSE(TransferPolicy::matches("sip:*@pbx.example.com", "sip:a%40b@pbx.example.com"));
  EXPECT_FALSE(TransferPolicy::matches("+44?", "+44@"));
  EXPECT_TRUE(TransferPolicy::matches("sip:*@*.example.com", "sip:1*2#@a.b.example.com"));
  EXPECT_TRUE(TransferPolicy::matches("tel:+44*", "tel:+44"));
  EXPECT_FALSE(TransferPolicy::matches("sip:*@pbx.example.com", "sip:a@pbx.example.com.evil"));
  EXPECT_TRUE(TransferPolicy::matches("*", ""));
  EXPECT_TRUE(TransferPolicy::matches("a*b*c", "aXXbYYbc"));
  EXPECT_FALSE(TransferPolicy::matches("", "x"));
  EXPECT_TRUE(TransferPolicy::matches("", ""));
  TransferPolicy none;
  EXPECT_FALSE(none.permits("sip:desk@example.com"));
  TransferPolicy two{{"100?", "sip:*@pbx.example.com"}};
  EXPECT_TRUE(two.permits("1001"));
  EXPECT_TRUE(two.permits("sip:x@pbx.example.com"));
  EXPECT_FALSE(two.permits("10011"));
}

constexpr std::string_view kTransfers = R"({
  "format": 1, "name": "Xfer", "start": "Ask",
  "elements": [
    {"name": "Ask", "type": "CaptureDigits", "prompt": {"text": "Extension?"}, "maxDigits": 4,
     "next": {"output": "ToDigits"}},
    {"name": "ToDigits", "type": "Transfer", "target": "sip:{{Ask.Result}}@pbx.example.com",
     "next": {"error": "ToDesk"}},
    {"name": "ToDesk", "type": "Transfer", "target": "sip:desk@pbx.example.com",
     "next": {"error": "Premium"}},
    {"name": "Premium", "type": "Transfer", "target": "+882100000001"}
  ]
})";

TEST(TransferPolicyTest, FixedTargetsOutsideTheAllowlistAreErrorsAndBuiltOnesWarnings) {
  LoadedFlow loaded = load(kTransfers);
  ASSERT_TRUE(loaded.flow) << joined(loaded);
  ASSERT_EQ(loaded.flow->dial_targets.size(), 3u);
  EXPECT_FALSE(loaded.flow->dial_targets[0].fixed);
  EXPECT_EQ(loaded.flow->dial_targets[2].element, "Premium");

  Diagnostics unknown;  // no policy known (check without --transfer-allow): warnings only
  checkDialTargets(*loaded.flow, nullptr, unknown);
  EXPECT_FALSE(unknown.hasErrors());
  ASSERT_EQ(unknown.problems().size(), 1u);
  EXPECT_EQ(unknown.problems()[0].element, "ToDigits");
  EXPECT_EQ(unknown.problems()[0].key, "target");

  TransferPolicy policy{{"sip:*@pbx.example.com"}};
  Diagnostics checked;
  checkDialTargets(*loaded.flow, &policy, checked);
  ASSERT_EQ(checked.errorCount(), 1);
  EXPECT_EQ(checked.problems()[1].text(),
            "element \"Premium\": key \"target\": \"+882100000001\" is not in the transfer "
            "allowlist (--transfer-allow)");

  TransferPolicy none;
  Diagnostics refused;
  checkDialTargets(*loaded.flow, &none, refused);
  EXPECT_EQ(refused.errorCount(), 2);
}

TEST(TransferPolicyTest, ARenderedTargetOutsideTheAllowlistTakesTheErrorExit) {
  LoadedFlow loaded = load(kTransfers);
  ASSERT_TRUE(loaded.flow) << joined(loaded);
  TransferPolicy policy{{"sip:1???@pbx.example.com"}};
  Simulation simulation;
  simulation.services.transfers = &policy;
  simulation.caller.digits = {"9#"};  // "sip:9@pbx..." matches no pattern; desk, premium neither
  Call call = simulate(*loaded.flow, simulation);
  EXPECT_TRUE(call.trace().transfers.empty());
  EXPECT_EQ(call.result(1).error,
            "the transfer target \"sip:9@pbx.example.com\" is not in the transfer allowlist "
            "(--transfer-allow)");
  EXPECT_TRUE(call.result(3).ran);

  simulation.caller.digits = {"1234#"};
  Call allowed = simulate(*loaded.flow, simulation);
  ASSERT_EQ(allowed.trace().transfers.size(), 1u);
  EXPECT_EQ(allowed.trace().transfers[0], "sip:1234@pbx.example.com");
}

// --- Robustness --------------------------------------------------------------------------------

void checkLoadedFlowIsConsistent(const Flow& flow) {
  ASSERT_FALSE(flow.nodes.empty());
  int size = static_cast<int>(flow.nodes.size());
  ASSERT_GE(flow.start, 0);
  ASSERT_LT(flow.start, size);
  for (const Node& node : flow.nodes) {
    ASSERT_NE(node.type, nullptr);
    ASSERT_NE(node.element, nullptr);
    EXPECT_FALSE(node.result_code.empty());
    for (int target : node.next) {
      ASSERT_GE(target, -1);
      ASSERT_LT(target, size);
    }
  }
}

TEST(LoaderTest, RandomMutationsNeverCrashAndFailuresSayWhy) {
  const std::string original(kFlow);
  std::mt19937 random(7031);
  auto below = [&](std::size_t n) {
    return n == 0 ? std::size_t{0} : std::uniform_int_distribution<std::size_t>(0, n - 1)(random);
  };
  int loaded_count = 0;
  int failed_count = 0;
  for (int round = 0; round < 3000; ++round) {
    std::string text = original;
    int mutations = 1 + static_cast<int>(below(3));
    for (int m = 0; m < mutations && !text.empty(); ++m) {
      switch (below(5)) {
        case 0:  // flip one byte to any value
          text[below(text.size())] = static_cast<char>(below(256));
          break;
        case 1:  // flip one bit
          text[below(text.size())] ^= static_cast<char>(1 << below(8));
          break;
        case 2:  // truncate
          text.resize(below(text.size()));
          break;
        case 3: {  // delete a run
          std::size_t at = below(text.size());
          text.erase(at, 1 + below(40));
          break;
        }
        default: {  // duplicate a run somewhere
          std::size_t at = below(text.size());
          std::string run = text.substr(at, 1 + below(80));
          text.insert(below(text.size() + 1), run);
        }
      }
    }
    LoadedFlow loaded = load(text);
    if (loaded.flow) {
      ++loaded_count;
      checkLoadedFlowIsConsistent(*loaded.flow);
      // What loads also runs.
      Simulation simulation;
      simulation.caller.digits = {"123456", "1"};
      Call call = simulate(*loaded.flow, simulation);
      EXPECT_GE(call.trace().ended_at, 0);
      EXPECT_FALSE(call.trace().steps.empty());
    } else {
      ++failed_count;
      ASSERT_GE(loaded.diagnostics.errorCount(), 1) << text;
      for (const Problem& p : loaded.diagnostics.problems()) {
        EXPECT_FALSE(p.message.empty()) << text;
      }
    }
    if (HasFatalFailure()) {
      ADD_FAILURE() << "round " << round << ", text:\n" << text;
      return;
    }
  }
  // The mutations exercise both outcomes.
  EXPECT_GT(loaded_count, 20);
  EXPECT_GT(failed_count, 1500);
}

}  // namespace
}  // namespace callflow
