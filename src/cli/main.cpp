// callflow: the command line. `check` validates a flow, `run` simulates a call through it.
#include <CLI/CLI.hpp>
#include <csignal>
#include <iostream>

#include "cli/commands.h"

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  CLI::App app{"Callflow: an IVR server whose flows call your APIs mid-call."};
  app.require_subcommand(1);

  callflow::CheckOptions check;
  CLI::App* check_command =
      app.add_subcommand("check", "Validate a flow; exit 2 with every problem");
  check_command->add_option("flow", check.flow_path, "Flow JSON file")->required();
  check_command->add_option("--secrets", check.secrets_path,
                            "Secrets file (NAME=value, mode 0600): also check the secrets used");
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
  run_command->add_option("--db", run.db_path, "Database file for leads and call records");
  run_command->add_option("--secrets", run.secrets_path, "Secrets file (NAME=value, mode 0600)");
  run_command->add_flag("--json", run.json, "Print the trace as one JSON object");
  run_command->add_option("--allow", run.allow,
                          "An address, CIDR or host[:port] ApiRequest may reach (repeatable)");
  run_command->add_option("--deny", run.deny,
                          "An address, CIDR or host[:port] ApiRequest may not reach (repeatable)");
  run_command->add_option("--ca-file", run.ca_file, "CA certificates for https (PEM)");
  run_command->add_flag("--fail-transfers", run.fail_transfers,
                        "Transfers fail (to test a Transfer's error exit)");

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
  return 2;
}
