#include "media/rtp.h"

#include <algorithm>
#include <string>

namespace callflow::media {
namespace {

constexpr uint8_t kVersion = 2;

uint16_t read16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }

uint32_t read32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

void write16(uint8_t* p, uint16_t value) {
  p[0] = static_cast<uint8_t>(value >> 8);
  p[1] = static_cast<uint8_t>(value);
}

void write32(uint8_t* p, uint32_t value) {
  p[0] = static_cast<uint8_t>(value >> 24);
  p[1] = static_cast<uint8_t>(value >> 16);
  p[2] = static_cast<uint8_t>(value >> 8);
  p[3] = static_cast<uint8_t>(value);
}

Error malformed(const std::string& why) {
  return fail(ErrorCode::kInvalidArgument, "RTP packet: " + why);
}

}  // namespace

void writeRtpHeader(const RtpHeader& header, std::span<uint8_t, kRtpHeaderBytes> out) {
  out[0] = kVersion << 6;
  out[1] = static_cast<uint8_t>((header.marker ? 0x80 : 0) | (header.payload_type & 0x7F));
  write16(&out[2], header.sequence);
  write32(&out[4], header.timestamp);
  write32(&out[8], header.ssrc);
}

Result<RtpPacket> parseRtp(std::span<const uint8_t> datagram) {
  const std::size_t size = datagram.size();
  if (size < kRtpHeaderBytes) {
    return malformed(std::to_string(size) + " bytes, shorter than the 12-byte header");
  }
  const uint8_t* data = datagram.data();
  if (int version = data[0] >> 6; version != kVersion) {
    return malformed("version " + std::to_string(version) + ", not 2");
  }
  const bool padding = (data[0] & 0x20) != 0;
  const bool extension = (data[0] & 0x10) != 0;
  const std::size_t csrc_count = data[0] & 0x0F;

  RtpPacket packet;
  packet.header.marker = (data[1] & 0x80) != 0;
  packet.header.payload_type = data[1] & 0x7F;
  packet.header.sequence = read16(&data[2]);
  packet.header.timestamp = read32(&data[4]);
  packet.header.ssrc = read32(&data[8]);

  // Every offset below is checked against `size` before the bytes at it are read.
  std::size_t offset = kRtpHeaderBytes + 4 * csrc_count;
  if (offset > size) return malformed("the CSRC list runs past the end");
  if (extension) {
    if (offset + 4 > size) return malformed("the header extension runs past the end");
    offset += 4 + 4 * std::size_t{read16(&data[offset + 2])};
    if (offset > size) return malformed("the header extension runs past the end");
  }
  std::size_t end = size;
  if (padding) {
    if (end == offset) return malformed("padding bit set but nothing follows the header");
    const std::size_t pad = data[size - 1];
    if (pad == 0 || pad > end - offset) return malformed("the padding is longer than the payload");
    end -= pad;
  }
  packet.payload = datagram.subspan(offset, end - offset);
  return packet;
}

Result<TelephoneEvent> parseTelephoneEvent(std::span<const uint8_t> payload) {
  if (payload.size() < 4) {
    return fail(ErrorCode::kInvalidArgument,
                "telephone event: " + std::to_string(payload.size()) + " bytes, fewer than 4");
  }
  TelephoneEvent event;
  event.event = payload[0];
  event.end = (payload[1] & 0x80) != 0;
  event.volume = payload[1] & 0x3F;
  event.duration = read16(&payload[2]);
  return event;
}

char dtmfDigit(uint8_t event) {
  constexpr char kDigits[] = "0123456789*#ABCD";
  return event < 16 ? kDigits[event] : '\0';
}

std::optional<char> DtmfDetector::onPacket(const RtpHeader& header, const TelephoneEvent& event) {
  char digit = dtmfDigit(event.event);
  if (digit == '\0') return std::nullopt;
  if (ssrc_ != header.ssrc) {
    reset();
    ssrc_ = header.ssrc;
  }
  auto remembered = std::span(timestamps_).first(count_);
  if (std::find(remembered.begin(), remembered.end(), header.timestamp) != remembered.end()) {
    return std::nullopt;
  }
  timestamps_[next_] = header.timestamp;
  next_ = (next_ + 1) % kRemembered;
  count_ = std::min(count_ + 1, kRemembered);
  return digit;
}

void DtmfDetector::reset() {
  ssrc_.reset();
  count_ = 0;
  next_ = 0;
}

}  // namespace callflow::media
