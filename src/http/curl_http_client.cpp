#include "http/curl_http_client.h"

#include <curl/curl.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <system_error>
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
  std::vector<std::pair<std::string, std::string>> received;  // the latest response's fields
  std::size_t header_bytes = 0;
  bool too_large = false;
  bool denied = false;
  bool host_allowed = false;
  bool finished = false;
  CURLcode result = CURLE_OK;
  char error_buffer[CURL_ERROR_SIZE] = {};
};

// A file descriptor libcurl uses: a connection we opened, or one of libcurl's own (its
// resolver's wake-up pipe).
struct Watched {
  bool owned = false;
  std::uint32_t generation = 0;
  int what = 0;             // CURL_POLL_*: what libcurl waits for now
  bool registered = false;  // in Impl::epoll
  bool in_armed = false;    // registered with EPOLLIN
  bool out_armed = false;   // registered with EPOLLOUT
};

}  // namespace

// libcurl's sockets wait in an epoll set of our own, level-triggered as libcurl expects, which
// the loop watches as one descriptor. Asio's own async_wait on a socket costs an epoll_ctl
// system call each time it is started (to re-arm its edge-triggered registration), i.e. one
// per request; here a connection is registered for input once and stays so while it sits in
// libcurl's cache between requests, so a request on a reused connection needs no epoll_ctl.
// Only unusual readiness costs one: an idle connection that the server closed is taken out
// of the set until libcurl wants it again; output is registered only while libcurl waits for
// it (connecting, a large body).
struct CurlHttpClient::Impl {
  Impl(asio::io_context& loop, HttpClientOptions options)
      : loop(loop), options(std::move(options)), timer(loop), sockets(loop) {}

  asio::io_context& loop;
  HttpClientOptions options;
  CURLM* multi = nullptr;
  asio::steady_timer timer;
  Clock::time_point deadline = Clock::time_point::max();  // libcurl's, when it wants a call
  bool timer_armed = false;
  bool due_now = false;
  int epoll = -1;
  asio::posix::stream_descriptor sockets;  // `epoll`, readable when a socket is ready
  bool sockets_waiting = false;            // an async_wait on `sockets` is pending
  std::uint64_t sockets_wait_id = 0;
  int wanted = 0;  // sockets libcurl waits for now (Watched::what != 0)
  std::unordered_map<int, Watched> watched;
  std::uint32_t next_generation = 1;
  int running = 0;
  std::vector<CURL*> idle_handles;  // easy handles kept for reuse (fewer large allocations)

  // The options every exchange has; set once per handle, and again after a reset.
  void setCommonOptions(CURL* easy) {
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(easy, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);  // send() follows, checking each hop
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 2L);
    if (!options.ca_file.empty()) curl_easy_setopt(easy, CURLOPT_CAINFO, options.ca_file.c_str());
    curl_easy_setopt(easy, CURLOPT_PROXY, "");  // no proxy from the environment
    // CRM answers are small: a 1 KiB receive buffer instead of 16 KiB keeps a waiting call
    // under 16 KiB (docs/PERFORMANCE.md); a 1 MiB answer then takes more reads, not more time
    // to speak of.
    curl_easy_setopt(easy, CURLOPT_BUFFERSIZE, 1024L);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &Impl::onWrite);
    curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, &Impl::onHeader);
    curl_easy_setopt(easy, CURLOPT_OPENSOCKETFUNCTION, &Impl::onOpenSocket);
    curl_easy_setopt(easy, CURLOPT_CLOSESOCKETFUNCTION, &Impl::onCloseSocket);
    curl_easy_setopt(easy, CURLOPT_CLOSESOCKETDATA, this);
  }

  CURL* takeHandle() {
    if (idle_handles.empty()) {
      CURL* easy = curl_easy_init();
      if (easy != nullptr) setCommonOptions(easy);
      return easy;
    }
    CURL* easy = idle_handles.back();
    idle_handles.pop_back();
    return easy;
  }
  // `clean`: the exchange set only the options every exchange sets again (a GET without a
  // body) and left nothing behind (no redirect); else the handle is reset first.
  void giveBack(CURL* easy, bool clean) {
    constexpr std::size_t kMaxIdle = 1024;
    if (idle_handles.size() >= kMaxIdle) {
      curl_easy_cleanup(easy);
      return;
    }
    if (!clean) {
      curl_easy_reset(easy);
      setCommonOptions(easy);
    }
    idle_handles.push_back(easy);
  }

  // --- the epoll set -----------------------------------------------------------------------------

  void control(int fd, Watched& w, bool in, bool out) {
    epoll_event event{};
    event.events = (in ? std::uint32_t{EPOLLIN} : 0u) | (out ? std::uint32_t{EPOLLOUT} : 0u);
    event.data.u64 = (std::uint64_t{w.generation} << 32) | static_cast<std::uint32_t>(fd);
    if (!w.registered) {
      if (::epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &event) != 0 && errno == EEXIST) {
        ::epoll_ctl(epoll, EPOLL_CTL_MOD, fd, &event);
      }
      w.registered = true;
    } else {
      ::epoll_ctl(epoll, EPOLL_CTL_MOD, fd, &event);
    }
    w.in_armed = in;
    w.out_armed = out;
  }

  void unregister(int fd, Watched& w) {
    if (!w.registered) return;
    epoll_event event{};
    ::epoll_ctl(epoll, EPOLL_CTL_DEL, fd, &event);
    w.registered = w.in_armed = w.out_armed = false;
  }

  Watched& watch(int fd, bool owned) {
    auto [it, added] = watched.try_emplace(fd);
    if (added || (owned && !it->second.owned)) {
      // New, or a number libcurl reused after closing its own descriptor without telling us.
      if (!added) forget(fd), it = watched.try_emplace(fd).first;
      it->second.owned = owned;
      it->second.generation = next_generation++;
    }
    return it->second;
  }

  void setWhat(Watched& w, int what) {
    wanted += (what != 0) - (w.what != 0);
    w.what = what;
  }

  void forget(int fd) {
    auto it = watched.find(fd);
    if (it == watched.end()) return;
    unregister(fd, it->second);
    setWhat(it->second, 0);
    watched.erase(it);
  }

  // Keeps one wait on the epoll set while libcurl waits for any socket, none otherwise (so
  // the loop can end when nothing else is pending).
  void updateWait() {
    if (wanted > 0 && !sockets_waiting) {
      sockets_waiting = true;
      sockets.async_wait(asio::posix::stream_descriptor::wait_read,
                         [this, id = ++sockets_wait_id](boost::system::error_code ec) {
                           if (ec) return;  // cancelled below, or the client is going away
                           if (id == sockets_wait_id) sockets_waiting = false;
                           onSocketsReady();
                           updateWait();
                         });
    } else if (wanted == 0 && sockets_waiting) {
      sockets_waiting = false;
      ++sockets_wait_id;  // a wait that completed before this cancel is not the current one
      boost::system::error_code ignored;
      sockets.cancel(ignored);
    }
  }

  void onSocketsReady() {
    constexpr int kBatch = 256;
    epoll_event events[kBatch];
    int n = ::epoll_wait(epoll, events, kBatch, 0);
    for (int i = 0; i < n; ++i) {
      int fd = static_cast<int>(static_cast<std::uint32_t>(events[i].data.u64));
      auto generation = static_cast<std::uint32_t>(events[i].data.u64 >> 32);
      auto it = watched.find(fd);
      if (it == watched.end() || it->second.generation != generation) continue;  // closed since
      Watched& w = it->second;
      std::uint32_t ready = events[i].events;
      int action = 0;
      if ((ready & (EPOLLIN | EPOLLHUP | EPOLLERR)) != 0 && (w.what & CURL_POLL_IN) != 0) {
        action |= CURL_CSELECT_IN;
      }
      if ((ready & (EPOLLOUT | EPOLLHUP | EPOLLERR)) != 0 && (w.what & CURL_POLL_OUT) != 0) {
        action |= CURL_CSELECT_OUT;
      }
      if (action == 0) {
        // Ready for nothing libcurl waits for: an idle connection the server closed (or that
        // got stray bytes), or a readiness this batch fetched before libcurl changed what it
        // waits for. Level-triggered, it would be reported again and again: stop watching that
        // direction (only that one) until libcurl wants it again, and a hang-up or an error,
        // which cannot be masked, altogether (libcurl then finds out for itself).
        if ((ready & (EPOLLHUP | EPOLLERR)) != 0) {
          unregister(fd, w);
        } else {
          bool in = w.in_armed && (ready & EPOLLIN) == 0;
          bool out = w.out_armed && (ready & EPOLLOUT) == 0;
          if (in != w.in_armed || out != w.out_armed) control(fd, w, in, out);
        }
        continue;
      }
      if ((ready & EPOLLERR) != 0) action |= CURL_CSELECT_ERR;
      curl_multi_socket_action(multi, fd, action, &running);
    }
    collect();
  }

  void onTimer() {
    curl_multi_socket_action(multi, CURL_SOCKET_TIMEOUT, 0, &running);
    collect();
    updateWait();
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
      Watched& w = it->second;
      if (!w.owned) {
        self->forget(fd);  // libcurl closes it itself
      } else {
        // A connection going back to libcurl's cache: it stays registered for input, so the
        // next request on it needs no system call here.
        self->setWhat(w, 0);
        if (w.out_armed) self->control(fd, w, w.in_armed, false);
      }
      return 0;
    }
    Watched& w = self->watch(fd, false);
    self->setWhat(w, what);
    bool in = (what & CURL_POLL_IN) != 0 || (w.owned && w.in_armed);
    bool out = (what & CURL_POLL_OUT) != 0;
    if (!w.registered || in != w.in_armed || out != w.out_armed) self->control(fd, w, in, out);
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
    int port = 0;
    if (address->family == AF_INET) {
      const auto* in = reinterpret_cast<const sockaddr_in*>(&address->addr);
      bytes = reinterpret_cast<const std::uint8_t*>(&in->sin_addr);
      port = ntohs(in->sin_port);
    } else if (address->family == AF_INET6) {
      v6 = true;
      const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&address->addr);
      bytes = reinterpret_cast<const std::uint8_t*>(&in6->sin6_addr);
      port = ntohs(in6->sin6_port);
    } else {
      exchange->denied = true;
      return CURL_SOCKET_BAD;
    }
    if (!exchange->host_allowed && !exchange->policy.permits(v6, bytes, port)) {
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

  // One header line at a time, status lines included. A status line starts a new response (an
  // interim 1xx, then the final one), so only the last response's fields remain.
  static std::size_t onHeader(char* data, std::size_t size, std::size_t count, void* user) {
    auto* exchange = static_cast<Exchange*>(user);
    std::size_t bytes = size * count;
    std::string_view line(data, bytes);
    while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.remove_suffix(1);
    if (line.starts_with("HTTP/")) {
      exchange->received.clear();
      exchange->header_bytes = 0;
      return bytes;
    }
    auto trim = [](std::string_view s) {
      while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
      while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
      return s;
    };
    if (line.empty()) return bytes;
    if (line.front() == ' ' || line.front() == '\t') {  // obsolete line folding: more value
      std::string_view more = trim(line);
      if (!exchange->received.empty() &&
          exchange->header_bytes + more.size() + 1 <= HttpResponse::kMaxHeaderBytes) {
        exchange->received.back().second.append(" ").append(more);
        exchange->header_bytes += more.size() + 1;
      }
      return bytes;
    }
    std::size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return bytes;
    std::string_view name = line.substr(0, colon);
    std::string_view value = trim(line.substr(colon + 1));
    if (exchange->received.size() >= HttpResponse::kMaxHeaders ||
        exchange->header_bytes + name.size() + value.size() > HttpResponse::kMaxHeaderBytes) {
      return bytes;  // dropped: the response goes on
    }
    std::string lower(name);
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    exchange->received.emplace_back(std::move(lower), std::string(value));
    exchange->header_bytes += name.size() + value.size();
    return bytes;
  }
};

CurlHttpClient::CurlHttpClient(asio::io_context& loop, HttpClientOptions options)
    : impl_(std::make_unique<Impl>(loop, std::move(options))) {
  static const bool initialised = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
  (void)initialised;
  impl_->epoll = ::epoll_create1(EPOLL_CLOEXEC);
  if (impl_->epoll < 0) throw std::system_error(errno, std::generic_category(), "epoll_create1");
  impl_->sockets.assign(impl_->epoll);  // closes it when the client goes
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
  boost::system::error_code ignored;
  impl_->sockets.cancel(ignored);
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

  // The options that differ between exchanges; the rest are set once per handle.
  curl_easy_setopt(easy, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(easy, CURLOPT_PRIVATE, &exchange);
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS,
                   static_cast<long>(request.timeout_seconds * 1000 + 0.5));
  curl_easy_setopt(easy, CURLOPT_MAXFILESIZE_LARGE,
                   static_cast<curl_off_t>(request.max_response_bytes));
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, exchange.error_buffer);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, &exchange);
  curl_easy_setopt(easy, CURLOPT_HEADERDATA, &exchange);
  curl_easy_setopt(easy, CURLOPT_OPENSOCKETDATA, &exchange);
  bool clean = request.method == "GET" && request.body.empty();  // see giveBack()
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
    impl.updateWait();  // nothing left to wait for: let the loop end
    exchange.result = CURLE_ABORTED_BY_CALLBACK;
    clean = false;
  }

  long status = 0;
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
  char* location = nullptr;
  if (curl_easy_getinfo(easy, CURLINFO_REDIRECT_URL, &location) == CURLE_OK &&
      location != nullptr) {
    redirect = location;
    clean = false;
  }
  response.status = static_cast<int>(status);
  char* content_type = nullptr;
  if (curl_easy_getinfo(easy, CURLINFO_CONTENT_TYPE, &content_type) == CURLE_OK &&
      content_type != nullptr) {
    response.content_type = content_type;
  }
  if (exchange.finished) response.headers = std::move(exchange.received);
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
    case CURLE_ABORTED_BY_CALLBACK:  // only set above: nobody waits for the answer any more
      response.failure = HttpResponse::Failure::kOther;
      response.error = "cancelled: the call ended (hang-up or shutdown) before the answer came";
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
  impl.giveBack(easy, clean && exchange.result == CURLE_OK);
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
  constexpr int kMaxRedirects = 3;  // RELIABILITY.md 2.2: MAXREDIRS at most 3
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
      response.error = "more than 3 redirects";
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
