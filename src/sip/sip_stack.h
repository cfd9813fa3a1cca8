// SipStack: Callflow's SIP user agent server, on libre (re), in a thread of its own.
//
// libre has one event loop (re_main) and no thread safety, so every libre object lives on the
// SIP thread, and this header shows none of them. The stack answers the signalling of a call:
//   INVITE  → 100 Trying and 180 Ringing at once; admission (a banned source: no answer; past
//             max_calls or max_cps, or draining: 503 with Retry-After) and the offer (no common
//             codec → 488) are checked before anything else is allocated; then
//             CallEvents::incoming() on the worker. The worker answers (200 with the SDP
//             answer), redirects (302) or rejects when the flow decides.
//   ACK, BYE, CANCEL, re-INVITE (hold/unhold, a new address), REFER's NOTIFYs, OPTIONS (200);
//   other out-of-dialog requests get 405 (REGISTER included: Callflow is not a registrar).
// Events go to the worker with asio::post; the worker's commands come back through a locked
// queue and one wake-up of the SIP thread (libre's mqueue drops messages when its pipe fills).
// A call is named by an id; a command for a call that has already ended does nothing.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "callflow/result.h"
#include "sip/admission.h"

namespace callflow::sip {

struct SipOptions {
  std::string listen = "127.0.0.1:5060";  // HOST:PORT, UDP and TCP; port 0 picks a free one
  AdmissionLimits limits;                 // calls at once, calls per second, per source
  std::string user_agent = "Callflow";
};

// The media a call negotiated, from the caller's offer (or its answer to our offer).
struct MediaDescription {
  std::string remote_ip;  // where to send RTP; empty until known (a delayed offer)
  std::uint16_t remote_port = 0;
  int payload_type = 0;         // 0 PCMU or 8 PCMA
  int telephone_event_pt = -1;  // RFC 4733 payload type, -1 when the caller has none
  bool send = true;             // false while the caller holds the call (sendonly, inactive)
};

struct IncomingCall {
  std::uint64_t id = 0;
  std::string from;      // the caller: P-Asserted-Identity's user, else From's
  std::string to;        // the number dialled: the request-URI's user, else To's
  std::string call_id;   // the SIP Call-ID, for logs
  std::string local_ip;  // the address the call came in on: RTP is sent from there
  MediaDescription media;
};

enum class EndReason {
  kBye,      // the caller hung up (BYE)
  kCancel,   // the caller gave up before the answer (CANCEL)
  kFailure,  // the dialog failed (no ACK, transport error)
};

// Called on the worker's executor, in the order the SIP thread saw things.
class CallEvents {
 public:
  virtual ~CallEvents() = default;
  // A new call, not answered yet. The worker must end it one way or another.
  virtual void incoming(IncomingCall call) = 0;
  // The call has ended from the caller's side (or failed); no command for it does anything now.
  virtual void ended(std::uint64_t id, EndReason reason) = 0;
  // A re-INVITE (or the ACK of a delayed offer) changed the call's media.
  virtual void mediaChanged(std::uint64_t id, MediaDescription media) = 0;
  // The outcome of refer(): accepted is true when the far end reported a 2xx (NOTIFY sipfrag).
  virtual void referDone(std::uint64_t id, bool accepted, int status) = 0;
};

class SipStack {
 public:
  // Binds the SIP sockets and starts the SIP thread; an error names the address.
  static Result<std::unique_ptr<SipStack>> start(SipOptions options,
                                                 boost::asio::any_io_executor worker,
                                                 CallEvents& events);
  ~SipStack();  // stops: every live call gets BYE (or 503 before answer), then the thread ends
  SipStack(const SipStack&) = delete;
  SipStack& operator=(const SipStack&) = delete;

  // Commands, from any thread.
  void answer(std::uint64_t id, std::uint16_t local_rtp_port);  // 200 OK with our SDP
  void redirect(std::uint64_t id, std::string target);          // 302 with Contact (unanswered)
  void reject(std::uint64_t id, int status);                    // e.g. 480, 503 (unanswered)
  void hangup(std::uint64_t id);                     // BYE, or 603 Decline before the answer
  void refer(std::uint64_t id, std::string target);  // blind transfer; referDone() follows

  std::uint16_t port() const;  // the bound port (useful with port 0)
  int activeCalls() const;
  // From now on every new INVITE (and OPTIONS) gets 503 with Retry-After; live calls go on.
  void drain();
  // Admission's counters, for /metrics (atomics: read from any thread).
  const AdmissionCounters& admissionCounters() const;
  const AdmissionLimits& limits() const;

  // Stops accepting calls and ends the live ones, then stops the thread (also the destructor).
  void stop();

  struct Impl;

 private:
  explicit SipStack(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// "sip:1234@host" or "1234" → a SIP URI to send in Refer-To / Contact; `host` fills in a bare
// number. Empty when `target` cannot be a URI (spaces, CR/LF, angle brackets).
std::string targetUri(std::string_view target, std::string_view host);

}  // namespace callflow::sip
