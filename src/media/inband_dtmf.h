// InbandDtmf: DTMF keys heard as tones in the caller's audio, for callers that send no RFC 4733
// events (`callflow serve --inband-dtmf`). spandsp's detector underneath (LGPL, linked
// dynamically); its header stays in inband_dtmf.cpp. One per call, fed every frame it receives.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

namespace callflow::media {

class InbandDtmf {
 public:
  InbandDtmf();
  ~InbandDtmf();
  InbandDtmf(const InbandDtmf&) = delete;
  InbandDtmf& operator=(const InbandDtmf&) = delete;

  // Appends the keys whose tones end in `samples` (8 kHz linear) to `digits`.
  void feed(std::span<const std::int16_t> samples, std::string& digits);

  struct State;

 private:
  std::unique_ptr<State> state_;
};

}  // namespace callflow::media
