#include "media/speech_cache.h"

#include <functional>
#include <utility>

namespace callflow::media {
namespace {

std::string_view trimmed(std::string_view text) {
  constexpr std::string_view kBlanks = " \t\r\n\f\v";
  std::size_t first = text.find_first_not_of(kBlanks);
  if (first == std::string_view::npos) return {};
  return text.substr(first, text.find_last_not_of(kBlanks) - first + 1);
}

}  // namespace

std::size_t SpeechCache::KeyHash::operator()(const Key& key) const {
  std::size_t seed = std::hash<std::string_view>{}(key.text);
  // boost::hash_combine's mixing
  seed ^=
      std::hash<std::string_view>{}(key.voice) + 0x9e3779b97f4a7c15ULL + (seed << 6) + (seed >> 2);
  return seed;
}

SpeechCache::SpeechCache(TtsEngine& engine, std::size_t max_bytes)
    : engine_(engine), max_bytes_(max_bytes) {}

AudioPtr SpeechCache::findLocked(std::string_view voice, std::string_view text) {
  auto it = index_.find(Key{voice, text});
  if (it == index_.end()) return nullptr;
  lru_.splice(lru_.begin(), lru_, it->second);
  return it->second->audio;
}

void SpeechCache::insertLocked(std::string_view voice, std::string_view text,
                               const AudioPtr& audio) {
  std::size_t bytes =
      audio->samples.size() * sizeof(int16_t) + voice.size() + text.size() + kEntryOverhead;
  if (bytes > max_bytes_) return;
  if (index_.contains(Key{voice, text})) return;  // another thread got there first
  lru_.push_front(Entry{std::string(voice), std::string(text), audio, bytes});
  index_.emplace(Key{lru_.front().voice, lru_.front().text}, lru_.begin());
  stats_.bytes += bytes;
  while (stats_.bytes > max_bytes_) {
    Entry& last = lru_.back();
    index_.erase(Key{last.voice, last.text});
    stats_.bytes -= last.bytes;
    ++stats_.evictions;
    lru_.pop_back();
  }
}

std::optional<std::vector<AudioPtr>> SpeechCache::lookup(std::span<const SpeechPart> parts,
                                                         std::string_view voice) {
  std::vector<AudioPtr> clips;
  clips.reserve(parts.size());
  std::lock_guard lock(mutex_);
  for (const SpeechPart& part : parts) {
    std::string_view text = trimmed(part.text);
    if (text.empty()) continue;
    AudioPtr audio = findLocked(voice, text);
    // The parts found stay touched: the caller synthesizes the rest and plays them all.
    if (!audio) return std::nullopt;
    clips.push_back(std::move(audio));
  }
  stats_.hits += clips.size();
  return clips;
}

Result<std::vector<AudioPtr>> SpeechCache::synthesize(std::span<const SpeechPart> parts,
                                                      std::string_view voice) {
  std::vector<AudioPtr> clips;
  clips.reserve(parts.size());
  std::vector<std::pair<std::size_t, std::string_view>> missing;  // clip index, text
  {
    std::lock_guard lock(mutex_);
    for (const SpeechPart& part : parts) {
      std::string_view text = trimmed(part.text);
      if (text.empty()) continue;
      AudioPtr audio = findLocked(voice, text);
      if (audio) {
        ++stats_.hits;
      } else {
        missing.emplace_back(clips.size(), text);
      }
      clips.push_back(std::move(audio));
    }
  }
  for (auto [index, text] : missing) {
    {
      // Cached since the first pass: the same text earlier in `parts`, or another thread.
      std::lock_guard lock(mutex_);
      if (AudioPtr audio = findLocked(voice, text)) {
        ++stats_.hits;
        clips[index] = std::move(audio);
        continue;
      }
      ++stats_.misses;
    }
    Result<AudioPtr> audio = engine_.synthesize(text, voice);
    if (!audio) return audio.error();
    if (!*audio) return fail(ErrorCode::kInternal, "text to speech: the engine returned no clip");
    std::lock_guard lock(mutex_);
    insertLocked(voice, text, *audio);
    clips[index] = std::move(*audio);
  }
  return clips;
}

SpeechCacheStats SpeechCache::stats() const {
  std::lock_guard lock(mutex_);
  SpeechCacheStats stats = stats_;
  stats.entries = lru_.size();
  return stats;
}

}  // namespace callflow::media
