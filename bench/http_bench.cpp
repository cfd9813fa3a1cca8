// ApiRequest throughput: the seed's flow (ApiRequest -> SetProperty -> TextToSpeech -> Hangup)
// as simulated calls, C at once on one loop, against a URL; and the baseline of a bare libcurl
// multi loop doing the same GETs with no engine around it. `bench/http_load.sh` runs both and
// wrk against the same nginx and prints the ratios.
//
//   http_bench engine URL CONCURRENCY SECONDS   -> calls/s and per-call latency percentiles
//   http_bench bare   URL CONCURRENCY SECONDS   -> requests/s and latency percentiles
//   http_bench client URL CONCURRENCY SECONDS   -> the same through CurlHttpClient alone
//   http_bench memory CALLS                     -> bytes per in-flight call (a server that
//                                                  accepts and never answers)
// Each prints one line of `key=value` pairs.
#include <curl/curl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "elements/elements.h"
#include "engine/runner.h"
#include "engine/script_channel.h"
#include "http/curl_http_client.h"

namespace {

using Clock = std::chrono::steady_clock;
using namespace callflow;

double percentile(std::vector<double>& values, double p) {
  if (values.empty()) return 0;
  std::size_t at = static_cast<std::size_t>(p * static_cast<double>(values.size() - 1));
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(at), values.end());
  return values[at];
}

std::string seedFlow(const std::string& url, double timeout) {
  return R"({"format": 1, "name": "Seed", "start": "GETAPI", "elements": [
    {"name": "GETAPI", "type": "ApiRequest", "action": "GET", "timeout": )" +
         std::to_string(timeout) + R"(,
     "url": ")" +
         url + R"(", "header": "Accept: application/json",
     "next": {"output": "SaveField", "error": "Bye"}},
    {"name": "SaveField", "type": "SetProperty",
     "destination": {"type": "IvrData", "name": "LeadField"},
     "source": {"type": "DataBin", "name": "GETAPI.Result.Value"}, "next": {"output": "Say"}},
    {"name": "Say", "type": "TextToSpeech", "text": "Your status is {{LeadField}}.",
     "next": {"output": "Bye"}},
    {"name": "Bye", "type": "Hangup", "resultCode": "COMPLETED"}]})";
}

std::shared_ptr<const Flow> loadOrDie(const std::string& text) {
  LoadedFlow loaded = loadFlow(text, elementTypes());
  if (!loaded.flow) {
    for (const auto& p : loaded.diagnostics.problems())
      std::fprintf(stderr, "%s\n", p.text().c_str());
    std::exit(2);
  }
  return loaded.flow;
}

OutboundPolicy loopbackAllowed() {
  OutboundPolicy policy = OutboundPolicy::defaults();
  policy.allow.push_back(*Cidr::parse("127.0.0.0/8"));
  return policy;
}

// C workers, each running calls back to back until the time is up.
int engine(const std::string& url, int concurrency, double seconds) {
  auto flow = loadOrDie(seedFlow(url, 10));
  boost::asio::io_context loop(1);
  CurlHttpClient http(loop, HttpClientOptions{loopbackAllowed(), ""});
  auto stop_at = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                    std::chrono::duration<double>(seconds));
  std::vector<double> latencies;
  long calls = 0, failed = 0;
  auto worker = [&]() -> boost::asio::awaitable<void> {
    while (Clock::now() < stop_at) {
      auto started = Clock::now();
      Call call = makeCall(*flow, "+441632960001", "+441632960999");
      call.services().http = &http;
      ScriptChannel line(CallerScript{});
      co_await runCall(*flow, call, line);
      latencies.push_back(
          std::chrono::duration<double, std::micro>(Clock::now() - started).count());
      ++calls;
      failed += call.trace().result_code != "COMPLETED" || call.trace().said.empty() ||
                call.trace().said[0] != "Your status is Gold.";
    }
  };
  auto started = Clock::now();
  for (int i = 0; i < concurrency; ++i)
    boost::asio::co_spawn(loop, worker(), boost::asio::detached);
  loop.run();
  double elapsed = std::chrono::duration<double>(Clock::now() - started).count();
  std::printf(
      "mode=engine concurrency=%d calls=%ld failed=%ld seconds=%.2f rate=%.0f "
      "p50_us=%.0f p99_us=%.0f\n",
      concurrency, calls, failed, elapsed, static_cast<double>(calls) / elapsed,
      percentile(latencies, 0.5), percentile(latencies, 0.99));
  return failed == 0 ? 0 : 1;
}

// CurlHttpClient alone, without the engine: C coroutines each sending the same GET back to
// back. Between `bare` and `engine`, it tells the client's share from the engine's.
int client(const std::string& url, int concurrency, double seconds) {
  boost::asio::io_context loop(1);
  CurlHttpClient http(loop, HttpClientOptions{loopbackAllowed(), ""});
  auto stop_at = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                    std::chrono::duration<double>(seconds));
  std::vector<double> latencies;
  long calls = 0, failed = 0;
  auto worker = [&]() -> boost::asio::awaitable<void> {
    while (Clock::now() < stop_at) {
      auto started = Clock::now();
      HttpRequest request;
      request.method = "GET";
      request.url = url;
      request.headers.emplace_back("Accept", "application/json");
      request.timeout_seconds = 10;
      HttpResponse response = co_await http.send(std::move(request));
      latencies.push_back(
          std::chrono::duration<double, std::micro>(Clock::now() - started).count());
      ++calls;
      failed += response.status != 200;
    }
  };
  auto started = Clock::now();
  for (int i = 0; i < concurrency; ++i)
    boost::asio::co_spawn(loop, worker(), boost::asio::detached);
  loop.run();
  double elapsed = std::chrono::duration<double>(Clock::now() - started).count();
  std::printf(
      "mode=client concurrency=%d calls=%ld failed=%ld seconds=%.2f rate=%.0f "
      "p50_us=%.0f p99_us=%.0f\n",
      concurrency, calls, failed, elapsed, static_cast<double>(calls) / elapsed,
      percentile(latencies, 0.5), percentile(latencies, 0.99));
  return failed == 0 ? 0 : 1;
}

std::size_t discard(char*, std::size_t size, std::size_t count, void*) { return size * count; }

// The same GETs on a bare multi handle: C easy handles, re-added as each finishes.
int bare(const std::string& url, int concurrency, double seconds) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  CURLM* multi = curl_multi_init();
  curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS, 256L);  // as CurlHttpClient
  curl_slist* headers = curl_slist_append(nullptr, "Accept: application/json");
  std::vector<CURL*> handles;
  std::vector<Clock::time_point> started(static_cast<std::size_t>(concurrency));
  for (int i = 0; i < concurrency; ++i) {
    CURL* easy = curl_easy_init();
    curl_easy_setopt(easy, CURLOPT_URL, url.c_str());
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &discard);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, 10000L);  // the same deadline as the element's
    curl_easy_setopt(easy, CURLOPT_PRIVATE, reinterpret_cast<void*>(static_cast<intptr_t>(i)));
    handles.push_back(easy);
    started[static_cast<std::size_t>(i)] = Clock::now();
    curl_multi_add_handle(multi, easy);
  }
  auto begin = Clock::now();
  auto stop_at =
      begin + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  long done = 0, failed = 0;
  std::vector<double> latencies;
  int running = concurrency;
  while (running > 0) {
    curl_multi_perform(multi, &running);
    int left = 0;
    while (CURLMsg* message = curl_multi_info_read(multi, &left)) {
      if (message->msg != CURLMSG_DONE) continue;
      CURL* easy = message->easy_handle;
      void* slot = nullptr;
      curl_easy_getinfo(easy, CURLINFO_PRIVATE, &slot);
      auto index = static_cast<std::size_t>(reinterpret_cast<intptr_t>(slot));
      latencies.push_back(
          std::chrono::duration<double, std::micro>(Clock::now() - started[index]).count());
      ++done;
      failed += message->data.result != CURLE_OK;
      curl_multi_remove_handle(multi, easy);
      if (Clock::now() < stop_at) {
        started[index] = Clock::now();
        curl_multi_add_handle(multi, easy);
        ++running;
      }
    }
    if (running > 0) curl_multi_poll(multi, nullptr, 0, 100, nullptr);
  }
  double elapsed = std::chrono::duration<double>(Clock::now() - begin).count();
  for (CURL* easy : handles) curl_easy_cleanup(easy);
  curl_slist_free_all(headers);
  curl_multi_cleanup(multi);
  std::printf(
      "mode=bare concurrency=%d calls=%ld failed=%ld seconds=%.2f rate=%.0f "
      "p50_us=%.0f p99_us=%.0f\n",
      concurrency, done, failed, elapsed, static_cast<double>(done) / elapsed,
      percentile(latencies, 0.5), percentile(latencies, 0.99));
  return failed == 0 ? 0 : 1;
}

long residentKiB() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return 0;
}

// N calls waiting in ApiRequest on a listener that never accepts: what one waiting call costs.
int memory(int calls) {
  int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (::bind(listener, reinterpret_cast<sockaddr*>(&address), length) != 0 ||
      ::listen(listener, 65535) != 0 ||
      ::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    std::perror("listen");
    return 1;
  }
  std::string url = "http://127.0.0.1:" + std::to_string(ntohs(address.sin_port)) + "/never";
  auto flow = loadOrDie(seedFlow(url, 3));
  boost::asio::io_context loop(1);
  CurlHttpClient http(loop, HttpClientOptions{loopbackAllowed(), ""});
  // Warm up the allocator and libcurl with a first batch, then measure a second one.
  std::vector<std::unique_ptr<Call>> held;
  std::vector<std::unique_ptr<ScriptChannel>> lines;
  auto spawn = [&](int n) {
    for (int i = 0; i < n; ++i) {
      held.push_back(std::make_unique<Call>(makeCall(*flow, "+441632960001", "")));
      held.back()->services().http = &http;
      lines.push_back(std::make_unique<ScriptChannel>(CallerScript{}));
      boost::asio::co_spawn(loop, runCall(*flow, *held.back(), *lines.back()),
                            boost::asio::detached);
    }
  };
  auto settle = [&] {
    boost::asio::steady_timer pause(loop, std::chrono::milliseconds(1000));
    pause.async_wait([](boost::system::error_code) {});
    loop.run_one_for(std::chrono::milliseconds(1));
    auto until = Clock::now() + std::chrono::milliseconds(1000);
    while (Clock::now() < until) loop.run_one_for(std::chrono::milliseconds(10));
  };
  spawn(100);
  settle();
  long before = residentKiB();
  spawn(calls);
  settle();
  long after = residentKiB();
  std::printf("mode=memory calls=%d rss_before_kib=%ld rss_after_kib=%ld bytes_per_call=%.0f\n",
              calls, before, after, (after - before) * 1024.0 / calls);
  loop.run();  // the calls time out after 3 s and end
  ::close(listener);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "engine" && argc == 5) return engine(argv[2], std::stoi(argv[3]), std::stod(argv[4]));
  if (mode == "bare" && argc == 5) return bare(argv[2], std::stoi(argv[3]), std::stod(argv[4]));
  if (mode == "client" && argc == 5) return client(argv[2], std::stoi(argv[3]), std::stod(argv[4]));
  if (mode == "memory" && argc == 3) return memory(std::stoi(argv[2]));
  std::fprintf(
      stderr,
      "usage: http_bench engine|bare|client URL CONCURRENCY SECONDS | http_bench memory CALLS\n");
  return 2;
}
