// G.711: the two 8-bit companded codes of the telephone network, µ-law (PCMU, North America,
// Japan) and A-law (PCMA, everywhere else), between them and 16-bit linear samples.
//
// Bit-exact with the ITU-T reference implementation (G.191 STL, g711.c): µ-law keeps the top 14
// bits of a sample, A-law the top 13; a negative sample x is quantised as its one's complement
// ~x (so -1 encodes like 0 with the sign bit cleared), as the reference does. Decoding gives
// the middle of each quantisation interval: µ-law's two zero codes 0xFF and 0x7F both decode to
// 0, and 0 encodes to 0xFF; A-law has no zero code (0xD5 decodes to +8, 0x55 to -8).
//
// Encoding reads a 64 KiB table per law, decoding a 256-entry table; both are built at compile
// time, so nothing is initialised at start-up and every function is safe from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace callflow::media {

enum class Codec {
  kPcmu,  // µ-law, RTP static payload type 0
  kPcma,  // A-law, RTP static payload type 8
};

// The RTP static payload type of a codec (RFC 3551).
constexpr uint8_t payloadType(Codec codec) { return codec == Codec::kPcmu ? 0 : 8; }

// One sample.
uint8_t encodeUlaw(int16_t sample);
uint8_t encodeAlaw(int16_t sample);
int16_t decodeUlaw(uint8_t code);
int16_t decodeAlaw(uint8_t code);

// `in.size()` samples into `out`, which must hold `in.size()` bytes.
void encode(Codec codec, std::span<const int16_t> in, uint8_t* out);
// `in.size()` codes into `out`, which must hold `in.size()` samples.
void decode(Codec codec, std::span<const uint8_t> in, int16_t* out);

}  // namespace callflow::media
