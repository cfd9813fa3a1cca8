#include <boost/asio/io_context.hpp>
#include <boost/json/serialize.hpp>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>

#include "cli/commands.h"
#include "elements/elements.h"
#include "engine/call_record.h"
#include "engine/secrets.h"
#include "engine/simulator.h"
#include "engine/trace_json.h"
#include "flow/json_text.h"
#include "http/curl_http_client.h"
#include "store/db_worker.h"
#include "store/lead_json.h"
#include "store/memory_lead_store.h"
#include "store/sqlite_lead_store.h"

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
    auto lead = leadFromJson(item);
    if (!lead) return fail(ErrorCode::kInvalidArgument, where + ": " + lead.error().message);
    store.add(std::move(*lead));
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
  if (!options.db_path.empty() && !options.leads_path.empty()) {
    std::cerr
        << "callflow: --db and --leads: give one (leads come from the database or the file)\n";
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
  MemoryLeadStore memory_leads(options.country);
  std::unique_ptr<DbWorker> database;
  std::unique_ptr<SqliteLeadStore> stored_leads;
  if (!options.db_path.empty()) {
    auto opened = openDatabaseOrReport(options.db_path, options.country);
    if (!opened) return 1;
    database = std::make_unique<DbWorker>(std::move(opened));
    stored_leads = std::make_unique<SqliteLeadStore>(*database, "flow " + flow.name);
    simulation.services.leads = stored_leads.get();
  } else {
    if (!options.leads_path.empty()) {
      if (auto seeded = seedLeads(options.leads_path, memory_leads); !seeded) {
        std::cerr << "callflow: --leads: " << seeded.error().message << '\n';
        return 2;
      }
    }
    simulation.services.leads = &memory_leads;
  }
  HttpClientOptions http_options;
  const char* allow_env = std::getenv("CALLFLOW_ALLOW");
  auto policy = OutboundPolicy::configured(options.allow, options.deny, allow_env ? allow_env : "");
  if (!policy) {
    std::cerr << "callflow: " << policy.error().message << '\n';
    return 2;
  }
  http_options.policy = std::move(*policy);
  http_options.ca_file = options.ca_file;
  boost::asio::io_context loop(1);
  CurlHttpClient http(loop, std::move(http_options));
  simulation.services.http = &http;
  TransferPolicy transfers{options.transfer_allow};
  if (!transfers.patterns.empty()) simulation.services.transfers = &transfers;
  simulation.loop = &loop;

  std::string uuid = newCallUuid();
  const CallClock clock = CallClock::now();
  Call call = simulate(flow, simulation);
  if (database) {
    // The record, redacted like the trace; written before the trace is printed, so a caller of
    // `callflow run` can read it from the database as soon as the command ends.
    CallRecord record = completedCallRecord(flow, call, uuid, clock.started_ms, clock.endedMs(), 0);
    Result<void> written;
    database->runSync([&](Database& db) { written = db.finishCall(record); });
    if (!written) {
      std::cerr << "callflow: the call record was not written: " << written.error().message << '\n';
      return 1;
    }
  }
  if (options.json) {
    std::cout << boost::json::serialize(traceToJson(flow, call)) << '\n';
  } else {
    std::cout << "flow " << flow.name << ":\n" << traceToText(flow, call);
  }
  return 0;
}

}  // namespace callflow
