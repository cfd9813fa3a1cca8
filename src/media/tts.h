// Text-to-speech: a text in, an 8 kHz mono clip out (media/audio.h).
//
// TtsEngine is what the rest of the IVR uses (through SpeechCache, media/speech_cache.h);
// FliteTts is the engine shipped, on CMU flite. synthesize() blocks for as long as synthesis
// takes (a few milliseconds a sentence with flite), so it runs off the call's event loop.
//
// Texts are untrusted (they carry values from APIs and callers): a NUL byte is read as a space
// and a text over kMaxTtsTextBytes is refused (kInvalidArgument), which bounds the work and the
// clip one request can cause (roughly 10 minutes of speech).
#pragma once

#include <cstddef>
#include <string_view>

#include "callflow/result.h"
#include "media/audio.h"

namespace callflow::media {

inline constexpr std::size_t kMaxTtsTextBytes = 10'000;

class TtsEngine {
 public:
  virtual ~TtsEngine() = default;

  // `text` spoken in `voice` ("" for the engine's default voice). Thread-safe. A text with
  // nothing to say (empty, blanks) gives an empty clip.
  virtual Result<AudioPtr> synthesize(std::string_view text, std::string_view voice) = 0;
};

// flite with its cmu_us_kal voice (diphone, native 8 kHz: no resampling).
//
// Voices: "", "kal" and "cmu_us_kal" are cmu_us_kal, the only voice built in; any other name
// falls back to it rather than failing the call (a flow written for another engine still
// talks). flite keeps global state and is not known to be thread-safe, so every FliteTts in
// the process shares one lock: syntheses run one at a time. flite ends the process on an
// internal error unless told where to jump; FliteTts catches that and returns kInternal.
class FliteTts : public TtsEngine {
 public:
  FliteTts();  // initialises flite and loads the voice, once per process

  // Whether `voice` names a voice built in ("", "kal", "cmu_us_kal"): where a person picks a
  // voice (the designer), an unknown name is refused rather than spoken with cmu_us_kal.
  static bool knowsVoice(std::string_view voice);

  Result<AudioPtr> synthesize(std::string_view text, std::string_view voice) override;
};

}  // namespace callflow::media
