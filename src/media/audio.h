// Audio: a clip as the IVR plays it, 8 kHz mono 16-bit linear samples, whatever it came from
// (a prompt file, text-to-speech). Clips are immutable once made and shared by pointer: a prompt
// or a cached phrase is converted once and played to many calls at the same time without a
// copy. The RTP sender cuts a clip into 20 ms frames and encodes each with G.711.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace callflow::media {

inline constexpr int kSampleRate = 8000;
inline constexpr std::size_t kFrameSamples = 160;  // 20 ms, one RTP packet

struct Audio {
  std::vector<int16_t> samples;  // 8 kHz mono

  double seconds() const { return static_cast<double>(samples.size()) / kSampleRate; }
};

using AudioPtr = std::shared_ptr<const Audio>;

}  // namespace callflow::media
