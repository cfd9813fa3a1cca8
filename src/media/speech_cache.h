// SpeechCache: synthesized speech kept by (voice, text), in front of a TtsEngine.
//
// A spoken text arrives cut into parts (callflow::SpeechPart, include/callflow/channel.h):
// fixed parts, the same on every call ("Your account balance is "), and values rendered for
// this call ("Gold"). Each part is a clip of its own, cached on its own, so a fixed part is
// synthesized once for every call that says it and a value that repeats (a tier, a small
// number) is too. The result is one clip per part, played in order: shared, never copied.
//
// Parts are trimmed of ASCII blanks before they are looked up or synthesized; a part with
// nothing left gives no clip. `fixed` does not change how a part is cached: fixed parts stay
// hot because every call uses them. The cache holds at most `max_bytes` (samples, texts and
// a fixed per-entry overhead) and evicts the least recently used clips first; a clip bigger
// than the whole cache is returned but not kept.
//
// Thread-safe. lookup() never synthesizes (a call's event loop may use it to play at once);
// synthesize() blocks while the engine works, without holding the cache's lock, so two
// threads asking for the same new text at the same moment may both synthesize it (the second
// result is dropped). The voice is part of the key as given: "" and the engine's default
// voice by name are cached apart.
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "callflow/channel.h"
#include "callflow/result.h"
#include "media/audio.h"
#include "media/tts.h"

namespace callflow::media {

struct SpeechCacheStats {
  uint64_t hits = 0;       // parts served from the cache
  uint64_t misses = 0;     // parts synthesized
  uint64_t evictions = 0;  // clips dropped to stay under max_bytes
  std::size_t bytes = 0;   // held now
  std::size_t entries = 0;
};

class SpeechCache {
 public:
  // What an entry costs beyond its samples and texts (list node, index slot, Audio).
  static constexpr std::size_t kEntryOverhead = 128;

  SpeechCache(TtsEngine& engine, std::size_t max_bytes);

  // The clips when every non-blank part is cached; nullopt otherwise. No synthesis.
  std::optional<std::vector<AudioPtr>> lookup(std::span<const SpeechPart> parts,
                                              std::string_view voice);
  // The clips, synthesizing the parts that are not cached (and caching them). Blocks. The
  // engine's error, if any part fails.
  Result<std::vector<AudioPtr>> synthesize(std::span<const SpeechPart> parts,
                                           std::string_view voice);

  SpeechCacheStats stats() const;

 private:
  struct Entry {
    std::string voice;
    std::string text;
    AudioPtr audio;
    std::size_t bytes = 0;
  };
  using Lru = std::list<Entry>;  // front: most recently used
  // Views into an Entry's own strings (list nodes never move).
  struct Key {
    std::string_view voice;
    std::string_view text;
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    std::size_t operator()(const Key& key) const;
  };

  // With mutex_ held: the cached clip (moved to the front), or null.
  AudioPtr findLocked(std::string_view voice, std::string_view text);
  void insertLocked(std::string_view voice, std::string_view text, const AudioPtr& audio);

  TtsEngine& engine_;
  const std::size_t max_bytes_;
  mutable std::mutex mutex_;
  Lru lru_;
  std::unordered_map<Key, Lru::iterator, KeyHash> index_;
  SpeechCacheStats stats_;
};

}  // namespace callflow::media
