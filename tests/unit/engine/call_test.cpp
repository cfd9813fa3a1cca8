// Call: call variables, element results, properties and secrets as data paths read them
// (callflow/call.h, src/engine/call.cpp).
#include "callflow/call.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <memory>
#include <string>

#include "callflow/lead_store.h"
#include "elements/elements.h"
#include "engine/runner.h"
#include "engine/trace_json.h"
#include "flow/flow.h"

namespace callflow {
namespace {

using namespace std::string_literals;

DataPath pathTo(DataPath::Scope scope, int slot, std::string name = {}) {
  DataPath path;
  path.scope = scope;
  path.slot = slot;
  path.name = std::move(name);
  return path;
}

DataPath elementPath(int element, DataPath::Field field, std::vector<DataPath::Step> steps = {}) {
  DataPath path = pathTo(DataPath::Scope::kElement, element);
  path.field = field;
  path.steps = std::move(steps);
  return path;
}

TEST(CallVariableTest, NamesRoundTrip) {
  const char* names[] = {"referenceid", "name",   "name2", "address",    "city",  "postalcode",
                         "phonenum",    "leadid", "dnis",  "campaignid", "listid"};
  ASSERT_EQ(std::size(names), kCallVariableCount);
  for (std::size_t i = 0; i < kCallVariableCount; ++i) {
    auto variable = static_cast<CallVariable>(i);
    EXPECT_EQ(callVariableName(variable), names[i]);
    EXPECT_EQ(callVariableFromName(names[i]), variable);
  }
  EXPECT_FALSE(callVariableFromName("Name").has_value());
  EXPECT_FALSE(callVariableFromName("call.name").has_value());
  EXPECT_FALSE(callVariableFromName("").has_value());
}

TEST(LeadFieldTest, NamesRoundTrip) {
  const char* names[] = {"referenceid", "name",     "name2",      "address", "city",
                         "postalcode",  "phonenum", "campaignid", "listid"};
  ASSERT_EQ(std::size(names), kLeadFieldCount);
  for (std::size_t i = 0; i < kLeadFieldCount; ++i) {
    auto field = static_cast<LeadField>(i);
    EXPECT_EQ(leadFieldName(field), names[i]);
    EXPECT_EQ(leadFieldFromName(names[i]), field);
  }
  EXPECT_FALSE(leadFieldFromName("leadid").has_value());  // the id is not a field
  EXPECT_FALSE(leadFieldFromName("dnis").has_value());
}

TEST(CallTest, CallVariables) {
  Call call(0, 0, 0);
  DataPath name = pathTo(DataPath::Scope::kCallVariable, static_cast<int>(CallVariable::kName));
  EXPECT_EQ(call.variable(CallVariable::kName), "");
  EXPECT_FALSE(call.value(name).has_value());  // empty counts as no value
  call.setVariable(CallVariable::kName, "Ann");
  EXPECT_EQ(call.variable(CallVariable::kName), "Ann");
  EXPECT_EQ(call.value(name), "Ann");
  EXPECT_EQ(call.variable(CallVariable::kName2), "");
}

TEST(CallTest, AppendValueAppendsOrLeavesTheOutputAlone) {
  Call call(0, 1, 0);
  DataPath tier = pathTo(DataPath::Scope::kIvrData, 0, "Tier");
  std::string out = "x=";
  EXPECT_FALSE(call.appendValue(tier, out));
  EXPECT_EQ(out, "x=");
  call.setIvrData(0, "Gold");
  EXPECT_TRUE(call.appendValue(tier, out));
  EXPECT_EQ(out, "x=Gold");
}

TEST(CallTest, PropertiesSetToEmptyHaveAValue) {
  Call call(0, 2, 2);
  call.setIvrData(1, "");
  call.setDynamic(0, "");
  EXPECT_FALSE(call.ivrData(0).has_value());
  EXPECT_EQ(call.ivrData(1), "");
  EXPECT_EQ(call.value(pathTo(DataPath::Scope::kIvrData, 1)), "");
  EXPECT_FALSE(call.value(pathTo(DataPath::Scope::kIvrData, 0)).has_value());
  EXPECT_EQ(call.value(pathTo(DataPath::Scope::kDynamic, 0)), "");
  EXPECT_FALSE(call.value(pathTo(DataPath::Scope::kDynamic, 1)).has_value());
  call.setDynamic(1, "Silver");
  EXPECT_EQ(call.dynamic(1), "Silver");
  EXPECT_EQ(call.value(pathTo(DataPath::Scope::kDynamic, 1)), "Silver");
}

TEST(CallTest, Secrets) {
  Call call(0, 0, 0);
  DataPath key = pathTo(DataPath::Scope::kSecret, -1, "API_KEY");
  EXPECT_EQ(call.secrets(), nullptr);
  EXPECT_FALSE(call.value(key).has_value());
  SecretMap secrets{{"OTHER", "x"}};
  call.setSecrets(&secrets);
  EXPECT_FALSE(call.value(key).has_value());
  secrets["API_KEY"] = "k-1";
  EXPECT_EQ(call.value(key), "k-1");
  EXPECT_EQ(call.secrets(), &secrets);
}

TEST(CallTest, ResultsOfElementsThatHaveNotRunHaveNoValue) {
  Call call(2, 0, 0);
  for (auto field :
       {DataPath::Field::kResult, DataPath::Field::kStatusCode, DataPath::Field::kError}) {
    EXPECT_FALSE(call.value(elementPath(1, field)).has_value());
  }
}

TEST(CallTest, ElementResults) {
  Call call(2, 0, 0);
  ElementResult& result = call.result(1);
  result.ran = true;
  EXPECT_EQ(call.value(elementPath(1, DataPath::Field::kResult)), "");
  EXPECT_EQ(call.value(elementPath(1, DataPath::Field::kStatusCode)), "0");
  EXPECT_EQ(call.value(elementPath(1, DataPath::Field::kError)), "");
  // A JSON path into a body that was not JSON.
  result.text = "plain";
  EXPECT_EQ(call.value(elementPath(1, DataPath::Field::kResult)), "plain");
  EXPECT_FALSE(call.value(elementPath(1, DataPath::Field::kResult, {{"a", -1}})).has_value());

  result.text = R"({"a": [{"b": "x"}, 2.5], "n": null})";
  result.json = std::make_shared<const boost::json::value>(boost::json::parse(result.text));
  result.status_code = 404;
  result.error = "HTTP status 404";
  EXPECT_EQ(call.value(elementPath(1, DataPath::Field::kStatusCode)), "404");
  EXPECT_EQ(call.value(elementPath(1, DataPath::Field::kError)), "HTTP status 404");
  EXPECT_EQ(call.value(elementPath(1, DataPath::Field::kResult, {{"a", -1}, {"", 0}, {"b", -1}})),
            "x");
  EXPECT_EQ(call.value(elementPath(1, DataPath::Field::kResult, {{"a", -1}, {"", 1}})), "2.5");
  // An array or object reads as its JSON text.
  auto list = call.value(elementPath(1, DataPath::Field::kResult, {{"a", -1}}));
  ASSERT_TRUE(list.has_value());
  EXPECT_EQ(boost::json::parse(*list), result.json->at("a"));
  EXPECT_FALSE(call.value(elementPath(1, DataPath::Field::kResult, {{"n", -1}})).has_value());
  EXPECT_FALSE(
      call.value(elementPath(1, DataPath::Field::kResult, {{"a", -1}, {"", 2}})).has_value());
  // Another element's result is separate.
  EXPECT_FALSE(call.result(0).ran);
}

TEST(CallTest, MakeCallSizesTheCallAndSetsNumbers) {
  Flow flow;
  flow.nodes.resize(3);
  flow.ivr_data_names = {"A", "B"};
  flow.dynamic_names = {"D"};
  Call call = makeCall(flow, "+15550001", "8005550199");
  EXPECT_EQ(call.variable(CallVariable::kPhoneNum), "+15550001");
  EXPECT_EQ(call.variable(CallVariable::kDnis), "8005550199");
  EXPECT_FALSE(call.result(2).ran);
  EXPECT_FALSE(call.ivrData(1).has_value());
  EXPECT_FALSE(call.dynamic(0).has_value());
  EXPECT_TRUE(call.trace().steps.empty());
  EXPECT_EQ(call.trace().ended_at, -1);
}

TEST(TraceTest, Names) {
  EXPECT_STREQ(exitName(ExitKind::kOutput), "output");
  EXPECT_STREQ(exitName(ExitKind::kError), "error");
  EXPECT_STREQ(exitName(ExitKind::kNoMatch), "noMatch");
  EXPECT_STREQ(exitName(ExitKind::kNoInput), "noInput");
  EXPECT_STREQ(exitName(ExitKind::kTimeout), "timeout");
  EXPECT_STREQ(exitName(ExitKind::kRoute), "route");
  EXPECT_STREQ(exitName(ExitKind::kEnd), "end");
  EXPECT_STREQ(hungUpByName(HungUpBy::kNone), "");
  EXPECT_STREQ(hungUpByName(HungUpBy::kFlow), "flow");
  EXPECT_STREQ(hungUpByName(HungUpBy::kCaller), "caller");
  EXPECT_STREQ(hungUpByName(HungUpBy::kTransfer), "transfer");
}

// V7 (CWE-117): what an API answered reaches `callflow run`'s text trace with its control
// characters escaped, so it can neither forge a line nor send a terminal escape sequence;
// printable text, UTF-8 included, is unchanged.
TEST(TraceTextTest, V7ControlCharactersFromOutsideAreEscaped) {
  LoadedFlow loaded = loadFlow(R"({"format": 1, "name": "T", "start": "Bye",
      "elements": [{"name": "Bye", "type": "Hangup", "resultCode": "DONE"}]})",
                               elementTypes());
  ASSERT_TRUE(loaded.flow);
  const Flow& flow = *loaded.flow;
  Call call = makeCall(flow, "+15550001", "8005550199");
  const std::string nasty =
      "A\x1b[2J\r\nFAKE LOG LINE\x07\t\0\x08\x7f\xC2\x9B"
      "1m\xFF%s"s;
  const std::string escaped = R"(A\x1b[2J\x0d\x0aFAKE LOG LINE\x07\x09\x00\x08\x7f\u009b1m\xff%s)";
  Trace& trace = call.trace();
  trace.steps.push_back(TraceStep{0, ExitKind::kEnd, "", nasty});
  trace.said = {nasty, "caf\xC3\xA9 \xF0\x9F\x98\x80 \xC2\xA0\xE2\x80\x8F ok"};
  trace.played = {nasty};
  HttpExchange exchange;
  exchange.method = "GET";
  exchange.url = "http://h/" + nasty;
  exchange.error = nasty;
  trace.http.push_back(exchange);
  trace.transfers = {nasty};
  trace.ended_at = 0;
  trace.hung_up_by = HungUpBy::kFlow;
  trace.result_code = "DONE";
  std::string text = traceToText(flow, call);
  EXPECT_EQ(text, "  Bye (Hangup)  [" + escaped + "]\n" + "  said:   " + escaped + "\n" +
                      "  said:   caf\xC3\xA9 \xF0\x9F\x98\x80 \xC2\xA0\xE2\x80\x8F ok\n" +
                      "  played: " + escaped + "\n" + "  http:   GET http://h/" + escaped +
                      " -> 0 (" + escaped + ")\n" + "  transferred to " + escaped + "\n" +
                      "ended at Bye (hung up by flow), result code DONE\n");
}

}  // namespace
}  // namespace callflow
