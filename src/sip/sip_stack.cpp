#include "sip/sip_stack.h"

#include <arpa/inet.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/post.hpp>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <future>
#include <mutex>
#include <optional>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "sip/accept_guard.h"
#include "sip/libre.h"
#include "sip/sdp_media.h"

// libre 1.1.0 reads its timers' clock (tmr_jiffies) with gettimeofday(): a step of the wall
// clock (NTP, `date`) would fire every SIP timer at once, or hold them all for as long as it
// stepped back (RELIABILITY.md row P9). libre's own calls to it go through the PLT, so this
// definition in the program takes their place: milliseconds of the monotonic clock.
extern "C" uint64_t tmr_jiffies(void) {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<uint64_t>(now.tv_sec) * 1000 + static_cast<uint64_t>(now.tv_nsec) / 1000000;
}

namespace callflow::sip {

namespace asio = boost::asio;

namespace {

constexpr const char* kAllow = "Allow: INVITE, ACK, BYE, CANCEL, OPTIONS, NOTIFY\r\n";
constexpr const char* kContactUser = "callflow";
constexpr std::uint32_t kGuardMs = 100;  // how often AcceptGuard looks

std::string str(const pl& text) {
  return text.p == nullptr ? std::string() : std::string(text.p, text.l);
}

// The number in a SIP/tel URI as written in a header: "sip:+441234@host;user=phone" → "+441234".
std::string uriUser(const pl& uri_text) {
  std::string uri = str(uri_text);
  for (const char* scheme : {"sips:", "sip:", "tel:"}) {
    std::size_t n = std::strlen(scheme);
    if (uri.size() >= n && strncasecmp(uri.c_str(), scheme, n) == 0) {
      uri.erase(0, n);
      break;
    }
  }
  std::size_t end = uri.find_first_of("@;?>");
  if (end != std::string::npos) uri.erase(end);
  return uri;
}

const char* reasonPhrase(int status) {
  switch (status) {
    case 302:
      return "Moved Temporarily";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 480:
      return "Temporarily Unavailable";
    case 486:
      return "Busy Here";
    case 488:
      return "Not Acceptable Here";
    case 500:
      return "Server Internal Error";
    case 503:
      return "Service Unavailable";
    case 603:
      return "Decline";
    default:
      return status < 300 ? "OK" : "Rejected";
  }
}

// The final status in a NOTIFY's message/sipfrag body ("SIP/2.0 200 OK"), or 0 for a
// provisional or unreadable one.
int sipfragStatus(const sip_msg* msg) {
  if (msg == nullptr || msg->mb == nullptr) return 0;
  std::string body(reinterpret_cast<const char*>(mbuf_buf(msg->mb)), mbuf_get_left(msg->mb));
  if (body.rfind("SIP/2.0 ", 0) != 0 || body.size() < 11) return 0;
  int status = std::atoi(body.c_str() + 8);
  return status >= 200 && status <= 699 ? status : 0;
}

// A header value of digits only (blanks and folding around it allowed), at most `max`; -1
// otherwise.
long long digitsValue(pl value, long long max) {
  auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (value.l > 0 && blank(value.p[0])) {
    ++value.p;
    --value.l;
  }
  while (value.l > 0 && blank(value.p[value.l - 1])) --value.l;
  if (value.l == 0 || value.l > 12) return -1;
  long long n = 0;
  for (std::size_t i = 0; i < value.l; ++i) {
    if (value.p[i] < '0' || value.p[i] > '9') return -1;
    n = n * 10 + (value.p[i] - '0');
  }
  return n <= max ? n : -1;
}

// Whether a Request-URI's host is a name, an IPv4 address or a closed IPv6 reference (RFC 3261
// 25.1, RFC 5118 4.2). Read from the text: libre 1.1 decodes "sip:u@2001:db8::1" as host "2001"
// and "sip:u@[2001:db8::1" as host "[2001" without an error. Other schemes pass.
bool ruriHostValid(const sip_msg* msg) {
  if (pl_strcasecmp(&msg->uri.scheme, "sip") != 0 && pl_strcasecmp(&msg->uri.scheme, "sips") != 0) {
    return true;
  }
  std::string_view uri(msg->ruri.p != nullptr ? msg->ruri.p : "", msg->ruri.l);
  std::size_t colon = uri.find(':');
  if (colon == std::string_view::npos) return true;
  std::string_view rest = uri.substr(colon + 1);
  std::size_t at = rest.substr(0, rest.find('?')).find('@');  // the first, as libre reads it
  if (at != std::string_view::npos) rest = rest.substr(at + 1);
  std::string_view hostport = rest.substr(0, rest.find_first_of(";?/ \t"));
  if (hostport.empty() || hostport.front() != '[') {
    // A bare host: at most one colon (before the port), and no bracket.
    return std::count(hostport.begin(), hostport.end(), ':') <= 1 &&
           hostport.find_first_of("[]") == std::string_view::npos;
  }
  std::size_t close = hostport.find(']');
  if (close == std::string_view::npos) return false;
  std::string address(hostport.substr(1, close - 1));
  in6_addr bytes{};
  if (inet_pton(AF_INET6, address.c_str(), &bytes) != 1) return false;
  std::string_view port = hostport.substr(close + 1);
  if (port.empty()) return true;
  if (port.size() < 2 || port.size() > 6 || port.front() != ':') return false;
  return std::all_of(port.begin() + 1, port.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// What makes a request malformed past what libre's decoder checks (RFC 3261 8.1.1, 20, 18.3):
// a mandatory header missing or repeated, Max-Forwards or CSeq out of range, a Content-Length
// that is not one number, or (UDP) one larger than the body. Null when none of these.
const char* malformed(const sip_msg* msg) {
  for (sip_hdrid id : {SIP_HDR_CALL_ID, SIP_HDR_FROM, SIP_HDR_TO, SIP_HDR_CSEQ}) {
    std::uint32_t count = sip_msg_hdr_count(msg, id);
    if (count == 0) return "Missing Mandatory Header";
    if (count > 1) return "Repeated Header";
  }
  if (sip_msg_hdr_count(msg, SIP_HDR_VIA) == 0) return "Missing Via";
  if (!ruriHostValid(msg)) return "Bad Request-URI Host";
  if (sip_msg_hdr_count(msg, SIP_HDR_MAX_FORWARDS) > 1 ||
      (pl_isset(&msg->maxfwd) && digitsValue(msg->maxfwd, 255) < 0)) {
    return "Bad Max-Forwards";
  }
  if (const sip_hdr* cseq = sip_msg_hdr(msg, SIP_HDR_CSEQ)) {
    pl number = cseq->val;
    for (std::size_t i = 0; i < number.l; ++i) {
      char c = number.p[i];
      if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {  // folded lines too
        if (i > 0) {
          number.l = i;
          break;
        }
      }
    }
    if (digitsValue(number, 2147483647LL) < 0) return "Bad CSeq";  // below 2**31
  }
  std::uint32_t lengths = sip_msg_hdr_count(msg, SIP_HDR_CONTENT_LENGTH);
  if (lengths > 1) return "Repeated Content-Length";
  if (lengths == 1) {
    long long length = digitsValue(msg->clen, 1LL << 32);
    if (length < 0) return "Bad Content-Length";
    std::size_t body = msg->mb != nullptr ? mbuf_get_left(msg->mb) : 0;
    if (msg->tp == SIP_TRANSP_UDP && static_cast<unsigned long long>(length) > body) {
      return "Content-Length Larger Than The Body";
    }
  }
  return nullptr;
}

// Whether one Accept header's media ranges include application/sdp, application/* or */* with
// a q above 0 (RFC 3261 20.1). `arg` is the bool set when one does; true stops the walk.
bool acceptsSdpIn(const sip_hdr* hdr, const sip_msg*, void* arg) {
  auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  auto strip = [&](std::string_view text) {
    std::string out;
    for (char c : text) {
      if (!blank(c)) out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return out;
  };
  std::string_view list(hdr->val.p != nullptr ? hdr->val.p : "", hdr->val.l);
  while (!list.empty()) {
    std::size_t comma = list.find(',');
    std::string_view item = list.substr(0, comma);
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
    std::size_t semicolon = item.find(';');
    std::string range = strip(item.substr(0, semicolon));
    if (range != "application/sdp" && range != "application/*" && range != "*/*") continue;
    bool zero = false;  // q=0, q=0.0...: "not acceptable"
    while (semicolon != std::string_view::npos) {
      item = item.substr(semicolon + 1);
      semicolon = item.find(';');
      std::string param = strip(item.substr(0, semicolon));
      if (param.rfind("q=", 0) == 0 && param.size() > 2 && param[2] == '0' &&
          param.find_first_not_of("0.", 2) == std::string::npos) {
        zero = true;
      }
    }
    if (!zero) {
      *static_cast<bool*>(arg) = true;
      return true;
    }
  }
  return false;
}

// Whether the answer we give (an SDP body, in the 200 to an INVITE) is acceptable to the caller:
// no Accept header means application/sdp (RFC 3261 20.1), an empty one means nothing is.
bool acceptsSdp(const sip_msg* msg) {
  if (sip_msg_hdr(msg, SIP_HDR_ACCEPT) == nullptr) return true;
  bool found = false;
  (void)sip_msg_hdr_apply(msg, true, SIP_HDR_ACCEPT, &acceptsSdpIn, &found);
  return found;
}

// Whether every m= line of an SDP body has a port of at most 65535 ("m=audio 49170/2 ..." too;
// RFC 4566 5.14). libre 1.1 keeps the port's low 16 bits, and reads one that is not a number
// as 0 (a stream turned off).
bool mediaPortsValid(std::string_view sdp) {
  while (!sdp.empty()) {
    std::size_t end = sdp.find('\n');
    std::string_view line = sdp.substr(0, end);
    sdp = end == std::string_view::npos ? std::string_view() : sdp.substr(end + 1);
    if (line.substr(0, 2) != "m=") continue;
    std::size_t space = line.find(' ');
    if (space == std::string_view::npos) return false;
    std::string_view port = line.substr(space + 1);
    port = port.substr(0, port.find_first_of(" /\r"));
    if (port.empty() || port.size() > 5) return false;
    long value = 0;
    for (char c : port) {
      if (c < '0' || c > '9') return false;
      value = value * 10 + (c - '0');
    }
    if (value > 65535) return false;
  }
  return true;
}

// A malformed request (400), a CSeq whose method is not the request's (400), a request-URI
// scheme we do not serve (416) or a Require: we cannot meet (420), answered before anything
// else; true when it answered.
bool refused(struct ::sip* stack, const sip_msg* msg) {
  if (const char* why = malformed(msg)) {
    (void)sip_reply(stack, msg, 400, why);
    return true;
  }
  if (pl_cmp(&msg->cseq.met, &msg->met) != 0) {
    (void)sip_reply(stack, msg, 400, "CSeq Method Does Not Match");
    return true;
  }
  if (pl_strcasecmp(&msg->uri.scheme, "sip") != 0 && pl_strcasecmp(&msg->uri.scheme, "sips") != 0 &&
      pl_strcasecmp(&msg->uri.scheme, "tel") != 0) {
    (void)sip_reply(stack, msg, 416, "Unsupported URI Scheme");
    return true;
  }
  if (const sip_hdr* require = sip_msg_hdr(msg, SIP_HDR_REQUIRE)) {
    // We support no extension: every option required is unsupported.
    (void)sip_replyf(stack, msg, 420, "Bad Extension",
                     "Unsupported: %r\r\nContent-Length: 0\r\n\r\n", &require->val);
    return true;
  }
  return false;
}

}  // namespace

// One call's signalling, owned by the SIP thread.
struct Leg {
  SipStack::Impl* impl = nullptr;
  std::uint64_t id = 0;
  sipsess* sess = nullptr;
  sdp_session* sdp = nullptr;
  sdp_media* media = nullptr;
  sipsub* refer = nullptr;
  std::string local_ip;
  bool answered = false;
  bool delayed_offer = false;  // the INVITE had no SDP: we offer in the 200, the ACK answers
  bool refer_reported = false;
  std::uint32_t sdp_version = 1;
  std::uint16_t rtp_port = 0;
  MediaDescription media_now;  // what we send, as last agreed

  ~Leg() {
    mem_deref(refer);
    mem_deref(sess);  // sends BYE when answered and the caller has not hung up
    mem_deref(media);
    mem_deref(sdp);
  }
};

struct SipStack::Impl {
  SipOptions options;
  asio::any_io_executor worker;
  // The events target, cleared on the worker when the stack stops: a posted event that runs
  // later finds it null and does nothing.
  std::shared_ptr<CallEvents*> events;

  std::thread thread;
  std::atomic<int> active{0};
  std::uint16_t bound_port = 0;
  sa listen_addr{};

  // SIP thread state.
  struct ::sip* stack = nullptr;
  sipsess_sock* sessions = nullptr;
  sipevent_sock* subscriptions = nullptr;
  sip_lsnr* listener = nullptr;
  mqueue* wake = nullptr;
  std::unordered_map<std::uint64_t, std::unique_ptr<Leg>> legs;
  std::uint64_t next_id = 1;
  bool stopping = false;
  bool draining = false;
  std::optional<Admission> admission;  // set before the thread starts
  tmr stop_timer{};
  // SIP over TCP when no file descriptor is left: queued connections are closed rather than
  // left to spin libre's loop (row P8); checked every kGuardMs.
  AcceptGuard accept_guard;
  tmr guard_timer{};
  std::uint64_t guard_unreported = 0;  // closed since the last log line
  std::chrono::steady_clock::time_point guard_reported_at{};

  // Commands from other threads.
  std::mutex mutex;
  std::vector<std::function<void(Impl&)>> commands;

  void post(std::function<void(Impl&)> command) {
    bool first = false;
    {
      std::lock_guard lock(mutex);
      first = commands.empty();
      commands.push_back(std::move(command));
    }
    // One wake-up per batch. A full pipe (EAGAIN) means wake-ups are pending already.
    if (first && wake != nullptr) (void)mqueue_push(wake, 0, nullptr);
  }

  template <typename F>
  void emit(F f) {
    asio::post(worker, [target = events, f = std::move(f)]() mutable {
      if (*target != nullptr) f(**target);
    });
  }

  Leg* find(std::uint64_t id) {
    auto it = legs.find(id);
    return it == legs.end() ? nullptr : it->second.get();
  }
  void drop(std::uint64_t id) {
    if (legs.erase(id) > 0) active.fetch_sub(1);
  }

  // SIP thread entry points.
  static void onWake(int, void*, void* arg);
  static bool onRequest(const sip_msg* msg, void* arg);
  static void onInvite(const sip_msg* msg, void* arg);
  static int onOffer(mbuf** descp, const sip_msg* msg, void* arg);
  static int onAnswer(const sip_msg* msg, void* arg);
  static void onEstablished(const sip_msg* msg, void* arg);
  static void onClose(int err, const sip_msg*, void* arg);
  static void onReferNotify(struct ::sip* sip, const sip_msg* msg, void* arg);
  static void onReferClose(int err, const sip_msg* msg, const sipevent_substate* substate,
                           void* arg);
  static void onExit(void* arg);
  static void onStopTimeout(void* arg);
  static void onGuardTimer(void* arg);

  // Our half of the SDP: `offer` lists every format we take, an answer the chosen ones.
  mbuf* describe(Leg& leg, bool offer);
  void answer(std::uint64_t id, std::uint16_t port);
  void finish(std::uint64_t id, int status, const std::string& contact);
  void referTo(std::uint64_t id, const std::string& target);
  void shutdown();
};

namespace {

// The body of a message, as text (empty when it has none).
std::string_view bodyOf(const sip_msg* msg) {
  if (msg == nullptr || msg->mb == nullptr) return {};
  return std::string_view(reinterpret_cast<const char*>(mbuf_buf(msg->mb)), mbuf_get_left(msg->mb));
}

}  // namespace

mbuf* SipStack::Impl::describe(Leg& leg, bool offer) {
  const MediaDescription& m = leg.media_now;
  const char* direction = "sendrecv";
  if (!offer && !m.send) direction = "recvonly";  // the caller holds: we only listen
  std::string formats;
  std::string attributes;
  auto add = [&](int pt, const char* rtpmap) {
    formats += " " + std::to_string(pt);
    attributes += "a=rtpmap:" + std::to_string(pt) + " " + rtpmap + "\r\n";
  };
  if (offer) {
    add(0, "PCMU/8000");
    add(8, "PCMA/8000");
    add(101, "telephone-event/8000");
    attributes += "a=fmtp:101 0-15\r\n";
  } else {
    add(m.payload_type, m.payload_type == 0 ? "PCMU/8000" : "PCMA/8000");
    if (m.telephone_event_pt >= 0) {
      add(m.telephone_event_pt, "telephone-event/8000");
      attributes += "a=fmtp:" + std::to_string(m.telephone_event_pt) + " 0-15\r\n";
    }
  }
  std::string family = leg.local_ip.find(':') != std::string::npos ? "IP6" : "IP4";
  std::string text = "v=0\r\no=callflow " + std::to_string(leg.id) + " " +
                     std::to_string(leg.sdp_version++) + " IN " + family + " " + leg.local_ip +
                     "\r\ns=callflow\r\nc=IN " + family + " " + leg.local_ip +
                     "\r\nt=0 0\r\nm=audio " + std::to_string(leg.rtp_port) + " RTP/AVP" + formats +
                     "\r\n" + attributes + "a=ptime:20\r\na=" + direction + "\r\n";
  mbuf* mb = mbuf_alloc(text.size());
  if (mb == nullptr) return nullptr;
  (void)mbuf_write_mem(mb, reinterpret_cast<const uint8_t*>(text.data()), text.size());
  mbuf_set_pos(mb, 0);
  return mb;
}

void SipStack::Impl::onWake(int, void*, void* arg) {
  auto* impl = static_cast<Impl*>(arg);
  std::vector<std::function<void(Impl&)>> batch;
  {
    std::lock_guard lock(impl->mutex);
    batch.swap(impl->commands);
  }
  for (auto& command : batch) command(*impl);
}

// Requests no other listener took: OPTIONS is answered, the rest refused.
bool SipStack::Impl::onRequest(const sip_msg* msg, void* arg) {
  auto* impl = static_cast<Impl*>(arg);
  if (!pl_isset(&msg->to.tag) && pl_strcmp(&msg->met, "ACK") != 0 &&
      impl->admission->request(addressText(msg->src), std::chrono::steady_clock::now()) ==
          Verdict::kDrop) {
    return true;  // a banned source: no answer at all
  }
  if (pl_strcmp(&msg->met, "OPTIONS") == 0) {
    if (refused(impl->stack, msg)) return true;
    if (impl->draining) {
      (void)sip_replyf(impl->stack, msg, 503, "Service Unavailable",
                       "Retry-After: %d\r\n%sContent-Length: 0\r\n\r\n",
                       impl->admission->retryAfter(Verdict::kBusyDraining), kAllow);
      return true;
    }
    (void)sip_replyf(impl->stack, msg, 200, "OK",
                     "%sAccept: application/sdp\r\nContent-Length: 0\r\n\r\n", kAllow);
    return true;
  }
  if (pl_strcmp(&msg->met, "ACK") == 0) return true;  // a stray ACK gets no answer
  if (pl_isset(&msg->to.tag) || pl_strcmp(&msg->met, "CANCEL") == 0) {
    // In a dialog we do not have, or a CANCEL no transaction of ours matched (RFC 3261 9.2).
    (void)sip_reply(impl->stack, msg, 481, "Call/Transaction Does Not Exist");
    return true;
  }
  // A method SIP defines that we do not serve (REGISTER: Callflow is no registrar) is 405 with
  // Allow; one we do not know is 501 (RFC 3261 21.4.6, 21.5.2). Nothing runs for either.
  bool known = false;
  for (const char* method : {"REGISTER", "SUBSCRIBE", "NOTIFY", "MESSAGE", "PUBLISH", "INFO",
                             "UPDATE", "PRACK", "REFER", "BYE", "CANCEL", "INVITE"}) {
    if (pl_strcmp(&msg->met, method) == 0) known = true;
  }
  if (known) {
    (void)sip_replyf(impl->stack, msg, 405, "Method Not Allowed", "%sContent-Length: 0\r\n\r\n",
                     kAllow);
  } else {
    (void)sip_replyf(impl->stack, msg, 501, "Not Implemented", "%sContent-Length: 0\r\n\r\n",
                     kAllow);
  }
  return true;
}

void SipStack::Impl::onInvite(const sip_msg* msg, void* arg) {
  auto* impl = static_cast<Impl*>(arg);
  struct ::sip* stack = impl->stack;
  auto now = std::chrono::steady_clock::now();
  Admission& admission = *impl->admission;
  if (admission.request(addressText(msg->src), now) == Verdict::kDrop) return;  // banned: no answer
  Verdict verdict =
      admission.invite(static_cast<int>(impl->legs.size()), impl->stopping || impl->draining, now);
  if (verdict != Verdict::kAdmit) {
    (void)sip_treplyf(nullptr, nullptr, stack, msg, false, 503, "Service Unavailable",
                      "Retry-After: %d\r\nContent-Length: 0\r\n\r\n",
                      admission.retryAfter(verdict));
    return;
  }
  // Requests we cannot take, answered before anything is allocated for them (RFC 3261 8.2).
  if (!pl_isset(&msg->to.auri) || !pl_isset(&msg->from.auri) || !pl_isset(&msg->from.tag) ||
      pl_isset(&msg->to.tag)) {
    // No To or From, a From with no tag (we cannot make a dialog), or a To tag on an INVITE
    // that matched no dialog.
    (void)sip_treply(nullptr, stack, msg, pl_isset(&msg->to.tag) ? 481 : 400,
                     pl_isset(&msg->to.tag) ? "Call/Transaction Does Not Exist" : "Bad Request");
    return;
  }
  if (refused(stack, msg)) return;
  sip_addr contact{};
  const sip_hdr* contact_header = sip_msg_hdr(msg, SIP_HDR_CONTACT);
  if (contact_header == nullptr || sip_addr_decode(&contact, &contact_header->val) != 0) {
    // The dialog's remote target (RFC 3261 8.1.1.8, 12.1.1): libre cannot make a dialog without.
    (void)sip_treply(nullptr, stack, msg, 400,
                     contact_header == nullptr ? "Missing Contact" : "Bad Contact");
    return;
  }
  bool has_body = msg->mb != nullptr && mbuf_get_left(msg->mb) > 0;
  if (has_body && !msg_ctype_cmp(&msg->ctyp, "application", "sdp")) {
    (void)sip_treplyf(nullptr, nullptr, stack, msg, false, 415, "Unsupported Media Type",
                      "Accept: application/sdp\r\nContent-Length: 0\r\n\r\n");
    return;
  }
  if (!acceptsSdp(msg)) {
    // Our 200 carries SDP (an answer, or our offer): a caller that takes none gets 406.
    (void)sip_treply(nullptr, stack, msg, 406, "Not Acceptable");
    return;
  }
  if (has_body && !mediaPortsValid(bodyOf(msg))) {
    (void)sip_treplyf(nullptr, nullptr, stack, msg, false, 488, "Not Acceptable Here",
                      "Warning: 307 callflow \"media port out of range\"\r\n"
                      "Content-Length: 0\r\n\r\n");
    return;
  }
  auto leg = std::make_unique<Leg>();
  leg->impl = impl;
  leg->id = impl->next_id++;
  leg->local_ip =
      sa_is_any(&impl->listen_addr) ? addressText(msg->dst) : addressText(impl->listen_addr);
  sa local = sa_is_any(&impl->listen_addr) ? msg->dst : impl->listen_addr;
  int err = sdp_session_alloc(&leg->sdp, &local);
  if (err == 0) err = addAudio(leg->sdp, &leg->media);
  if (err != 0) {
    (void)sip_treply(nullptr, stack, msg, 500, "Server Internal Error");
    return;
  }

  if (has_body) {
    std::string_view body = bodyOf(msg);  // before the decode moves the buffer's position
    if (sdp_decode(leg->sdp, msg->mb, true) != 0) {
      (void)sip_treply(nullptr, stack, msg, 400, "Bad Request");
      return;
    }
    if (!readRemote(leg->media, body, leg->media_now)) {
      (void)sip_treplyf(nullptr, nullptr, stack, msg, false, 488, "Not Acceptable Here",
                        "Warning: 304 callflow \"no common codec: PCMU or PCMA\"\r\n"
                        "Content-Length: 0\r\n\r\n");
      return;
    }
  } else {
    leg->delayed_offer = true;
  }

  IncomingCall call;
  call.id = leg->id;
  call.call_id = str(msg->callid);
  call.local_ip = leg->local_ip;
  call.media = leg->media_now;
  const sip_hdr* identity = sip_msg_xhdr(msg, "P-Asserted-Identity");
  sip_addr asserted{};
  if (identity != nullptr && sip_addr_decode(&asserted, &identity->val) == 0) {
    call.from = uriUser(asserted.auri);
  }
  if (call.from.empty()) call.from = uriUser(msg->from.auri);
  call.to = str(msg->uri.user);
  if (call.to.empty()) call.to = uriUser(msg->to.auri);

  (void)sip_reply(stack, msg, 100, "Trying");  // stateless: the transaction comes next
  err = sipsess_accept(&leg->sess, impl->sessions, msg, 180, "Ringing", kContactUser,
                       "application/sdp", nullptr, nullptr, nullptr, false, &Impl::onOffer,
                       &Impl::onAnswer, &Impl::onEstablished, nullptr, nullptr, &Impl::onClose,
                       leg.get(), "%s", kAllow);
  if (err != 0) {
    leg->sess = nullptr;
    // EBADMSG: libre found the request unfit for a dialog (its Contact or Record-Route).
    (void)sip_treply(nullptr, stack, msg, err == EBADMSG ? 400 : 500,
                     err == EBADMSG ? "Bad Request" : "Server Internal Error");
    return;
  }
  impl->legs.emplace(leg->id, std::move(leg));
  impl->active.fetch_add(1);
  impl->emit(
      [call = std::move(call)](CallEvents& events) mutable { events.incoming(std::move(call)); });
}

// A re-INVITE (or UPDATE) with an offer: hold, unhold, a new address. No body: we offer.
int SipStack::Impl::onOffer(mbuf** descp, const sip_msg* msg, void* arg) {
  auto* leg = static_cast<Leg*>(arg);
  if (msg->mb == nullptr || mbuf_get_left(msg->mb) == 0) {
    *descp = leg->impl->describe(*leg, true);
    return *descp == nullptr ? ENOMEM : 0;
  }
  std::string_view body = bodyOf(msg);
  if (!mediaPortsValid(body) || sdp_decode(leg->sdp, msg->mb, true) != 0) return EPROTO;
  MediaDescription media;
  if (!readRemote(leg->media, body, media)) return EPROTO;  // libre answers 488
  leg->media_now = media;
  *descp = leg->impl->describe(*leg, false);
  if (*descp == nullptr) return ENOMEM;
  std::uint64_t id = leg->id;
  leg->impl->emit([id, media](CallEvents& events) { events.mediaChanged(id, media); });
  return 0;
}

// The caller's answer to our offer (the ACK of a delayed-offer INVITE, or of our re-offer).
int SipStack::Impl::onAnswer(const sip_msg* msg, void* arg) {
  auto* leg = static_cast<Leg*>(arg);
  std::string_view body = bodyOf(msg);
  if (msg->mb == nullptr || !mediaPortsValid(body) || sdp_decode(leg->sdp, msg->mb, false) != 0) {
    return EPROTO;
  }
  MediaDescription media;
  if (!readRemote(leg->media, body, media)) return EPROTO;
  leg->media_now = media;
  std::uint64_t id = leg->id;
  leg->impl->emit([id, media](CallEvents& events) { events.mediaChanged(id, media); });
  return 0;
}

void SipStack::Impl::onEstablished(const sip_msg*, void*) {}

void SipStack::Impl::onClose(int err, const sip_msg*, void* arg) {
  auto* leg = static_cast<Leg*>(arg);
  Impl* impl = leg->impl;
  EndReason reason = EndReason::kFailure;
  if (err == 0) reason = EndReason::kBye;  // a BYE
  if (err == ECONNRESET && !leg->answered) reason = EndReason::kCancel;
  std::uint64_t id = leg->id;
  impl->emit([id, reason](CallEvents& events) { events.ended(id, reason); });
  impl->drop(id);
}

void SipStack::Impl::onReferNotify(struct ::sip* stack, const sip_msg* msg, void* arg) {
  auto* leg = static_cast<Leg*>(arg);
  (void)sip_treply(nullptr, stack, msg, 200, "OK");  // libre leaves the answer to us
  int status = sipfragStatus(msg);
  if (status == 0 || leg->refer_reported) return;  // 100 Trying and the like
  leg->refer_reported = true;
  std::uint64_t id = leg->id;
  bool accepted = status < 300;
  leg->impl->emit(
      [id, accepted, status](CallEvents& events) { events.referDone(id, accepted, status); });
}

void SipStack::Impl::onReferClose(int err, const sip_msg* msg, const sipevent_substate*,
                                  void* arg) {
  auto* leg = static_cast<Leg*>(arg);
  leg->refer = static_cast<sipsub*>(mem_deref(leg->refer));
  if (leg->refer_reported) return;
  leg->refer_reported = true;
  // The REFER was refused (a final response ≥ 300), timed out, or the subscription ended
  // without a final sipfrag.
  int status = msg != nullptr && !msg->req ? msg->scode : 0;
  if (status == 0 && err == ETIMEDOUT) status = 408;
  std::uint64_t id = leg->id;
  leg->impl->emit([id, status](CallEvents& events) { events.referDone(id, false, status); });
}

void SipStack::Impl::answer(std::uint64_t id, std::uint16_t port) {
  Leg* leg = find(id);
  if (leg == nullptr || leg->answered) return;
  leg->rtp_port = port;
  mbuf* sdp = describe(*leg, leg->delayed_offer);
  int err = sdp == nullptr ? ENOMEM : sipsess_answer(leg->sess, 200, "OK", sdp, "%s", kAllow);
  mem_deref(sdp);
  if (err != 0) {
    emit([id](CallEvents& events) { events.ended(id, EndReason::kFailure); });
    drop(id);
    return;
  }
  leg->answered = true;
}

// Ends an unanswered call with `status` (302 with `contact`), or an answered one with BYE.
void SipStack::Impl::finish(std::uint64_t id, int status, const std::string& contact) {
  Leg* leg = find(id);
  if (leg == nullptr) return;
  if (!leg->answered) {
    if (status == 302) {
      (void)sipsess_reject(leg->sess, 302, reasonPhrase(302), "Contact: <%s>\r\n", contact.c_str());
    } else {
      (void)sipsess_reject(leg->sess, static_cast<uint16_t>(status), reasonPhrase(status), nullptr);
    }
  }
  drop(id);  // the Leg's destructor sends BYE when the call was answered
}

void SipStack::Impl::referTo(std::uint64_t id, const std::string& target) {
  Leg* leg = find(id);
  if (leg == nullptr) return;
  auto refuse = [this, id](int status) {
    emit([id, status](CallEvents& events) { events.referDone(id, false, status); });
  };
  if (!leg->answered || leg->refer != nullptr) return refuse(0);
  leg->refer_reported = false;
  int err = sipevent_drefer(&leg->refer, subscriptions, sipsess_dialog(leg->sess), kContactUser,
                            nullptr, nullptr, false, &Impl::onReferNotify, &Impl::onReferClose, leg,
                            "Refer-To: <%s>\r\n", target.c_str());
  if (err != 0) {
    leg->refer = nullptr;
    refuse(0);
  }
}

void SipStack::Impl::onExit(void*) { re_cancel(); }
void SipStack::Impl::onStopTimeout(void*) { re_cancel(); }

void SipStack::Impl::onGuardTimer(void* arg) {
  auto& impl = *static_cast<Impl*>(arg);
  impl.guard_unreported += static_cast<std::uint64_t>(impl.accept_guard.check());
  auto now = std::chrono::steady_clock::now();
  if (impl.guard_unreported > 0 && now - impl.guard_reported_at >= std::chrono::seconds(10)) {
    std::fprintf(stderr,
                 "callflow serve: SIP over TCP: out of file descriptors; %llu new "
                 "connection(s) closed unread\n",
                 static_cast<unsigned long long>(impl.guard_unreported));
    impl.guard_unreported = 0;
    impl.guard_reported_at = now;
  }
  if (!impl.stopping) tmr_start(&impl.guard_timer, kGuardMs, &Impl::onGuardTimer, arg);
}

void SipStack::Impl::shutdown() {
  if (stopping) return;
  stopping = true;
  for (auto& [id, leg] : legs) {
    if (!leg->answered) (void)sipsess_reject(leg->sess, 503, "Service Unavailable", nullptr);
  }
  legs.clear();  // BYE to the answered ones
  active.store(0);
  // Let the BYEs and final responses go out (at most 2 s), then leave re_main.
  tmr_start(&stop_timer, 2000, &Impl::onStopTimeout, this);
  sip_close(stack, false);
}

SipStack::SipStack(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

SipStack::~SipStack() { stop(); }

void SipStack::stop() {
  if (!impl_ || !impl_->thread.joinable()) return;
  *impl_->events = nullptr;  // called on the worker: later events are dropped
  impl_->post([](Impl& impl) { impl.shutdown(); });
  impl_->thread.join();
}

Result<std::unique_ptr<SipStack>> SipStack::start(SipOptions options, asio::any_io_executor worker,
                                                  CallEvents& events) {
  auto admission = Admission::make(options.limits);
  if (!admission) return admission.error();
  auto impl = std::make_unique<Impl>();
  impl->options = std::move(options);
  impl->admission.emplace(std::move(*admission));
  impl->worker = std::move(worker);
  impl->events = std::make_shared<CallEvents*>(&events);
  Impl* raw = impl.get();

  std::promise<std::string> ready;  // empty: started; else the error
  std::future<std::string> started = ready.get_future();
  impl->thread = std::thread([raw, &ready] {
    Impl& impl = *raw;
    std::string error;
    int err = libre_init();
    if (err == 0) {
      (void)fd_setsize(8192);
      std::string host = impl.options.listen;
      std::string port = "0";
      if (auto colon = host.rfind(':'); colon != std::string::npos) {
        port = host.substr(colon + 1);
        host = host.substr(0, colon);
      }
      if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
        host = host.substr(1, host.size() - 2);
      }
      char* end = nullptr;
      long number = std::strtol(port.c_str(), &end, 10);
      if (port.empty() || *end != '\0' || number < 0 || number > 65535 ||
          sa_set_str(&impl.listen_addr, host.c_str(), static_cast<uint16_t>(number)) != 0) {
        error = "--sip " + impl.options.listen + ": not an address (HOST:PORT)";
      }
    } else {
      error = "libre_init failed";
    }
    if (error.empty()) {
      // Hash tables of client and server transactions and TCP connections: sized for
      // thousands of transactions in flight (libre walks a bucket's list on every message).
      err = sip_alloc(&impl.stack, nullptr, 8192, 8192, 1024, impl.options.user_agent.c_str(),
                      &Impl::onExit, raw);
      if (err == 0) err = sip_transp_add(impl.stack, SIP_TRANSP_UDP, &impl.listen_addr);
      if (err == 0) {
        sa bound{};
        (void)sip_transp_laddr(impl.stack, &bound, SIP_TRANSP_UDP, nullptr);
        impl.bound_port = sa_port(&bound);
        sa tcp = impl.listen_addr;
        sa_set_port(&tcp, impl.bound_port);
        err = sip_transp_add(impl.stack, SIP_TRANSP_TCP, &tcp);
        if (err == 0 && impl.accept_guard.attach(impl.bound_port)) {
          tmr_start(&impl.guard_timer, kGuardMs, &Impl::onGuardTimer, raw);
        }
      }
      if (err != 0) {
        error = "--sip " + impl.options.listen + ": " + std::strerror(err);
      }
    }
    if (error.empty()) {
      err = sipsess_listen(&impl.sessions, impl.stack, 8192, &Impl::onInvite, raw);
      if (err == 0)
        err = sipevent_listen(&impl.subscriptions, impl.stack, 256, 256, nullptr, nullptr);
      if (err == 0) err = sip_listen(&impl.listener, impl.stack, true, &Impl::onRequest, raw);
      if (err == 0) err = mqueue_alloc(&impl.wake, &Impl::onWake, raw);
      if (err != 0) error = std::string("SIP set-up failed: ") + std::strerror(err);
    }
    bool ok = error.empty();
    ready.set_value(std::move(error));  // `ready` is not touched after this line
    if (ok) (void)re_main(nullptr);
    impl.legs.clear();
    tmr_cancel(&impl.stop_timer);
    tmr_cancel(&impl.guard_timer);
    impl.wake = static_cast<mqueue*>(mem_deref(impl.wake));
    impl.listener = static_cast<sip_lsnr*>(mem_deref(impl.listener));
    impl.subscriptions = static_cast<sipevent_sock*>(mem_deref(impl.subscriptions));
    impl.sessions = static_cast<sipsess_sock*>(mem_deref(impl.sessions));
    if (impl.stack != nullptr) sip_close(impl.stack, true);
    impl.stack = static_cast<struct ::sip*>(mem_deref(impl.stack));
    libre_close();
  });
  std::string error = started.get();
  if (!error.empty()) {
    impl->thread.join();
    return fail(ErrorCode::kUnavailable, error);
  }
  return std::unique_ptr<SipStack>(new SipStack(std::move(impl)));
}

void SipStack::answer(std::uint64_t id, std::uint16_t port) {
  impl_->post([id, port](Impl& impl) { impl.answer(id, port); });
}
void SipStack::redirect(std::uint64_t id, std::string target) {
  impl_->post([id, target = std::move(target)](Impl& impl) { impl.finish(id, 302, target); });
}
void SipStack::reject(std::uint64_t id, int status) {
  impl_->post([id, status](Impl& impl) { impl.finish(id, status, {}); });
}
void SipStack::hangup(std::uint64_t id) {
  impl_->post([id](Impl& impl) { impl.finish(id, 603, {}); });
}
void SipStack::refer(std::uint64_t id, std::string target) {
  impl_->post([id, target = std::move(target)](Impl& impl) { impl.referTo(id, target); });
}
std::uint16_t SipStack::port() const { return impl_->bound_port; }
int SipStack::activeCalls() const { return impl_->active.load(); }
void SipStack::drain() {
  impl_->post([](Impl& impl) { impl.draining = true; });
}
const AdmissionCounters& SipStack::admissionCounters() const {
  return impl_->admission->counters();
}
const AdmissionLimits& SipStack::limits() const { return impl_->admission->limits(); }

std::string targetUri(std::string_view target, std::string_view host) {
  if (target.empty()) return {};
  for (char c : target) {
    if (c == ' ' || c == '<' || c == '>' || c == '"' || c == '\r' || c == '\n' || c == '\0' ||
        c == '\t') {
      return {};
    }
  }
  if (target.rfind("sip:", 0) == 0 || target.rfind("sips:", 0) == 0 ||
      target.rfind("tel:", 0) == 0) {
    return std::string(target);
  }
  if (target.find('@') != std::string_view::npos) return "sip:" + std::string(target);
  return "sip:" + std::string(target) + "@" + std::string(host);
}

}  // namespace callflow::sip
