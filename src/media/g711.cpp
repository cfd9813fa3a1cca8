#include "media/g711.h"

#include <array>

namespace callflow::media {
namespace {

// The reference algorithms, transcribed from ITU-T G.191's g711.c (ulaw_compress, alaw_compress,
// ulaw_expand, alaw_expand) for one 16-bit sample or one code. They only build the tables.

constexpr uint8_t referenceUlawCompress(int sample) {
  // 14-bit magnitude, one's complement for negative samples, plus the µ-law bias (33).
  int absno = ((sample < 0 ? ~sample : sample) >> 2) + 33;
  if (absno > 0x1FFF) absno = 0x1FFF;
  int segno = 1;
  for (int i = absno >> 6; i != 0; i >>= 1) ++segno;
  int high_nibble = 8 - segno;
  int low_nibble = 15 - ((absno >> segno) & 0xF);
  int code = (high_nibble << 4) | low_nibble;
  if (sample >= 0) code |= 0x80;
  return static_cast<uint8_t>(code);
}

constexpr uint8_t referenceAlawCompress(int sample) {
  // 12-bit magnitude (13 bits with the sign), one's complement for negative samples.
  int ix = (sample < 0 ? ~sample : sample) >> 4;
  if (ix > 15) {
    int exponent = 1;
    while (ix > 16 + 15) {
      ix >>= 1;
      ++exponent;
    }
    ix -= 16;  // the leading 1 is implied
    ix += exponent << 4;
  }
  if (sample >= 0) ix |= 0x80;
  return static_cast<uint8_t>(ix ^ 0x55);  // even bits inverted on the line
}

constexpr int16_t referenceUlawExpand(int code) {
  int inverted = ~code & 0xFF;
  int exponent = (inverted >> 4) & 0x7;
  int mantissa = inverted & 0xF;
  int step = 4 << (exponent + 1);
  int magnitude = (0x80 << exponent) + step * mantissa + step / 2 - 4 * 33;
  return static_cast<int16_t>(code < 0x80 ? -magnitude : magnitude);
}

constexpr int16_t referenceAlawExpand(int code) {
  int ix = (code ^ 0x55) & 0x7F;
  int exponent = ix >> 4;
  int mantissa = ix & 0xF;
  if (exponent > 0) mantissa += 16;  // the implied leading 1
  mantissa = (mantissa << 4) + 0x8;  // left-justified, plus half a step
  if (exponent > 1) mantissa <<= exponent - 1;
  return static_cast<int16_t>(code > 127 ? mantissa : -mantissa);
}

// Encode tables are indexed by the sample's 16 bits read as unsigned.
template <uint8_t (*compress)(int)>
constexpr std::array<uint8_t, 65536> encodeTable() {
  std::array<uint8_t, 65536> table{};
  for (int sample = -32768; sample <= 32767; ++sample) {
    table[static_cast<uint16_t>(sample)] = compress(sample);
  }
  return table;
}

template <int16_t (*expand)(int)>
constexpr std::array<int16_t, 256> decodeTable() {
  std::array<int16_t, 256> table{};
  for (int code = 0; code < 256; ++code) table[code] = expand(code);
  return table;
}

constexpr std::array<uint8_t, 65536> kUlawEncode = encodeTable<referenceUlawCompress>();
constexpr std::array<uint8_t, 65536> kAlawEncode = encodeTable<referenceAlawCompress>();
constexpr std::array<int16_t, 256> kUlawDecode = decodeTable<referenceUlawExpand>();
constexpr std::array<int16_t, 256> kAlawDecode = decodeTable<referenceAlawExpand>();

// Spot checks against G.711's tables, at compile time.
static_assert(kUlawEncode[0] == 0xFF && kAlawEncode[0] == 0xD5);
static_assert(kUlawDecode[0x00] == -32124 && kUlawDecode[0x80] == 32124);
static_assert(kUlawDecode[0x7F] == 0 && kUlawDecode[0xFF] == 0);
static_assert(kAlawDecode[0xD5] == 8 && kAlawDecode[0x55] == -8);
static_assert(kAlawDecode[0xAA] == 32256 && kAlawDecode[0x2A] == -32256);

void encodeWith(const std::array<uint8_t, 65536>& table, std::span<const int16_t> in,
                uint8_t* out) {
  for (std::size_t i = 0; i < in.size(); ++i) out[i] = table[static_cast<uint16_t>(in[i])];
}

void decodeWith(const std::array<int16_t, 256>& table, std::span<const uint8_t> in, int16_t* out) {
  for (std::size_t i = 0; i < in.size(); ++i) out[i] = table[in[i]];
}

}  // namespace

uint8_t encodeUlaw(int16_t sample) { return kUlawEncode[static_cast<uint16_t>(sample)]; }
uint8_t encodeAlaw(int16_t sample) { return kAlawEncode[static_cast<uint16_t>(sample)]; }
int16_t decodeUlaw(uint8_t code) { return kUlawDecode[code]; }
int16_t decodeAlaw(uint8_t code) { return kAlawDecode[code]; }

void encode(Codec codec, std::span<const int16_t> in, uint8_t* out) {
  encodeWith(codec == Codec::kPcmu ? kUlawEncode : kAlawEncode, in, out);
}

void decode(Codec codec, std::span<const uint8_t> in, int16_t* out) {
  decodeWith(codec == Codec::kPcmu ? kUlawDecode : kAlawDecode, in, out);
}

}  // namespace callflow::media
