#include <boost/asio/io_context.hpp>
#include <boost/json/serialize.hpp>
#include <fstream>
#include <iostream>
#include <iterator>

#include "cli/commands.h"
#include "elements/elements.h"
#include "engine/secrets.h"
#include "engine/simulator.h"
#include "engine/trace_json.h"
#include "flow/json_text.h"
#include "http/curl_http_client.h"
#include "store/memory_lead_store.h"

namespace callflow {
namespace {

// Seeds the in-memory lead store from a JSON list of leads:
// [{"referenceid": "R1", "name": "Ada", "phonenum": "+441632960001", "field:158": "Gold"}].
// Leads get ids 1001, 1002, … in file order.
Result<void> seedLeads(const std::string& path, MemoryLeadStore& store) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(ErrorCode::kNotFound, "cannot read \"" + path + "\"");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  boost::json::value document;
  JsonError error;
  if (!parseStrictJson(text, document, error)) {
    return fail(ErrorCode::kInvalidArgument, path + ": line " + std::to_string(error.line) +
                                                 ", column " + std::to_string(error.column) + ": " +
                                                 error.message);
  }
  if (!document.is_array()) {
    return fail(ErrorCode::kInvalidArgument, path + ": expected a list of leads");
  }
  for (std::size_t i = 0; i < document.get_array().size(); ++i) {
    const auto& item = document.get_array()[i];
    std::string where = path + ": lead " + std::to_string(i + 1);
    if (!item.is_object()) return fail(ErrorCode::kInvalidArgument, where + ": not an object");
    Lead lead;
    for (const auto& [key, value] : item.get_object()) {
      std::string name(key.data(), key.size());
      if (!value.is_string()) {
        return fail(ErrorCode::kInvalidArgument, where + ": \"" + name + "\" must be text");
      }
      std::string text_value(value.get_string());
      if (auto field = leadFieldFromName(name)) {
        lead.field(*field) = std::move(text_value);
      } else if (name.rfind("field:", 0) == 0 && name.size() > 6 &&
                 name.find_first_not_of("0123456789", 6) == std::string::npos && name.size() < 15) {
        lead.custom[std::stoi(name.substr(6))] = std::move(text_value);
      } else {
        return fail(
            ErrorCode::kInvalidArgument,
            where + ": \"" + name +
                "\" is not a lead field (referenceid, name, "
                "name2, address, city, postalcode, phonenum, campaignid, listid, field:ID)");
      }
    }
    store.add(std::move(lead));
  }
  return {};
}

}  // namespace

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
  if (!options.leads_path.empty()) {
    if (auto seeded = seedLeads(options.leads_path, leads); !seeded) {
      std::cerr << "callflow: --leads: " << seeded.error().message << '\n';
      return 2;
    }
  }
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
