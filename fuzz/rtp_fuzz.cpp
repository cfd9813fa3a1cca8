// Fuzz target 6: the RTP side of a call, as RtpStream::onPacket (src/media/rtp_stream.cpp)
// handles what arrives on a call's port: parseRtp, then its DigitReader: an RFC 4733 telephone
// event into the DtmfDetector, or (no telephone-event negotiated, --inband-dtmf) G.711 audio into
// the in-band detector. The input's first byte chooses the set-up (bit 0: telephone-event payload
// type 101 negotiated; bit 1: PCMA rather than PCMU), then come datagrams, each after a one-byte
// length, with one reader per input.
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
#include "media/digit_reader.h"
#include "media/rtp.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace callflow::media;
  if (size < 1) return 0;
  const int telephone_event_pt = (data[0] & 1) != 0 ? 101 : -1;
  const Codec codec = (data[0] & 2) != 0 ? Codec::kPcma : Codec::kPcmu;
  DigitReader reader;
  reader.setInband(true);  // used when no telephone-event is negotiated, as with --inband-dtmf
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

    if (telephone_event_pt >= 0 && p.header.payload_type == telephone_event_pt) {
      if (auto event = parseTelephoneEvent(p.payload)) FUZZ_CHECK(event->volume < 64);
    }
    reader.read(p, telephone_event_pt, codec, digits);
  }
  for (char digit : digits) {
    FUZZ_CHECK(digit != '\0' &&
               std::string_view("0123456789*#ABCD").find(digit) != std::string_view::npos);
  }
  return 0;
}
