// callflow: the command line. `check` validates a flow, `run` simulates a call through it.
#include <CLI/CLI.hpp>
#include <csignal>
#include <iostream>

#include "cli/commands.h"

namespace {

// `callflow serve --config FILE`: TOML whose keys are serve's long options, with dashes or
// underscores (max_cps = 20, allow = ["127.0.0.1:8081"]), at the top or under [serve]. CLI11
// reads config files on the root command only, so every key without a section is serve's.
class ServeConfigFile : public CLI::ConfigTOML {
 public:
  std::vector<CLI::ConfigItem> from_config(std::istream& input) const override {
    std::vector<CLI::ConfigItem> items = CLI::ConfigTOML::from_config(input);
    for (CLI::ConfigItem& item : items) {
      if (item.parents.empty()) item.parents.push_back("serve");
      for (char& c : item.name) {
        if (c == '_') c = '-';
      }
    }
    return items;
  }
};

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  CLI::App app{"Callflow: an IVR server whose flows call your APIs mid-call."};
  app.require_subcommand(1);
  app.config_formatter(std::make_shared<ServeConfigFile>());
  app.set_config("--config", "",
                 "callflow serve: read options from this TOML file (max_cps = 20, "
                 "allow = [\"127.0.0.1:8081\"]); options on the command line win");
  app.allow_config_extras(CLI::config_extras_mode::error);

  callflow::CheckOptions check;
  CLI::App* check_command =
      app.add_subcommand("check", "Validate a flow; exit 2 with every problem");
  check_command->add_option("flow", check.flow_path, "Flow JSON file")->required();
  check_command->add_option("--secrets", check.secrets_path,
                            "Secrets file (NAME=value, mode 0600): also check the secrets used");
  check_command->add_option("--transfer-allow", check.transfer_allow,
                            "A pattern of the server's transfer allowlist (repeatable): fixed "
                            "Transfer targets that match none are errors");
  check_command->add_flag("--json", check.json, "Print the problems as JSON");

  callflow::RunOptions run;
  CLI::App* run_command =
      app.add_subcommand("run", "Simulate one call through a flow with a scripted caller");
  run_command->add_option("flow", run.flow_path, "Flow JSON file")->required();
  run_command->add_option("--from", run.from, "The caller's number (call.phonenum)");
  run_command->add_option("--to", run.to, "The number called (call.dnis)");
  run_command->add_option("--digits", run.digits,
                          "Keys per digit collection, comma-separated: \"123#,2\"");
  run_command->add_option("--hangup-at", run.hangup_at,
                          "The caller hangs up on entering this element");
  run_command->add_option("--leads", run.leads_path,
                          "JSON list of leads for the in-memory lead store (ids from 1001)");
  run_command->add_option("--db", run.db_path,
                          "Database file: leads from it, the call's record written to it");
  run_command->add_option("--country", run.country,
                          "Country code for national numbers (default 44)");
  run_command->add_option("--secrets", run.secrets_path, "Secrets file (NAME=value, mode 0600)");
  run_command->add_flag("--json", run.json, "Print the trace as one JSON object");
  run_command->add_option("--allow", run.allow,
                          "An address, CIDR or host[:port] ApiRequest may reach (repeatable)");
  run_command->add_option("--deny", run.deny,
                          "An address, CIDR or host[:port] ApiRequest may not reach (repeatable)");
  run_command->add_option("--ca-file", run.ca_file, "CA certificates for https (PEM)");
  run_command->add_option("--transfer-allow", run.transfer_allow,
                          "A pattern a Transfer's target must match (repeatable; none: any)");
  run_command->add_flag("--fail-transfers", run.fail_transfers,
                        "Transfers fail (to test a Transfer's error exit)");

  CLI::App* leads_command = app.add_subcommand("leads", "Leads in the database");
  leads_command->require_subcommand(1);
  callflow::LeadsImportOptions leads_import;
  CLI::App* import_command = leads_command->add_subcommand(
      "import", "Import leads from CSV (header: referenceid,name,…,phonenum,field:158)");
  import_command->add_option("csv", leads_import.csv_path, "CSV file")->required();
  import_command->add_option("--db", leads_import.db_path, "Database file")->capture_default_str();
  import_command->add_option("--country", leads_import.country, "Country code for national numbers")
      ->capture_default_str();
  import_command->add_flag("--json", leads_import.json, "Print the report as JSON");
  callflow::LeadsFindOptions leads_find;
  CLI::App* find_command =
      leads_command->add_subcommand("find", "Find leads by phone or reference");
  find_command->add_option("--phone", leads_find.phone, "Phone number, in any usual form");
  find_command->add_option("--reference", leads_find.reference, "Reference id");
  find_command->add_option("--db", leads_find.db_path, "Database file")->capture_default_str();
  find_command->add_option("--country", leads_find.country, "Country code for national numbers")
      ->capture_default_str();
  find_command->add_flag("--json", leads_find.json, "Print the leads as JSON");

  CLI::App* users_command = app.add_subcommand("users", "Users of the APIs");
  users_command->require_subcommand(1);
  callflow::UsersAddOptions users_add;
  CLI::App* add_user_command = users_command->add_subcommand("add", "Add a user");
  add_user_command->add_option("name", users_add.name, "User name")->required();
  add_user_command->add_option("--password", users_add.password,
                               "Password, 8 characters or more (or CALLFLOW_PASSWORD)");
  add_user_command->add_option("--role", users_add.role, "api, admin, supervisor or agent")
      ->required();
  add_user_command->add_option("--db", users_add.db_path, "Database file")->capture_default_str();

  CLI::App* calls_command = app.add_subcommand("calls", "Call records");
  calls_command->require_subcommand(1);
  callflow::CallsListOptions calls_list;
  CLI::App* list_calls_command =
      calls_command->add_subcommand("list", "Call records, newest first");
  list_calls_command->add_option("--db", calls_list.db_path, "Database file")
      ->capture_default_str();
  list_calls_command->add_option("--limit", calls_list.limit, "At most this many")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  list_calls_command->add_flag("--json", calls_list.json, "Print the records as JSON");

  callflow::ServeOptions serve;
  CLI::App* serve_command =
      app.add_subcommand("serve",
                         "Answer calls (--sip) and serve the Lead Web API, the admin API, "
                         "/healthz, /metrics and the web designer (--web)");
  serve_command->add_option("--db", serve.db_path, "Database file")->capture_default_str();
  serve_command->add_option("--http", serve.http, "Address of the HTTP side, HOST:PORT")
      ->capture_default_str();
  serve_command->add_option("--secrets", serve.secrets_path,
                            "Secrets file (NAME=value, mode 0600)");
  serve_command->add_option(
      "--flows", serve.flows_dir,
      "Deploy the flows of this directory at start (new versions when changed)");
  serve_command
      ->add_option("--sip", serve.sip, "Answer SIP calls on HOST:PORT (UDP and TCP), or \"off\"")
      ->capture_default_str();
  serve_command->add_option("--flow", serve.flow,
                            "The flow calls run: a flow file (deployed) or a deployed flow's name");
  serve_command->add_option("--route", serve.routes,
                            "NUMBER=FLOW: calls to NUMBER run FLOW, a file or name (repeatable)");
  serve_command->add_option("--prompts", serve.prompts_dir,
                            "Folder of the audio prompts (WAV, any rate) that phrases name; "
                            "the admin API uploads into it");
  serve_command->add_option("--web", serve.web_dir,
                            "Serve the web designer's built files from this folder (web/dist)");
  serve_command->fallthrough();  // --config FILE belongs to the root command (CLI11)
  serve_command->allow_config_extras(CLI::config_extras_mode::error);
  serve_command
      ->add_option("--max-calls,--max-concurrent-calls", serve.max_calls,
                   "Calls at once; past it a new call gets 503 with Retry-After")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  serve_command
      ->add_option("--max-cps", serve.max_cps,
                   "New calls per second; past it 503 with Retry-After (0: no limit)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1e6));
  serve_command
      ->add_option("--per-source", serve.per_source,
                   "REQUESTS/SECONDS one address may send out of dialog (e.g. 16/2); past it "
                   "the address is ignored for --ban-seconds (0: no limit)")
      ->capture_default_str();
  serve_command
      ->add_option("--ban-seconds", serve.ban_seconds,
                   "How long a source past --per-source is ignored")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 86400.0));
  serve_command->add_option("--trusted", serve.trusted,
                            "An address or CIDR range --per-source never limits, e.g. the "
                            "carrier's SBC (repeatable)");
  serve_command->add_option(
      "--transfer-allow", serve.transfer_allow,
      "A number or SIP URI pattern (* any run, ? one character) a Transfer may dial, e.g. "
      "\"+44163296????\" (repeatable; none: transfers are refused)");
  serve_command
      ->add_option("--media-timeout", serve.media_timeout,
                   "Seconds without RTP from an answered caller (not holding) before BYE; 0: "
                   "never")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 86400.0));
  serve_command
      ->add_option("--drain-timeout", serve.drain_timeout,
                   "On SIGTERM: seconds live calls may go on (new ones get 503) before BYE")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 86400.0));
  serve_command->add_option("--rtp-ports", serve.rtp_ports, "UDP ports for audio, MIN-MAX")
      ->capture_default_str();
  serve_command->add_flag("--inband-dtmf", serve.inband_dtmf,
                          "Hear DTMF tones in the audio of callers that send no RFC 4733 events");
  serve_command->add_option("--country", serve.country, "Country code for national numbers")
      ->capture_default_str();
  serve_command->add_option("--allow", serve.allow,
                            "An address, CIDR or host[:port] ApiRequest may reach (repeatable)");
  serve_command->add_option(
      "--deny", serve.deny,
      "An address, CIDR or host[:port] ApiRequest may not reach (repeatable)");
  serve_command->add_option("--ca-file", serve.ca_file, "CA certificates for https (PEM)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "callflow: " << e.what() << "\n(try callflow --help)\n";
    return 2;
  }
  if (check_command->parsed()) return callflow::runCheck(check);
  if (run_command->parsed()) return callflow::runRun(run);
  if (import_command->parsed()) return callflow::runLeadsImport(leads_import);
  if (find_command->parsed()) return callflow::runLeadsFind(leads_find);
  if (add_user_command->parsed()) return callflow::runUsersAdd(users_add);
  if (list_calls_command->parsed()) return callflow::runCallsList(calls_list);
  if (serve_command->parsed()) return callflow::runServe(serve);
  return 2;
}
