#include "http/curl_http_client.h"

#include <curl/curl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <cstdio>
#include <unordered_map>

namespace callflow {
namespace {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

std::string formatSeconds(double seconds) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%g s", seconds);
  return buffer;
}

// One exchange in flight; owned by the coroutine that sent it.
struct Exchange {
  Exchange(asio::io_context& loop, const OutboundPolicy& policy)
      : done(loop, asio::steady_timer::time_point::max()), policy(policy) {}

  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  asio::steady_timer done;  // cancelled when the exchange ends
  const OutboundPolicy& policy;
  CurlHttpClient::Impl* impl = nullptr;
  std::string body;
  std::size_t max_bytes = 0;
  bool too_large = false;
  bool denied = false;
  bool host_allowed = false;
  bool finished = false;
  CURLcode result = CURLE_OK;
  char error_buffer[CURL_ERROR_SIZE] = {};
};

// A file descriptor libcurl asked us to watch.
struct Watched {
  Watched(asio::io_context& loop, int fd, bool owned, std::uint64_t generation)
      : descriptor(loop, fd), owned(owned), generation(generation) {}
  asio::posix::stream_descriptor descriptor;
  bool owned;  // opened by us (a connection); else libcurl's own (its resolver's wake-up pipe)
  std::uint64_t generation;
  int what = 0;  // CURL_POLL_*
  bool reading = false;
  bool writing = false;
};

}  // namespace

struct CurlHttpClient::Impl {
  Impl(asio::io_context& loop, HttpClientOptions options)
      : loop(loop), options(std::move(options)), timer(loop) {}

  asio::io_context& loop;
  HttpClientOptions options;
  CURLM* multi = nullptr;
  asio::steady_timer timer;
  Clock::time_point deadline = Clock::time_point::max();  // libcurl's, when it wants a call
  bool timer_armed = false;
  bool due_now = false;
  std::unordered_map<int, std::unique_ptr<Watched>> watched;
  std::uint64_t next_generation = 1;
  int running = 0;
  std::vector<CURL*> idle_handles;  // easy handles kept for reuse (fewer large allocations)

  CURL* takeHandle() {
    if (idle_handles.empty()) return curl_easy_init();
    CURL* easy = idle_handles.back();
    idle_handles.pop_back();
    curl_easy_reset(easy);
    return easy;
  }
  void giveBack(CURL* easy) {
    constexpr std::size_t kMaxIdle = 1024;
    if (idle_handles.size() < kMaxIdle) {
      idle_handles.push_back(easy);
    } else {
      curl_easy_cleanup(easy);
    }
  }

  Watched& watch(int fd, bool owned) {
    auto& slot = watched[fd];
    if (!slot) slot = std::make_unique<Watched>(loop, fd, owned, next_generation++);
    return *slot;
  }

  void forget(int fd) {
    auto it = watched.find(fd);
    if (it == watched.end()) return;
    boost::system::error_code ignored;
    it->second->descriptor.cancel(ignored);
    it->second->descriptor.release();  // libcurl or closeSocket closes the descriptor
    watched.erase(it);
  }

  void arm(int fd) {
    auto it = watched.find(fd);
    if (it == watched.end()) return;
    Watched& w = *it->second;
    if ((w.what & CURL_POLL_IN) != 0 && !w.reading) {
      w.reading = true;
      w.descriptor.async_wait(asio::posix::stream_descriptor::wait_read,
                              [this, fd, generation = w.generation](boost::system::error_code ec) {
                                ready(fd, generation, CURL_CSELECT_IN, ec);
                              });
    }
    if ((w.what & CURL_POLL_OUT) != 0 && !w.writing) {
      w.writing = true;
      w.descriptor.async_wait(asio::posix::stream_descriptor::wait_write,
                              [this, fd, generation = w.generation](boost::system::error_code ec) {
                                ready(fd, generation, CURL_CSELECT_OUT, ec);
                              });
    }
  }

  void ready(int fd, std::uint64_t generation, int direction, boost::system::error_code ec) {
    auto it = watched.find(fd);
    if (it == watched.end() || it->second->generation != generation) return;
    Watched& w = *it->second;
    (direction == CURL_CSELECT_IN ? w.reading : w.writing) = false;
    if (ec) {
      // Cancelled: libcurl changed what it waits for, and cancel() stops both directions.
      // Wait again for whatever it still wants, or that wake-up would be lost.
      arm(fd);
      return;
    }
    int wanted = direction == CURL_CSELECT_IN ? CURL_POLL_IN : CURL_POLL_OUT;
    if ((w.what & wanted) == 0) return;
    curl_multi_socket_action(multi, fd, direction, &running);
    collect();
    arm(fd);  // still wanted? (looked up again: the action may have closed it)
  }

  void onTimer() {
    curl_multi_socket_action(multi, CURL_SOCKET_TIMEOUT, 0, &running);
    collect();
  }

  // Wakes the coroutine of every exchange libcurl has finished.
  void collect() {
    int left = 0;
    while (CURLMsg* message = curl_multi_info_read(multi, &left)) {
      if (message->msg != CURLMSG_DONE) continue;
      Exchange* exchange = nullptr;
      curl_easy_getinfo(message->easy_handle, CURLINFO_PRIVATE, &exchange);
      exchange->result = message->data.result;
      exchange->finished = true;
      curl_multi_remove_handle(multi, message->easy_handle);
      exchange->done.cancel();
    }
  }

  // --- libcurl callbacks -----------------------------------------------------------------------

  static int onSocket(CURL*, curl_socket_t fd, int what, void* user, void*) {
    auto* self = static_cast<Impl*>(user);
    if (what == CURL_POLL_REMOVE) {
      auto it = self->watched.find(fd);
      if (it == self->watched.end()) return 0;
      if (it->second->owned) {
        it->second->what = 0;
        boost::system::error_code ignored;
        it->second->descriptor.cancel(ignored);
      } else {
        self->forget(fd);
      }
      return 0;
    }
    Watched& w = self->watch(fd, false);
    w.what = what;
    if ((what & CURL_POLL_IN) == 0 && w.reading) w.descriptor.cancel();
    if ((what & CURL_POLL_OUT) == 0 && w.writing) w.descriptor.cancel();
    self->arm(fd);
    return 0;
  }

  // libcurl moves its timeout after almost every action. Re-arming an Asio timer each time
  // costs a timerfd_settime system call (a third of the CPU under load when done naively), so
  // the timer is re-armed only when the deadline comes earlier; a later one is picked up when
  // the timer fires. "Now" (0 ms) is a post, not a timer.
  static int onTimerChange(CURLM*, long timeout_ms, void* user) {
    auto* self = static_cast<Impl*>(user);
    if (timeout_ms < 0) {  // nothing to time: libcurl is idle (rare under load)
      self->deadline = Clock::time_point::max();
      if (self->timer_armed) {
        self->timer_armed = false;
        self->timer.cancel();  // and let the loop end when nothing else is pending
      }
      return 0;
    }
    if (timeout_ms == 0) {
      self->deadline = Clock::time_point::max();
      if (!self->due_now) {
        self->due_now = true;
        asio::post(self->loop, [self] {
          self->due_now = false;
          self->onTimer();
        });
      }
      return 0;
    }
    self->deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    if (!self->timer_armed || self->timer.expiry() > self->deadline) self->armTimer();
    return 0;
  }

  void armTimer() {
    timer_armed = true;
    timer.expires_at(deadline);
    timer.async_wait([this](boost::system::error_code ec) {
      if (ec) return;  // re-armed for an earlier deadline; that wait owns the timer now
      timer_armed = false;
      if (deadline == Clock::time_point::max()) return;
      if (Clock::now() < deadline) {
        armTimer();  // the deadline moved later while we waited
        return;
      }
      deadline = Clock::time_point::max();
      onTimer();
    });
  }

  static curl_socket_t onOpenSocket(void* user, curlsocktype, curl_sockaddr* address) {
    auto* exchange = static_cast<Exchange*>(user);
    const std::uint8_t* bytes = nullptr;
    bool v6 = false;
    if (address->family == AF_INET) {
      bytes = reinterpret_cast<const std::uint8_t*>(
          &reinterpret_cast<const sockaddr_in*>(&address->addr)->sin_addr);
    } else if (address->family == AF_INET6) {
      v6 = true;
      bytes = reinterpret_cast<const std::uint8_t*>(
          &reinterpret_cast<const sockaddr_in6*>(&address->addr)->sin6_addr);
    } else {
      exchange->denied = true;
      return CURL_SOCKET_BAD;
    }
    if (!exchange->host_allowed && !exchange->policy.permits(v6, bytes)) {
      exchange->denied = true;
      return CURL_SOCKET_BAD;
    }
    int fd = ::socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
    if (fd < 0) return CURL_SOCKET_BAD;
    exchange->impl->watch(fd, true);
    return fd;
  }

  static int onCloseSocket(void* user, curl_socket_t fd) {
    auto* self = static_cast<Impl*>(user);
    self->forget(fd);
    return ::close(fd);
  }

  static std::size_t onWrite(char* data, std::size_t size, std::size_t count, void* user) {
    auto* exchange = static_cast<Exchange*>(user);
    std::size_t bytes = size * count;
    if (exchange->body.size() + bytes > exchange->max_bytes) {
      exchange->too_large = true;
      return 0;  // makes libcurl stop with CURLE_WRITE_ERROR
    }
    exchange->body.append(data, bytes);
    return bytes;
  }
};

CurlHttpClient::CurlHttpClient(asio::io_context& loop, HttpClientOptions options)
    : impl_(std::make_unique<Impl>(loop, std::move(options))) {
  static const bool initialised = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
  (void)initialised;
  impl_->multi = curl_multi_init();
  curl_multi_setopt(impl_->multi, CURLMOPT_SOCKETFUNCTION, &Impl::onSocket);
  curl_multi_setopt(impl_->multi, CURLMOPT_SOCKETDATA, impl_.get());
  curl_multi_setopt(impl_->multi, CURLMOPT_TIMERFUNCTION, &Impl::onTimerChange);
  curl_multi_setopt(impl_->multi, CURLMOPT_TIMERDATA, impl_.get());
  curl_multi_setopt(impl_->multi, CURLMOPT_MAX_HOST_CONNECTIONS, 256L);
}

CurlHttpClient::~CurlHttpClient() {
  impl_->timer.cancel();
  for (CURL* easy : impl_->idle_handles) curl_easy_cleanup(easy);
  curl_multi_cleanup(impl_->multi);  // closes cached connections through onCloseSocket
  for (auto& [fd, watched] : impl_->watched) watched->descriptor.release();
}

namespace {

// One request to one URL, no redirects followed. `host_allowed`: the policy allows the URL's
// host by name, so its addresses are not checked.
asio::awaitable<HttpResponse> sendOnce(CurlHttpClient::Impl& impl, const HttpRequest& request,
                                       bool host_allowed, std::string& redirect) {
  Exchange exchange(impl.loop, impl.options.policy);
  exchange.host_allowed = host_allowed;
  exchange.impl = &impl;
  exchange.max_bytes = request.max_response_bytes;
  CURL* easy = impl.takeHandle();
  exchange.easy = easy;
  HttpResponse response;
  if (easy == nullptr) {
    response.failure = HttpResponse::Failure::kOther;
    response.error = "out of memory";
    co_return response;
  }

  curl_easy_setopt(easy, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(easy, CURLOPT_PRIVATE, &exchange);
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(easy, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);  // send() follows, checking each hop
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS,
                   static_cast<long>(request.timeout_seconds * 1000 + 0.5));
  curl_easy_setopt(easy, CURLOPT_MAXFILESIZE_LARGE,
                   static_cast<curl_off_t>(request.max_response_bytes));
  curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 2L);
  if (!impl.options.ca_file.empty()) {
    curl_easy_setopt(easy, CURLOPT_CAINFO, impl.options.ca_file.c_str());
  }
  curl_easy_setopt(easy, CURLOPT_PROXY, "");  // no proxy from the environment
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, exchange.error_buffer);
  // CRM answers are small: a 1 KiB receive buffer instead of 16 KiB keeps a waiting call under
  // 16 KiB (docs/PERFORMANCE.md); a 1 MiB answer then takes more reads, not more time to speak of.
  curl_easy_setopt(easy, CURLOPT_BUFFERSIZE, 1024L);
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &CurlHttpClient::Impl::onWrite);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, &exchange);
  curl_easy_setopt(easy, CURLOPT_OPENSOCKETFUNCTION, &CurlHttpClient::Impl::onOpenSocket);
  curl_easy_setopt(easy, CURLOPT_OPENSOCKETDATA, &exchange);
  curl_easy_setopt(easy, CURLOPT_CLOSESOCKETFUNCTION, &CurlHttpClient::Impl::onCloseSocket);
  curl_easy_setopt(easy, CURLOPT_CLOSESOCKETDATA, &impl);
  if (request.method == "POST") {
    curl_easy_setopt(easy, CURLOPT_POST, 1L);
  } else if (request.method != "GET") {
    curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  }
  if (!request.body.empty() || request.method == "POST") {
    curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(request.body.size()));
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, request.body.data());
  }
  for (const auto& [name, value] : request.headers) {
    std::string line = value.empty() ? name + ";" : name + ": " + value;
    exchange.headers = curl_slist_append(exchange.headers, line.c_str());
  }
  if (!request.body.empty()) {
    exchange.headers = curl_slist_append(exchange.headers, "Expect:");  // no 100-continue wait
  }
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, exchange.headers);

  curl_multi_add_handle(impl.multi, easy);
  auto [ec] = co_await exchange.done.async_wait(asio::as_tuple(asio::use_awaitable));
  (void)ec;
  if (!exchange.finished) {  // the call went away (hang-up): stop the exchange
    curl_multi_remove_handle(impl.multi, easy);
    exchange.result = CURLE_ABORTED_BY_CALLBACK;
  }

  long status = 0;
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
  char* location = nullptr;
  if (curl_easy_getinfo(easy, CURLINFO_REDIRECT_URL, &location) == CURLE_OK &&
      location != nullptr) {
    redirect = location;
  }
  response.status = static_cast<int>(status);
  char* content_type = nullptr;
  if (curl_easy_getinfo(easy, CURLINFO_CONTENT_TYPE, &content_type) == CURLE_OK &&
      content_type != nullptr) {
    response.content_type = content_type;
  }
  switch (exchange.result) {
    case CURLE_OK:
      response.body = std::move(exchange.body);
      break;
    case CURLE_OPERATION_TIMEDOUT:
      response.failure = HttpResponse::Failure::kTimeout;
      response.error = "no complete answer within " + formatSeconds(request.timeout_seconds);
      break;
    case CURLE_WRITE_ERROR:
      if (!exchange.too_large) {
        response.failure = HttpResponse::Failure::kOther;
        response.error = curl_easy_strerror(exchange.result);
        break;
      }
      [[fallthrough]];
    case CURLE_FILESIZE_EXCEEDED:
      response.failure = HttpResponse::Failure::kTooLarge;
      response.error =
          "the response is larger than " + std::to_string(request.max_response_bytes) + " bytes";
      break;
    case CURLE_COULDNT_CONNECT:
      response.failure =
          exchange.denied ? HttpResponse::Failure::kPolicy : HttpResponse::Failure::kConnect;
      response.error =
          exchange.denied ? "the outbound policy denies that address" : "could not connect";
      break;
    case CURLE_COULDNT_RESOLVE_HOST:
      response.failure = HttpResponse::Failure::kConnect;
      response.error = "could not resolve the host";
      break;
    default:
      response.failure = HttpResponse::Failure::kOther;
      response.error = exchange.error_buffer[0] != '\0' ? exchange.error_buffer
                                                        : curl_easy_strerror(exchange.result);
      break;
  }
  if (response.failure != HttpResponse::Failure::kNone &&
      response.failure != HttpResponse::Failure::kTooLarge) {
    response.status = response.failure == HttpResponse::Failure::kOther ? response.status : 0;
  }
  impl.giveBack(easy);
  curl_slist_free_all(exchange.headers);
  co_return response;
}

// The host and port of an http(s) URL, through libcurl's own parser (the one that connects).
bool hostOf(const std::string& url, std::string& host, int& port) {
  CURLU* parsed = curl_url();
  char* h = nullptr;
  char* p = nullptr;
  bool ok = curl_url_set(parsed, CURLUPART_URL, url.c_str(), 0) == CURLUE_OK &&
            curl_url_get(parsed, CURLUPART_HOST, &h, 0) == CURLUE_OK &&
            curl_url_get(parsed, CURLUPART_PORT, &p, CURLU_DEFAULT_PORT) == CURLUE_OK;
  if (ok) {
    host = h;
    port = std::atoi(p);
  }
  curl_free(h);
  curl_free(p);
  curl_url_cleanup(parsed);
  return ok;
}

}  // namespace

asio::awaitable<HttpResponse> CurlHttpClient::send(HttpRequest request) {
  Impl& impl = *impl_;
  auto deadline = std::chrono::steady_clock::now() +
                  std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                      std::chrono::duration<double>(request.timeout_seconds));
  constexpr int kMaxRedirects = 5;
  for (int hop = 0;; ++hop) {
    const OutboundPolicy& policy = impl.options.policy;
    std::string host;
    int port = 0;
    bool has_host_rules = !policy.allow_hosts.empty() || !policy.deny_hosts.empty();
    if (has_host_rules && !hostOf(request.url, host, port)) {
      HttpResponse bad;
      bad.failure = HttpResponse::Failure::kOther;
      bad.error = "the URL is not valid";
      co_return bad;
    }
    auto verdict =
        has_host_rules ? policy.checkHost(host, port) : OutboundPolicy::Verdict::kCheckAddress;
    if (verdict == OutboundPolicy::Verdict::kDeny) {
      HttpResponse denied;
      denied.failure = HttpResponse::Failure::kPolicy;
      denied.error = "the outbound policy denies that host";
      co_return denied;
    }
    std::string redirect;
    HttpResponse response =
        co_await sendOnce(impl, request, verdict == OutboundPolicy::Verdict::kAllow, redirect);
    bool redirected = response.failure == HttpResponse::Failure::kNone && response.status >= 300 &&
                      response.status <= 399 && !redirect.empty();
    if (!request.follow_redirects || !redirected) co_return response;
    if (hop == kMaxRedirects) {
      response.failure = HttpResponse::Failure::kOther;
      response.error = "more than 5 redirects";
      co_return response;
    }
    // Each hop is a new request, checked again by host and by address, within the same deadline.
    if (response.status == 303 ||
        ((response.status == 301 || response.status == 302) && request.method == "POST")) {
      request.method = "GET";
      request.body.clear();
    }
    request.url = std::move(redirect);
    double left =
        std::chrono::duration<double>(deadline - std::chrono::steady_clock::now()).count();
    if (left <= 0) {
      response.failure = HttpResponse::Failure::kTimeout;
      response.error = "no complete answer in time";
      response.status = 0;
      co_return response;
    }
    request.timeout_seconds = left;
  }
}

}  // namespace callflow
