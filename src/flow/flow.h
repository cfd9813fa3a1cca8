// Flow: a loaded, validated flow, immutable and shared (shared_ptr<const Flow>) by every call
// that runs it, on any worker. Elements are addressed by index; names are for people.
#pragma once

#include <array>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "callflow/element.h"
#include "callflow/transfer_policy.h"
#include "flow/diagnostics.h"

namespace callflow {

struct Node {
  std::string name;
  const ElementType* type = nullptr;
  std::string description;
  bool agents_can_see = false;
  bool supervisor_can_see = false;
  std::string result_code;  // the code the call gets when it ends here (default resolved)
  std::vector<std::string> phrase;
  std::array<int, kNamedExitCount> next{-1, -1, -1, -1, -1};  // by ExitKind; -1: ends the call
  ElementPtr element;
};

// A Transfer's target as written: the operator's transfer allowlist is checked against it
// when the flow is checked or deployed (fixed text) and on every call (the rendering).
struct DialTarget {
  std::string element;
  std::string target;  // the setting's text, fillpoints as written
  bool fixed = true;   // no fillpoints: every call dials exactly this
};

class Flow {
 public:
  std::string name;
  std::string description;
  int start = 0;
  std::string default_result_code = "INBOUND";
  std::vector<Node> nodes;
  std::vector<std::string> ivr_data_names;          // by slot
  std::vector<std::string> dynamic_names;           // by slot
  std::set<std::string, std::less<>> secret_names;  // secrets its templates read
  std::vector<DialTarget> dial_targets;             // its Transfer targets

  std::optional<int> find(std::string_view element_name) const;
};

struct LoadedFlow {
  std::shared_ptr<const Flow> flow;  // null when there are errors
  Diagnostics diagnostics;
};

inline constexpr std::size_t kMaxFlowBytes = 16 << 20;

// Parses and validates a flow document against the element types in `registry`.
LoadedFlow loadFlow(std::string_view json_text, std::span<const ElementType> registry);
// Reads the file first; a missing or unreadable file is an error in the diagnostics.
LoadedFlow loadFlowFile(const std::string& path, std::span<const ElementType> registry);

// The transfer allowlist's problems with `flow`, added to `diagnostics`: a fixed target that no
// pattern of `policy` permits is an error (a null policy: not known here, nothing to check); a
// target built from fillpoints is a warning, since only the call can tell whether it matches.
void checkDialTargets(const Flow& flow, const TransferPolicy* policy, Diagnostics& diagnostics);

}  // namespace callflow
