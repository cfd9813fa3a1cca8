// DigitReader: the keys a caller presses, read from the RTP packets of its call: RFC 4733
// telephone events when the call negotiated a payload type for them, else (when in-band
// detection is on, `--inband-dtmf`) DTMF tones in the G.711 audio. RtpStream runs it on every
// packet from the caller; the RTP fuzz target (fuzz/rtp_fuzz.cpp) runs the same.
#pragma once

#include <memory>
#include <string>

#include "media/g711.h"
#include "media/inband_dtmf.h"
#include "media/rtp.h"

namespace callflow::media {

class DigitReader {
 public:
  void setInband(bool on);

  // Appends the keys `packet` completes to `digits`. `telephone_event_pt` is the call's
  // telephone-event payload type (-1: none negotiated), `codec` its audio.
  void read(const RtpPacket& packet, int telephone_event_pt, Codec codec, std::string& digits);

 private:
  DtmfDetector dtmf_;
  std::unique_ptr<InbandDtmf> inband_;  // only with setInband(true)
};

}  // namespace callflow::media
