// engine_bench: what a call costs the engine, each figure next to a baseline measured in the
// same run, so the result reads as a ratio that does not depend much on the machine.
//
//   BM_RenderTemplate5        a text template with 5 fillpoints (call variables, an IvrData
//                             property, an element's JSON result, a `| default:`), rendered
//   BM_RenderUrl5             the same values in a URL template (percent-encoded)
//   BM_BaselineStringConcat5  the same 5 values appended to a std::string by hand, no lookups
//   BM_BaselineUrlConcat5     the same, percent-encoding each value by hand
//   BM_SimulateCall10         one call through a 10-element flow with no I/O, on the simulator
//                             (a private io_context per call, as `callflow run` does)
//   BM_BaselineCoroutines10   one coroutine on a fresh io_context that co_awaits 10 trivial
//                             awaitables, run to the end
//   BM_SimulateCall10SharedLoop, BM_BaselineCoroutines10SharedLoop
//                             the same two on one io_context reused by every call, as a
//                             server's worker thread runs its calls
//
// main() runs them with a reporter that keeps each benchmark's real time per iteration (the
// median when run with --benchmark_repetitions), then prints the figures as ratios and says
// whether the targets (docs/PERFORMANCE.md) are met.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "callflow/call.h"
#include "elements/elements.h"
#include "engine/simulator.h"
#include "flow/diagnostics.h"
#include "flow/fillpoint.h"
#include "flow/flow.h"
#include "flow/settings.h"

namespace callflow {
namespace {

constexpr double kRenderTargetNs = 300;
constexpr double kCallTargetNs = 20'000;

// ---------------------------------------------------------------------------------------------
// Rendering

constexpr std::string_view kTextTemplate =
    "Hello {{call.name}}, lead {{call.leadid}}, tier {{Tier}}, balance "
    "{{GETAPI.Result.account.balance}}, city {{call.city | default: \"unknown\"}}.";
constexpr std::string_view kUrlTemplate =
    "http://127.0.0.1:8080/leadservices/api/v2/leads/{{call.leadid}}/fields/158?name={{call.name}}"
    "&tier={{Tier}}&balance={{GETAPI.Result.account.balance}}"
    "&city={{call.city | default: \"unknown\"}}";
constexpr std::string_view kApiBody = R"({"account": {"balance": 1234.5, "currency": "GBP"}})";

// The values the templates above render to, for the baselines.
constexpr std::string_view kName = "Ada Lovelace";
constexpr std::string_view kLeadId = "100042";
constexpr std::string_view kTier = "Gold";
constexpr std::string_view kBalance = "1234.5";
constexpr std::string_view kCity = "unknown";

// A Call holding the data both templates read, and the templates bound to its slots, the way
// the flow loader binds them: element 0 is an ApiRequest named GETAPI, IvrData slot 0 is Tier.
struct RenderFixture {
  Diagnostics diagnostics;
  LoadContext context{diagnostics, elementTypes()};
  std::optional<Template> text;
  std::optional<Template> url;
  std::unique_ptr<Call> call;
  std::string error;

  RenderFixture() {
    const ElementType* api_request = nullptr;
    for (const ElementType& type : elementTypes()) {
      if (type.name == "ApiRequest") api_request = &type;
    }
    context.setElements({"GETAPI"}, {api_request});
    int tier_slot = context.ivrDataSlot("Tier", true);
    auto parsed_text = Template::parse(kTextTemplate, Encoding::kText, context);
    auto parsed_url = Template::parse(kUrlTemplate, Encoding::kUrl, context);
    if (!parsed_text || !parsed_url) {
      error = !parsed_text ? parsed_text.error().message : parsed_url.error().message;
      return;
    }
    text = std::move(*parsed_text);
    url = std::move(*parsed_url);

    call = std::make_unique<Call>(1, context.ivrDataNames().size(), 0);
    call->setVariable(CallVariable::kName, std::string(kName));
    call->setVariable(CallVariable::kLeadId, std::string(kLeadId));
    call->setIvrData(tier_slot, std::string(kTier));
    ElementResult& result = call->result(0);
    result.ran = true;
    result.status_code = 200;
    result.text = std::string(kApiBody);
    result.json = std::make_shared<const boost::json::value>(boost::json::parse(kApiBody));
  }
};

const RenderFixture& renderFixture() {
  static const RenderFixture fixture;
  return fixture;
}

void renderBenchmark(benchmark::State& state, const std::optional<Template> RenderFixture::*which,
                     std::string_view expected) {
  const RenderFixture& fixture = renderFixture();
  if (!fixture.error.empty()) {
    state.SkipWithError(fixture.error.c_str());
    return;
  }
  const Template& tmpl = *(fixture.*which);
  if (std::string check = tmpl.render(*fixture.call); check != expected) {
    state.SkipWithError(("renders \"" + check + "\"").c_str());
    return;
  }
  for (auto _ : state) {
    std::string out = tmpl.render(*fixture.call);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
}

void BM_RenderTemplate5(benchmark::State& state) {
  renderBenchmark(state, &RenderFixture::text,
                  "Hello Ada Lovelace, lead 100042, tier Gold, balance 1234.5, city unknown.");
}

void BM_RenderUrl5(benchmark::State& state) {
  renderBenchmark(state, &RenderFixture::url,
                  "http://127.0.0.1:8080/leadservices/api/v2/leads/100042/fields/158?"
                  "name=Ada%20Lovelace&tier=Gold&balance=1234.5&city=unknown");
}

// The values in std::strings, as a Call holds them, so the baseline copies from the same kind
// of storage the renderer reads.
struct Values {
  std::string name{kName}, lead_id{kLeadId}, tier{kTier}, balance{kBalance}, city{kCity};
};

void BM_BaselineStringConcat5(benchmark::State& state) {
  Values v;
  for (auto _ : state) {
    benchmark::DoNotOptimize(&v);
    std::string out;
    out += "Hello ";
    out += v.name;
    out += ", lead ";
    out += v.lead_id;
    out += ", tier ";
    out += v.tier;
    out += ", balance ";
    out += v.balance;
    out += ", city ";
    out += v.city;
    out += ".";
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
}

void BM_BaselineUrlConcat5(benchmark::State& state) {
  Values v;
  for (auto _ : state) {
    benchmark::DoNotOptimize(&v);
    std::string out;
    out += "http://127.0.0.1:8080/leadservices/api/v2/leads/";
    appendPercentEncoded(v.lead_id, out);
    out += "/fields/158?name=";
    appendPercentEncoded(v.name, out);
    out += "&tier=";
    appendPercentEncoded(v.tier, out);
    out += "&balance=";
    appendPercentEncoded(v.balance, out);
    out += "&city=";
    appendPercentEncoded(v.city, out);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
}

BENCHMARK(BM_RenderTemplate5);
BENCHMARK(BM_BaselineStringConcat5);
BENCHMARK(BM_RenderUrl5);
BENCHMARK(BM_BaselineUrlConcat5);

// ---------------------------------------------------------------------------------------------
// One call

// Ten elements, no I/O: TTS, SetProperty x3, Branch, Menu (the caller presses 2),
// CaptureDigits (1234#), SetProperty, TTS, Hangup.
constexpr std::string_view kCallFlow = R"({
  "format": 1,
  "name": "Bench10",
  "start": "Greet",
  "elements": [
    {"name": "Greet", "type": "TextToSpeech",
     "text": "Welcome to Acme, {{call.name | default: \"caller\"}}.",
     "next": {"output": "SetTier"}},
    {"name": "SetTier", "type": "SetProperty",
     "destination": {"type": "IvrData", "name": "Tier"},
     "source": {"type": "FreeText", "name": "Gold"},
     "next": {"output": "SetRegion"}},
    {"name": "SetRegion", "type": "SetProperty",
     "destination": {"type": "DynamicProperty", "name": "Region"},
     "source": {"type": "CallProperty", "name": "dnis"},
     "next": {"output": "SetName"}},
    {"name": "SetName", "type": "SetProperty",
     "destination": {"type": "CallProperty", "name": "call.name"},
     "source": {"type": "FreeText", "name": "Ada"},
     "next": {"output": "Route"}},
    {"name": "Route", "type": "Branch", "source": "Tier",
     "branches": [{"value": "Silver", "next": "Bye"}, {"value": "Gold", "next": "Main"}],
     "next": {"noMatch": "Main"}},
    {"name": "Main", "type": "Menu",
     "prompt": {"text": "For sales press 1. For your account press 2."},
     "options": {"1": "Bye", "2": "Account"},
     "next": {"noInput": "Bye", "noMatch": "Bye"}},
    {"name": "Account", "type": "CaptureDigits",
     "prompt": {"text": "Please enter your account number, then the hash key."},
     "minDigits": 4, "maxDigits": 6,
     "next": {"output": "SaveAccount", "noInput": "Bye", "error": "Bye"}},
    {"name": "SaveAccount", "type": "SetProperty",
     "destination": {"type": "IvrData", "name": "AccountNumber"},
     "source": {"type": "DataBin", "name": "Account.Result"},
     "next": {"output": "ReadBack"}},
    {"name": "ReadBack", "type": "TextToSpeech",
     "text": "Thank you {{call.name}}. {{Tier}} account {{AccountNumber}}, {{dynamic.Region}}.",
     "next": {"output": "Bye"}},
    {"name": "Bye", "type": "Hangup", "resultCode": "COMPLETED"}
  ]
})";

// Runs the 10-element call: on a private io_context per call (`callflow run`, the default), or
// on one loop shared by every call (`shared_loop`), as a server's worker runs its calls.
void simulateCall10(benchmark::State& state, bool shared_loop) {
  LoadedFlow loaded = loadFlow(kCallFlow, elementTypes());
  if (!loaded.flow || !loaded.diagnostics.problems().empty()) {
    std::string why = "the flow did not load cleanly";
    for (const Problem& p : loaded.diagnostics.problems()) why += "; " + p.text();
    state.SkipWithError(why.c_str());
    return;
  }
  const Flow& flow = *loaded.flow;
  boost::asio::io_context loop(1);
  Simulation simulation;
  simulation.from = "+442079460000";
  simulation.to = "08001234567";
  simulation.caller.digits = {"2", "1234#"};
  if (shared_loop) simulation.loop = &loop;

  {
    Call call = simulate(flow, simulation);
    const Trace& trace = call.trace();
    if (trace.steps.size() != 10 || trace.result_code != "COMPLETED" || trace.said.empty() ||
        trace.said.back() != "Thank you Ada. Gold account 1234, 08001234567.") {
      state.SkipWithError("the call did not take the expected ten steps");
      return;
    }
  }
  for (auto _ : state) {
    Call call = simulate(flow, simulation);
    benchmark::DoNotOptimize(&call);
    benchmark::ClobberMemory();
  }
}

void BM_SimulateCall10(benchmark::State& state) { simulateCall10(state, false); }
void BM_SimulateCall10SharedLoop(benchmark::State& state) { simulateCall10(state, true); }

boost::asio::awaitable<int> trivialStep(int i) { co_return i; }

boost::asio::awaitable<void> tenSteps(int& sink) {
  for (int i = 0; i < 10; ++i) sink += co_await trivialStep(i);
}

void BM_BaselineCoroutines10(benchmark::State& state) {
  for (auto _ : state) {
    boost::asio::io_context loop(1);
    int sink = 0;
    boost::asio::co_spawn(loop, tenSteps(sink), boost::asio::detached);
    loop.run();
    benchmark::DoNotOptimize(sink);
  }
}

void BM_BaselineCoroutines10SharedLoop(benchmark::State& state) {
  boost::asio::io_context loop(1);
  for (auto _ : state) {
    int sink = 0;
    boost::asio::co_spawn(loop, tenSteps(sink), boost::asio::detached);
    loop.restart();
    loop.run();
    benchmark::DoNotOptimize(sink);
  }
}

BENCHMARK(BM_SimulateCall10)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_BaselineCoroutines10)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_SimulateCall10SharedLoop)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_BaselineCoroutines10SharedLoop)->Unit(benchmark::kMicrosecond);

// ---------------------------------------------------------------------------------------------
// Reporting

// Passes every run to the reporter --benchmark_format asks for (the console table by default)
// and keeps each benchmark's real time per iteration in ns: the median when there are
// repetitions, else the single run.
class CapturingReporter : public benchmark::BenchmarkReporter {
 public:
  explicit CapturingReporter(std::unique_ptr<benchmark::BenchmarkReporter> inner)
      : inner_(std::move(inner)) {}

  bool ReportContext(const Context& context) override { return inner_->ReportContext(context); }
  void Finalize() override { inner_->Finalize(); }

  void ReportRuns(const std::vector<Run>& reports) override {
    inner_->ReportRuns(reports);
    for (const Run& run : reports) {
      if (run.error_occurred) continue;
      const std::string& name = run.run_name.function_name;
      double ns = run.GetAdjustedRealTime() * 1e9 / benchmark::GetTimeUnitMultiplier(run.time_unit);
      if (run.run_type == Run::RT_Aggregate) {
        if (run.aggregate_name == "median") medians_[name] = ns;
      } else if (run.run_type == Run::RT_Iteration) {
        singles_[name] = ns;
      }
    }
  }

  std::optional<double> nanoseconds(const std::string& name) const {
    if (auto it = medians_.find(name); it != medians_.end()) return it->second;
    if (auto it = singles_.find(name); it != singles_.end()) return it->second;
    return std::nullopt;
  }

 private:
  std::unique_ptr<benchmark::BenchmarkReporter> inner_;
  std::map<std::string, double> medians_;
  std::map<std::string, double> singles_;
};

// The value of `--NAME=value` in argv, read before benchmark::Initialize() consumes it.
std::string_view flagValue(int argc, char** argv, std::string_view name) {
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg.size() > name.size() + 3 && arg.substr(0, 2) == "--" &&
        arg.substr(2, name.size()) == name && arg[name.size() + 2] == '=') {
      return arg.substr(name.size() + 3);
    }
  }
  return {};
}

// The reporter benchmark's own main would pick from --benchmark_format (console or json)
// and --benchmark_color.
std::unique_ptr<benchmark::BenchmarkReporter> displayReporter(int argc, char** argv) {
  std::string_view format = flagValue(argc, argv, "benchmark_format");
  if (format == "json") return std::make_unique<benchmark::JSONReporter>();
  std::string_view color = flagValue(argc, argv, "benchmark_color");
  bool use_color = color == "true" || color == "yes" || color == "1" ||
                   (color != "false" && color != "no" && color != "0" && isatty(STDOUT_FILENO));
  return std::make_unique<benchmark::ConsoleReporter>(
      use_color ? benchmark::ConsoleReporter::OO_ColorTabular
                : benchmark::ConsoleReporter::OO_Tabular);
}

std::string formatNs(double ns) {
  char buffer[32];
  if (ns >= 10'000) {
    std::snprintf(buffer, sizeof buffer, "%.1f us", ns / 1000);
  } else if (ns >= 1000) {
    std::snprintf(buffer, sizeof buffer, "%.2f us", ns / 1000);
  } else {
    std::snprintf(buffer, sizeof buffer, "%.0f ns", ns);
  }
  return buffer;
}

void printRatio(std::FILE* out, const CapturingReporter& reporter, const char* label,
                const char* measured, const char* baseline, double target_ns) {
  auto value = reporter.nanoseconds(measured);
  auto base = reporter.nanoseconds(baseline);
  if (!value) return;
  std::fprintf(out, "%s: %s", label, formatNs(*value).c_str());
  if (base && *base > 0) {
    std::fprintf(out, " (baseline %s, ratio %.1fx)", formatNs(*base).c_str(), *value / *base);
  }
  std::fprintf(out, "; target < %s: %s\n", formatNs(target_ns).c_str(),
               *value < target_ns ? "met" : "MISSED");
}

}  // namespace
}  // namespace callflow

int main(int argc, char** argv) {
  callflow::CapturingReporter reporter(callflow::displayReporter(argc, argv));
  // With --benchmark_format=json, stdout stays machine-readable: the ratios go to stderr.
  std::string_view format = callflow::flagValue(argc, argv, "benchmark_format");
  std::FILE* summary = format.empty() || format == "console" ? stdout : stderr;
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  std::fflush(stdout);

  using callflow::printRatio;
  std::fprintf(summary, "\n");
  printRatio(summary, reporter, "render5", "BM_RenderTemplate5", "BM_BaselineStringConcat5",
             callflow::kRenderTargetNs);
  printRatio(summary, reporter, "url5", "BM_RenderUrl5", "BM_BaselineUrlConcat5",
             callflow::kRenderTargetNs);
  printRatio(summary, reporter, "call10", "BM_SimulateCall10", "BM_BaselineCoroutines10",
             callflow::kCallTargetNs);
  printRatio(summary, reporter, "call10 (shared loop)", "BM_SimulateCall10SharedLoop",
             "BM_BaselineCoroutines10SharedLoop", callflow::kCallTargetNs);
  return 0;
}
