// SipCalls: real calls for `callflow serve --sip`. It owns the SIP stack, the audio services
// (TTS with its synthesis cache and thread, the 20 ms pacer, RTP ports; prompts come from the
// server's one cache, ServerContext::prompts), and the calls that are live; it runs each call's
// flow on the server's loop, as a test call runs, and writes its record when it starts (open)
// and when it ends (completed).
//
// Routing: a call to a number of `routes` runs that flow; any other runs `default_flow`; with
// neither, the call is refused with 404. Flows are looked up when a call starts, so a version
// saved meanwhile takes the next call, while a live call keeps the version it started with.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "callflow/result.h"
#include "sip/admission.h"

namespace boost::asio {
class io_context;
}

namespace callflow {

struct ServerContext;

struct SipConfig {
  std::string listen;        // HOST:PORT for UDP and TCP
  std::string default_flow;  // flow name for calls no route names; empty: none
  std::map<std::string, std::string, std::less<>> routes;  // dialled number → flow name
  sip::AdmissionLimits limits;  // max_concurrent_calls, max_cps, per source (sip/admission.h)
  std::string rtp_ports = "16384-32767";
  std::size_t tts_cache_bytes = 64 << 20;
  bool inband_dtmf = false;  // hear DTMF tones from callers that send no RFC 4733 events
  // An answered call from which no RTP arrives for this long (the caller is not holding it) is
  // ended with BYE and recorded "media-timeout"; 0: never.
  double media_timeout_s = 60;
};

class SipCalls {
 public:
  static Result<std::unique_ptr<SipCalls>> start(boost::asio::io_context& loop,
                                                 ServerContext& context, SipConfig config);
  ~SipCalls();

  std::uint16_t port() const;
  int liveCalls() const;
  // New calls get 503 with Retry-After from now on; live calls go on. Called on the loop.
  void drain();
  // The SIP side's series for /metrics (Prometheus text): live calls, limits, rejections.
  std::string metricsText() const;
  // Ends every live call (BYE) and stops the SIP thread. Called on the loop's thread.
  void stop();

  struct Impl;

 private:
  explicit SipCalls(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace callflow
