// Prompt files: recorded audio the IVR plays (Play, a Menu's prompt, hold music), read from one
// folder and converted once to the IVR's format (8 kHz mono 16-bit, media/audio.h).
//
// Any file libsndfile reads is accepted (WAV of any rate and sample format, AIFF, FLAC, ...).
// Channels are mixed down to mono by averaging; any other rate is resampled to 8 kHz with
// speexdsp (quality 4); samples are clipped to 16 bits. A file longer than the cap (10 minutes
// by default) is refused before it is decoded.
//
// Prompt names come from flows, and a flow may build one from call data, so a name is
// untrusted: it must be a relative path that stays inside the folder once symbolic links are
// resolved (no absolute path, no "..", no NUL). Errors name the prompt as the flow wrote it:
//   prompt "welcome.wav": not found in /srv/callflow/prompts            (kNotFound)
//   prompt "../etc/passwd": must not contain ".."                        (kInvalidArgument)
//   prompt "notes.txt": not an audio file libsndfile can read (...)      (kInvalidArgument)
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "callflow/result.h"
#include "media/audio.h"

namespace callflow::media {

inline constexpr double kMaxPromptSeconds = 600;

// Reads and converts one audio file, uncached (tools and tests; PromptCache for calls). The
// path is used as given. Errors: kNotFound (no such file), kInvalidArgument (not a regular file,
// not audio, unsupported rate, longer than `max_seconds`).
Result<AudioPtr> loadFile(const std::filesystem::path& path,
                          double max_seconds = kMaxPromptSeconds);

// The length in seconds of an audio file libsndfile reads, from its header (nothing decoded).
// kNotFound: no such file; kInvalidArgument: not audio libsndfile reads.
Result<double> fileSeconds(const std::filesystem::path& path);

// True when libsndfile reads `bytes` as a WAV file (RIFF or RIFX, RF64, WAVE_FORMAT_EXTENSIBLE).
bool isWav(std::string_view bytes);

// `bytes`, a WAV file held in memory (an upload), decoded and converted as loadFile converts a
// file. kInvalidArgument: not a WAV file, or one loadFile would refuse (rate, channels, length,
// truncated data).
Result<AudioPtr> decodeWav(std::string_view bytes, double max_seconds = kMaxPromptSeconds);

// `audio` as a WAV file: RIFF, PCM 16-bit little-endian, mono, 8 kHz (44 bytes of header).
std::string encodeWav(const Audio& audio);

// Mono samples at `sample_rate` Hz, full scale ±1.0, as 8 kHz 16-bit samples: resampled with
// speexdsp when the rate is not 8 kHz, clipped to 16 bits (NaN becomes 0). The result has
// round(size * 8000 / sample_rate) samples. kInvalidArgument: a rate outside 1 kHz - 768 kHz.
Result<std::vector<int16_t>> resampleTo8k(std::span<const float> samples, int sample_rate);

// The prompts of one folder, each converted on first use and then shared by every call.
//
// Thread-safe: worker threads call load() concurrently. A hit on a name in normal form
// ("sub/menu.wav", not "./sub/menu.wav") takes a shared lock and one hash lookup; other
// spellings are resolved on the file system each time, then share the conversion. On a miss the
// name is checked and resolved, and the file converted outside the lock; a file is converted once
// even when several threads ask for it at the same time (the others wait for that conversion).
// Failures are not cached, so a file added later is found. A file changed after its first
// conversion keeps its first conversion until forget() is called with its name (the prompts
// API does so when it replaces or deletes one).
class PromptCache {
 public:
  explicit PromptCache(std::filesystem::path folder, double max_seconds = kMaxPromptSeconds);

  Result<AudioPtr> load(std::string_view name);

  // Drops what is cached of the file `name` (a name in the folder itself, "welcome.wav") and of
  // every name that shared its conversion (a link to it), so the next load() reads the file
  // again. A conversion in progress meanwhile is returned to its caller but not kept. Calls
  // that already hold the old clip keep playing it.
  void forget(std::string_view name);

  const std::filesystem::path& folder() const { return folder_; }
  // How many files have been converted, and the bytes of their samples.
  std::size_t files() const;
  std::size_t bytes() const;

 private:
  struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view text) const {
      return std::hash<std::string_view>{}(text);
    }
  };
  template <typename V>
  using StringMap = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;

  Result<std::filesystem::path> resolve(std::string_view name) const;

  std::filesystem::path folder_;
  double max_seconds_;
  mutable std::shared_mutex mutex_;
  StringMap<AudioPtr> by_name_;                     // names as flows write them (normal form only)
  StringMap<AudioPtr> by_path_;                     // resolved paths: one conversion per file
  StringMap<std::shared_ptr<std::mutex>> loading_;  // resolved path -> its conversion's lock
  std::size_t bytes_ = 0;
  std::uint64_t generation_ = 0;  // bumped by forget(): older conversions are not kept
};

}  // namespace callflow::media
