// Fuzz target 6: the RTP side of a call, as RtpStream::onPacket (src/media/rtp_stream.cpp,
// private) handles what arrives on a call's port: parseRtp, then an RFC 4733 telephone event
// into the DtmfDetector, or (no telephone-event negotiated, --inband-dtmf) G.711 audio into the
// in-band detector. The input's first byte chooses the set-up (bit 0: telephone-event payload
// type 101 negotiated; bit 1: PCMA rather than PCMU), then come datagrams, each after a
// one-byte length, with one detector per input.
// Invariants: the payload lies inside the datagram; a parsed header written back and parsed
// again is the same header; every digit reported is a DTMF key.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "media/g711.h"
#include "media/inband_dtmf.h"
#include "media/rtp.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace callflow::media;
  if (size < 1) return 0;
  const int telephone_event_pt = (data[0] & 1) != 0 ? 101 : -1;
  const Codec codec = (data[0] & 2) != 0 ? Codec::kPcma : Codec::kPcmu;
  DtmfDetector dtmf;
  InbandDtmf inband;
  std::string digits;

  std::size_t at = 1;
  while (at < size) {
    const std::size_t length = std::min<std::size_t>(data[at], size - at - 1);
    std::span<const std::uint8_t> datagram(data + at + 1, length);
    at += 1 + length;

    auto packet = parseRtp(datagram);
    if (!packet) continue;
    const RtpPacket& p = *packet;
    FUZZ_CHECK(p.payload.data() >= datagram.data() &&
               p.payload.data() + p.payload.size() <= datagram.data() + datagram.size());
    FUZZ_CHECK(p.header.payload_type < 128);

    std::array<std::uint8_t, kRtpHeaderBytes> written;
    writeRtpHeader(p.header, written);
    auto again = parseRtp(written);
    FUZZ_CHECK(again && again->payload.empty());
    FUZZ_CHECK(
        again->header.payload_type == p.header.payload_type &&
        again->header.marker == p.header.marker && again->header.sequence == p.header.sequence &&
        again->header.timestamp == p.header.timestamp && again->header.ssrc == p.header.ssrc);

    if (telephone_event_pt >= 0) {
      if (p.header.payload_type != telephone_event_pt) continue;
      auto event = parseTelephoneEvent(p.payload);
      if (!event) continue;
      FUZZ_CHECK(event->volume < 64);
      if (auto digit = dtmf.onPacket(p.header, *event)) digits.push_back(*digit);
    } else if (p.header.payload_type == payloadType(codec)) {
      std::array<std::int16_t, 512> pcm;
      std::size_t n = std::min(p.payload.size(), pcm.size());
      decode(codec, p.payload.first(n), pcm.data());
      inband.feed(std::span<const std::int16_t>(pcm.data(), n), digits);
    }
  }
  for (char digit : digits) {
    FUZZ_CHECK(digit != '\0' &&
               std::string_view("0123456789*#ABCD").find(digit) != std::string_view::npos);
  }
  return 0;
}
