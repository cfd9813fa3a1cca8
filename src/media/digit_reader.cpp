#include "media/digit_reader.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <span>

namespace callflow::media {

void DigitReader::setInband(bool on) {
  if (on && !inband_) inband_ = std::make_unique<InbandDtmf>();
  if (!on) inband_.reset();
}

void DigitReader::read(const RtpPacket& packet, int telephone_event_pt, Codec codec,
                       std::string& digits) {
  if (telephone_event_pt >= 0) {
    if (packet.header.payload_type != telephone_event_pt) return;
    auto event = parseTelephoneEvent(packet.payload);
    if (!event) return;
    if (auto digit = dtmf_.onPacket(packet.header, *event)) digits.push_back(*digit);
  } else if (inband_ && packet.header.payload_type == payloadType(codec)) {
    std::array<std::int16_t, 512> pcm;
    std::size_t n = std::min(packet.payload.size(), pcm.size());
    decode(codec, packet.payload.first(n), pcm.data());
    inband_->feed(std::span<const std::int16_t>(pcm.data(), n), digits);
  }
}

}  // namespace callflow::media
