#include <boost/asio/io_context.hpp>
#include <boost/json/serialize.hpp>
#include <iostream>

#include "cli/commands.h"
#include "elements/elements.h"
#include "engine/secrets.h"
#include "engine/simulator.h"
#include "engine/trace_json.h"
#include "http/curl_http_client.h"
#include "store/memory_lead_store.h"

namespace callflow {

int runRun(const RunOptions& options) {
  LoadedFlow loaded = loadFlowFile(options.flow_path, elementTypes());
  for (const Problem& p : loaded.diagnostics.problems()) {
    std::cerr << options.flow_path << ": " << p.text() << '\n';
  }
  if (!loaded.flow) return 2;
  const Flow& flow = *loaded.flow;

  Simulation simulation;
  simulation.from = options.from;
  simulation.to = options.to;
  simulation.caller.digits = splitDigits(options.digits);
  for (const std::string& entry : simulation.caller.digits) {
    if (!isDtmf(entry)) {
      std::cerr << "callflow: --digits: \"" << entry
                << "\" holds a key that is not 0-9, *, #, A-D\n";
      return 2;
    }
  }
  if (!options.hangup_at.empty() && !flow.find(options.hangup_at)) {
    std::cerr << "callflow: --hangup-at: the flow has no element named \"" << options.hangup_at
              << "\"\n";
    return 2;
  }
  simulation.caller.hangup_at = options.hangup_at;
  simulation.caller.fail_transfers = options.fail_transfers;
  if (!options.db_path.empty()) {
    // TODO(#4): the SQLite store.
    std::cerr << "callflow: --db: the SQLite store is not built yet; without --db the call uses "
                 "an empty in-memory lead store\n";
    return 2;
  }

  SecretMap secrets;
  if (!options.secrets_path.empty()) {
    auto loaded_secrets = loadSecretsFile(options.secrets_path);
    if (!loaded_secrets) {
      std::cerr << "callflow: " << loaded_secrets.error().message << '\n';
      return 2;
    }
    secrets = std::move(*loaded_secrets);
  }
  addSecretsFromEnvironment(flow.secret_names, secrets);
  for (const std::string& name : flow.secret_names) {
    if (secrets.find(name) == secrets.end()) {
      std::cerr << "callflow: the flow uses {{secret." << name
                << "}}: give it in --secrets FILE or as CALLFLOW_SECRET_" << name << '\n';
      return 2;
    }
  }
  simulation.secrets = &secrets;
  MemoryLeadStore leads;
  simulation.services.leads = &leads;
  HttpClientOptions http_options;
  http_options.policy = OutboundPolicy::defaults();
  for (const auto& [rules, allowed] :
       {std::pair{&options.allow, true}, std::pair{&options.deny, false}}) {
    for (const std::string& rule : *rules) {
      if (auto added = http_options.policy.add(rule, allowed); !added) {
        std::cerr << "callflow: " << (allowed ? "--allow" : "--deny") << ": "
                  << added.error().message << '\n';
        return 2;
      }
    }
  }
  http_options.ca_file = options.ca_file;
  boost::asio::io_context loop(1);
  CurlHttpClient http(loop, std::move(http_options));
  simulation.services.http = &http;
  simulation.loop = &loop;

  Call call = simulate(flow, simulation);
  if (options.json) {
    std::cout << boost::json::serialize(traceToJson(flow, call)) << '\n';
  } else {
    std::cout << "flow " << flow.name << ":\n" << traceToText(flow, call);
  }
  return 0;
}

}  // namespace callflow
