// ServerApp: `callflow serve` put together. It opens the database (one writer thread, a
// read-only connection for the HTTP loop, one for password checks), closes call records a
// previous run left open, deploys the flows of --flows DIR, and serves the Lead Web API, the
// admin API (with the prompts and TTS endpoints), /healthz, /metrics and the designer's files
// (--web) on one event loop.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "callflow/result.h"
#include "server/sip_calls.h"

namespace boost::asio {
class io_context;
}

namespace callflow {

struct ServeConfig {
  std::string db_path = "callflow.db";
  std::string http_host = "127.0.0.1";
  std::uint16_t http_port = 8080;
  std::string secrets_path;
  std::string flows_dir;
  std::string prompts_dir;  // --prompts: played by SIP calls, managed by the prompts API
  std::string web_dir;      // --web: the designer's built files (web/dist); empty: none
  std::string country = "44";
  // The outbound policy of ApiRequest (calls, test calls, test requests): --allow, --deny and
  // CALLFLOW_ALLOW's comma-separated rules, on top of the defaults (no private addresses).
  std::vector<std::string> allow;
  std::vector<std::string> deny;
  std::string allow_env;
  std::string ca_file;
  std::vector<std::string> transfer_allow;  // the transfer allowlist's patterns
  // SIP (`--sip`): off when sip.listen is empty. --flow and --route name files or flows.
  SipConfig sip;
  std::string sip_flow;
  std::vector<std::pair<std::string, std::string>> sip_routes;  // number, file or flow name
};

class ServerApp {
 public:
  // Everything up to listening; errors name what failed (the database, the address, a flow).
  // Start-up notes (database settings, deployed flows) go to stderr.
  static Result<std::unique_ptr<ServerApp>> start(boost::asio::io_context& loop,
                                                  const ServeConfig& config);
  ~ServerApp();

  std::uint16_t port() const;
  std::uint16_t sipPort() const;  // 0 without --sip
  // SIGTERM's first step: new calls get 503 with Retry-After and /healthz says "draining";
  // live calls and the HTTP side go on.
  void drain();
  int liveCalls() const;  // SIP calls in progress
  // Stops accepting and closes the connections; handlers already running finish. Live SIP
  // calls get BYE and end in the element they are in, writing their records ("shutdown").
  void stop();
  // SIGHUP: deploys the changed files of --flows again and puts the newest stored version of
  // every flow live. Calls already running keep the version they started with; a file with
  // errors is reported and the version before it stays. On the loop thread.
  void reloadFlows();
  // Blocks until the database writer has run every job queued so far.
  void flushDatabase();

  struct Parts;

 private:
  explicit ServerApp(std::unique_ptr<Parts> parts);
  std::unique_ptr<Parts> parts_;
};

}  // namespace callflow
