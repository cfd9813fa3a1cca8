#include <boost/json/serialize.hpp>
#include <iostream>

#include "cli/commands.h"
#include "elements/elements.h"
#include "engine/secrets.h"
#include "flow/flow.h"
#include "flow/problems_json.h"

namespace callflow {

int runCheck(const CheckOptions& options) {
  LoadedFlow loaded = loadFlowFile(options.flow_path, elementTypes());
  if (loaded.flow) {
    TransferPolicy policy{options.transfer_allow};
    checkDialTargets(*loaded.flow, options.transfer_allow.empty() ? nullptr : &policy,
                     loaded.diagnostics);
  }
  std::vector<Problem> problems = loaded.diagnostics.problems();
  if (loaded.flow && !options.secrets_path.empty()) {
    auto secrets = loadSecretsFile(options.secrets_path);
    if (!secrets) {
      std::cerr << "callflow: " << secrets.error().message << '\n';
      return 2;
    }
    addSecretsFromEnvironment(loaded.flow->secret_names, *secrets);
    for (const std::string& name : loaded.flow->secret_names) {
      if (secrets->find(name) == secrets->end()) {
        problems.push_back({Problem::Severity::kError, "", "",
                            "secret \"" + name +
                                "\" is not in the secrets file nor in "
                                "CALLFLOW_SECRET_" +
                                name});
      }
    }
  }
  bool has_errors = false;
  for (const Problem& p : problems) has_errors |= p.severity == Problem::Severity::kError;

  if (options.json) {
    boost::json::array list = problemsToJson(problems);
    std::cout << boost::json::serialize(
                     boost::json::object{{"valid", !has_errors}, {"problems", std::move(list)}})
              << '\n';
    return has_errors ? 2 : 0;
  }
  for (const Problem& p : problems) std::cerr << options.flow_path << ": " << p.text() << '\n';
  if (has_errors) {
    int count = 0;
    for (const Problem& p : problems) count += p.severity == Problem::Severity::kError;
    std::cerr << options.flow_path << ": " << count << (count == 1 ? " error" : " errors") << '\n';
    return 2;
  }
  std::cout << options.flow_path << ": ok, flow \"" << loaded.flow->name << "\" with "
            << loaded.flow->nodes.size() << " elements\n";
  return 0;
}

}  // namespace callflow
