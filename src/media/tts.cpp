#include "media/tts.h"

#include <flite.h>

#include <algorithm>
#include <csetjmp>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "media/prompts.h"

// The voice's registration function: flite ships no header for it.
extern "C" cst_voice* register_cmu_us_kal(const char* voxdir);

namespace callflow::media {
namespace {

// flite's process-wide state: initialised once, never torn down (a voice outlives every
// FliteTts, and nothing is freed during static destruction while another thread may speak).
struct Flite {
  std::mutex mutex;  // one synthesis at a time, process-wide
  cst_voice* kal = nullptr;
};

Flite& flite() {
  static Flite* const state = [] {
    auto* created = new Flite;
    flite_init();
    created->kal = register_cmu_us_kal(nullptr);
    return created;
  }();
  return *state;
}

// flite_text_to_wave with flite's error exit turned into a null result. flite's cst_error()
// longjmps to cst_errjmp when it is set and calls exit() otherwise; the frame that calls
// setjmp holds only trivially destructible values, so the jump skips no destructor. Called
// with the Flite mutex held (cst_errjmp is global).
cst_wave* textToWave(const char* text, cst_voice* voice) {
  std::jmp_buf env;
  std::jmp_buf* const previous = cst_errjmp;
  cst_errjmp = &env;
  cst_wave* wave = nullptr;
  if (setjmp(env) == 0) wave = flite_text_to_wave(text, voice);
  cst_errjmp = previous;
  return wave;
}

bool blank(std::string_view text) {
  return text.find_first_not_of(" \t\r\n\f\v") == std::string_view::npos;
}

}  // namespace

FliteTts::FliteTts() { flite(); }

bool FliteTts::knowsVoice(std::string_view voice) {
  return voice.empty() || voice == "kal" || voice == "cmu_us_kal";
}

Result<AudioPtr> FliteTts::synthesize(std::string_view text, std::string_view /*voice*/) {
  // Every voice name is cmu_us_kal for now (see the header): the name is not looked at.
  if (text.size() > kMaxTtsTextBytes) {
    return fail(ErrorCode::kInvalidArgument,
                "text to speech: the text is " + std::to_string(text.size()) +
                    " bytes long; at most " + std::to_string(kMaxTtsTextBytes) + " are spoken");
  }
  auto audio = std::make_shared<Audio>();
  if (blank(text)) return AudioPtr(std::move(audio));
  std::string input(text);
  std::replace(input.begin(), input.end(), '\0', ' ');

  Flite& state = flite();
  if (state.kal == nullptr) {
    return fail(ErrorCode::kInternal, "text to speech: flite's cmu_us_kal voice did not load");
  }
  std::vector<int16_t> samples;
  int rate = 0;
  {
    std::lock_guard lock(state.mutex);
    cst_wave* wave = textToWave(input.c_str(), state.kal);
    if (wave == nullptr) {
      return fail(ErrorCode::kInternal,
                  "text to speech: flite failed on \"" + input.substr(0, 80) + "\"");
    }
    int channels = wave->num_channels > 0 ? wave->num_channels : 1;
    int frames = wave->samples != nullptr && wave->num_samples > 0 ? wave->num_samples : 0;
    rate = wave->sample_rate;
    samples.resize(static_cast<std::size_t>(frames));
    for (int i = 0; i < frames; ++i) {
      // Mixed down when a voice is ever not mono (flite's are).
      int sum = 0;
      for (int c = 0; c < channels; ++c) sum += wave->samples[i * channels + c];
      samples[static_cast<std::size_t>(i)] = static_cast<int16_t>(sum / channels);
    }
    delete_wave(wave);
  }
  if (rate != kSampleRate && !samples.empty()) {
    std::vector<float> in(samples.size());
    for (std::size_t i = 0; i < samples.size(); ++i) in[i] = samples[i] / 32768.0f;
    Result<std::vector<int16_t>> resampled = resampleTo8k(in, rate);
    if (!resampled) {
      return fail(resampled.error().code, "text to speech: " + resampled.error().message);
    }
    samples = std::move(*resampled);
  }
  audio->samples = std::move(samples);
  return AudioPtr(std::move(audio));
}

}  // namespace callflow::media
