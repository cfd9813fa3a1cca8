// RTP packets and RFC 4733 telephone events, as bytes: building the header the IVR sends,
// parsing what the caller's side sends, and turning DTMF event packets into digits. No I/O:
// the SIP adapter owns the sockets and calls these.
//
// Incoming packets are untrusted: parseRtp checks every length against the datagram (CSRC
// list, header extension, padding) and never reads outside it. The parsed payload is a view
// into the datagram, valid as long as the datagram's buffer. RTCP multiplexed on the same port
// (RFC 5761) parses as RTP with payload type 72-76: the caller keeps the payload types it
// negotiated and drops the rest.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "callflow/result.h"

namespace callflow::media {

inline constexpr std::size_t kRtpHeaderBytes = 12;

struct RtpHeader {
  uint8_t payload_type = 0;  // 0-127
  bool marker = false;
  uint16_t sequence = 0;
  uint32_t timestamp = 0;
  uint32_t ssrc = 0;
};

struct RtpPacket {
  RtpHeader header;
  std::span<const uint8_t> payload;  // without CSRCs, extension and padding
};

// The fixed 12-byte header: version 2, no padding, no extension, no CSRC. The payload type is
// masked to 7 bits.
void writeRtpHeader(const RtpHeader& header, std::span<uint8_t, kRtpHeaderBytes> out);

// One datagram as an RTP packet. kInvalidArgument, with the reason, when it is not version 2
// or a length in it runs past the end (CSRC list, extension, padding count 0 or longer than
// what follows the header). An empty payload is valid.
Result<RtpPacket> parseRtp(std::span<const uint8_t> datagram);

// An RFC 4733 telephone-event payload (the first 4 bytes; the rest, if any, is ignored).
struct TelephoneEvent {
  uint8_t event = 0;      // 0-9 the digits, 10 '*', 11 '#', 12-15 'A'-'D'; others not DTMF
  bool end = false;       // the E bit: the event is over (usually sent 3 times)
  uint8_t volume = 0;     // 0-63, in -dBm0
  uint16_t duration = 0;  // so far, in timestamp units, from the packet's timestamp
};

// kInvalidArgument when the payload is shorter than 4 bytes.
Result<TelephoneEvent> parseTelephoneEvent(std::span<const uint8_t> payload);

// The DTMF character of an event code 0-15; '\0' for any other code.
char dtmfDigit(uint8_t event);

// Turns a stream of telephone-event packets into digits, one per key press.
//
// The sender repeats an event's packets while the key is held and sends the end packet three
// times; every packet of one event carries the event's start as its RTP timestamp. So an event
// is reported on the first packet seen with a new timestamp, whichever it is (a lost start
// packet still gives the digit from a later or an end packet), and every other packet with that
// timestamp is a repeat. The last 8 timestamps are remembered, so a late packet of a recent
// event arriving after the next one started is still a repeat. A new SSRC (the sender
// restarted its stream) forgets them. Events above 15 are not DTMF and are ignored. A key held
// longer than a 16-bit duration (about 8 s at 8 kHz) is sent as new segments with new
// timestamps, and reads as several presses.
class DtmfDetector {
 public:
  // The digit when this packet starts a new event; nullopt for repeats and non-DTMF events.
  std::optional<char> onPacket(const RtpHeader& header, const TelephoneEvent& event);
  void reset();

 private:
  static constexpr std::size_t kRemembered = 8;

  std::optional<uint32_t> ssrc_;
  std::array<uint32_t, kRemembered> timestamps_{};
  std::size_t count_ = 0;  // remembered so far, up to kRemembered
  std::size_t next_ = 0;   // where the next timestamp goes (a ring)
};

}  // namespace callflow::media
