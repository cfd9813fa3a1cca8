// Fuzz target 1: the flow loader and validator. The input is a flow document's bytes, loaded
// as `callflow check` and the admin API load one (loadFlow with every element type).
// Invariants: a flow comes back exactly when no problem is an error; every exit of a loaded
// flow names an element of it or ends the call; the problems serialise as JSON.
#include <boost/json/serialize.hpp>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "elements/elements.h"
#include "flow/flow.h"
#include "flow/problems_json.h"
#include "fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace callflow;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  LoadedFlow loaded = loadFlow(text, elementTypes());

  bool has_errors = false;
  for (const Problem& problem : loaded.diagnostics.problems()) {
    has_errors |= problem.severity == Problem::Severity::kError;
    (void)problem.text();
  }
  FUZZ_CHECK((loaded.flow != nullptr) == !has_errors);
  (void)boost::json::serialize(problemsToJson(loaded.diagnostics.problems()));

  if (const Flow* flow = loaded.flow.get()) {
    const int count = static_cast<int>(flow->nodes.size());
    FUZZ_CHECK(count > 0 && flow->start >= 0 && flow->start < count);
    for (const Node& node : flow->nodes) {
      FUZZ_CHECK(node.type != nullptr && node.element != nullptr);
      for (int next : node.next) FUZZ_CHECK(next >= -1 && next < count);
      FUZZ_CHECK(flow->find(node.name).has_value());
    }
  }
  return 0;
}
