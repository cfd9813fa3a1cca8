// `callflow serve`: the Lead Web API, the admin API, /healthz, /metrics and the web designer's
// files until SIGINT/SIGTERM.
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <charconv>
#include <condition_variable>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <thread>

#include "cli/commands.h"
#include "server/server_app.h"

namespace callflow {
namespace {

// "HOST:PORT", "[v6]:PORT" or ":PORT" (all of 127.0.0.1).
bool parseHostPort(const std::string& text, std::string& host, std::uint16_t& port) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos) return false;
  host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host.empty()) host = "127.0.0.1";
  std::string_view digits(text.data() + colon + 1, text.size() - colon - 1);
  unsigned value = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() ||
      value > 65535) {
    return false;
  }
  port = static_cast<std::uint16_t>(value);
  return true;
}

}  // namespace

int runServe(const ServeOptions& options) {
  ServeConfig config;
  if (options.sip != "off") {
    std::string host;
    std::uint16_t port = 0;
    if (!parseHostPort(options.sip, host, port)) {
      std::cerr << "callflow serve: --sip: \"" << options.sip
                << "\" is not HOST:PORT (e.g. 127.0.0.1:5060) or off\n";
      return 2;
    }
    config.sip.listen = (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" +
                        std::to_string(port);
    if (options.flow.empty() && options.routes.empty()) {
      std::cerr << "callflow serve: --sip needs --flow FILE (the flow calls run) or --route\n";
      return 2;
    }
  }
  config.sip_flow = options.flow;
  for (const std::string& route : options.routes) {
    auto equals = route.find('=');
    if (equals == std::string::npos || equals == 0 || equals + 1 == route.size()) {
      std::cerr << "callflow serve: --route \"" << route << "\": give NUMBER=FLOW\n";
      return 2;
    }
    config.sip_routes.emplace_back(route.substr(0, equals), route.substr(equals + 1));
  }
  config.prompts_dir = options.prompts_dir;
  config.web_dir = options.web_dir;
  config.sip.max_calls = options.max_calls;
  config.sip.rtp_ports = options.rtp_ports;
  config.sip.inband_dtmf = options.inband_dtmf;
  config.db_path = options.db_path;
  if (!parseHostPort(options.http, config.http_host, config.http_port)) {
    std::cerr << "callflow serve: --http: \"" << options.http
              << "\" is not HOST:PORT (e.g. 127.0.0.1:8080)\n";
    return 2;
  }
  config.secrets_path = options.secrets_path;
  config.flows_dir = options.flows_dir;
  config.country = options.country;
  config.allow = options.allow;
  config.deny = options.deny;
  config.ca_file = options.ca_file;

  boost::asio::io_context loop(1);
  auto app = ServerApp::start(loop, config);
  if (!app) {
    std::cerr << "callflow serve: " << app.error().message << '\n';
    return app.error().code == ErrorCode::kInvalidArgument ? 2 : 1;
  }
  std::cerr << "callflow serve: listening on http://" << config.http_host << ':' << (*app)->port()
            << '\n';
  if ((*app)->sipPort() != 0) {
    std::cerr << "callflow serve: answering SIP calls on "
              << config.sip.listen.substr(0, config.sip.listen.rfind(':')) << ':'
              << (*app)->sipPort() << " (UDP and TCP)\n";
  }
  // SIGINT/SIGTERM: stop accepting and close the connections; requests already in a handler
  // finish (a test call's record is written), then run() returns. A watchdog ends the wait
  // after kDrainSeconds.
  constexpr int kDrainSeconds = 10;
  std::mutex mutex;
  std::condition_variable wake;
  bool drained = false, forced = false;  // under mutex
  std::thread watchdog;
  boost::asio::signal_set signals(loop, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int signal) {
    if (ec) return;
    std::cerr << "callflow serve: " << (signal == SIGINT ? "SIGINT" : "SIGTERM")
              << ", finishing the requests in progress\n";
    (*app)->stop();
    std::lock_guard lock(mutex);
    watchdog = std::thread([&] {
      std::unique_lock lock(mutex);
      if (!wake.wait_for(lock, std::chrono::seconds(kDrainSeconds), [&] { return drained; })) {
        forced = true;
        loop.stop();
      }
    });
  });
  loop.run();
  {
    std::lock_guard lock(mutex);
    drained = true;
  }
  wake.notify_all();
  if (watchdog.joinable()) watchdog.join();
  if (forced) {
    // Handlers still hold references into the server: do not destroy it under them. What the
    // database worker has queued (call records) is written first.
    std::cerr << "callflow serve: requests still running after " << kDrainSeconds
              << " s; exiting without them\n";
    (*app)->flushDatabase();
    std::_Exit(1);
  }
  (*app).reset();
  std::cerr << "callflow serve: stopped\n";
  return 0;
}

}  // namespace callflow
