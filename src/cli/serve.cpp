// `callflow serve`: the Lead Web API, the admin API, /healthz, /metrics and the web designer's
// files until SIGINT/SIGTERM.
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <functional>
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
  config.sip.limits.max_calls = options.max_calls;
  config.sip.limits.max_cps = options.max_cps;
  config.sip.limits.ban_s = options.ban_seconds;
  config.sip.limits.trusted = options.trusted;
  config.sip.media_timeout_s = options.media_timeout;
  config.transfer_allow = options.transfer_allow;
  if (auto per_source = config.sip.limits.setPerSource(options.per_source); !per_source) {
    std::cerr << "callflow serve: --per-source: " << per_source.error().message << '\n';
    return 2;
  }
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
  if (const char* allow_env = std::getenv("CALLFLOW_ALLOW")) config.allow_env = allow_env;
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
  // SIGTERM/SIGINT: drain. New calls get 503 with Retry-After and /healthz says "draining" at
  // once; live calls go on until they end or --drain-timeout passes, then get BYE. Then the
  // HTTP side stops accepting and closes its connections; requests already in a handler finish
  // (a watchdog ends that wait after kStopSeconds). A second signal skips the drain.
  constexpr int kStopSeconds = 10;
  std::mutex mutex;
  std::condition_variable wake;
  bool drained = false, forced = false;  // under mutex
  std::thread watchdog;
  bool stopping = false;  // loop thread
  boost::asio::signal_set signals(loop, SIGINT, SIGTERM);
  boost::asio::signal_set hangups(loop, SIGHUP);  // not a stop: flows are reloaded
  boost::asio::steady_timer drain_timer(loop);
  auto stop_now = [&](const std::string& why) {
    if (stopping) return;
    stopping = true;
    std::cerr << "callflow serve: " << why << '\n';
    signals.cancel();  // nothing left waiting: run() returns once the connections are closed
    hangups.cancel();
    drain_timer.cancel();
    (*app)->stop();
    std::lock_guard lock(mutex);
    watchdog = std::thread([&] {
      std::unique_lock lock(mutex);
      if (!wake.wait_for(lock, std::chrono::seconds(kStopSeconds), [&] { return drained; })) {
        forced = true;
        loop.stop();
      }
    });
  };
  bool draining = false;  // loop thread
  auto drain_deadline = std::chrono::steady_clock::now();
  std::function<void()> watch_drain = [&] {
    if (stopping) return;
    int live = (*app)->liveCalls();
    if (live == 0) {
      stop_now("no calls left; stopping");
      return;
    }
    if (std::chrono::steady_clock::now() >= drain_deadline) {
      stop_now("drain timeout: BYE to " + std::to_string(live) + " call(s) still live");
      return;
    }
    drain_timer.expires_after(std::chrono::milliseconds(100));
    drain_timer.async_wait([&](const boost::system::error_code& ec) {
      if (!ec) watch_drain();
    });
  };
  std::function<void(const boost::system::error_code&, int)> on_signal =
      [&](const boost::system::error_code& ec, int signal) {
        if (ec) return;
        const char* name = signal == SIGINT ? "SIGINT" : "SIGTERM";
        if (draining || stopping) {
          stop_now(std::string("second ") + name + ": BYE to every call now");
          return;
        }
        draining = true;
        drain_deadline = std::chrono::steady_clock::now() +
                         std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                             std::chrono::duration<double>(options.drain_timeout));
        (*app)->drain();
        std::cerr << "callflow serve: " << name << ": draining (" << (*app)->liveCalls()
                  << " live call(s), up to " << options.drain_timeout
                  << " s; new calls get 503; a second signal stops at once)\n";
        signals.async_wait(on_signal);
        watch_drain();
      };
  signals.async_wait(on_signal);
  std::function<void(const boost::system::error_code&, int)> on_hangup =
      [&](const boost::system::error_code& ec, int) {
        if (ec) return;
        if (stopping || draining) {
          std::cerr << "callflow serve: SIGHUP ignored while stopping\n";
        } else {
          std::cerr << "callflow serve: SIGHUP: reloading flows (live calls keep their "
                       "version)\n";
          (*app)->reloadFlows();
        }
        hangups.async_wait(on_hangup);
      };
  hangups.async_wait(on_hangup);
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
    std::cerr << "callflow serve: requests still running after " << kStopSeconds
              << " s; exiting without them\n";
    (*app)->flushDatabase();
    std::_Exit(1);
  }
  (*app).reset();
  std::cerr << "callflow serve: stopped\n";
  return 0;
}

}  // namespace callflow
