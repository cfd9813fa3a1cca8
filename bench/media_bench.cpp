// media_bench: what the audio path costs per call.
//
//   BM_UlawEncodeFrame      one 20 ms frame (160 samples) to µ-law, as the RTP sender does
//                           every 20 ms for every call playing audio
//   BM_AlawEncodeFrame      the same to A-law
//   BM_UlawDecodeFrame      one frame of µ-law back to linear
//   BM_FliteSentence        flite (cmu_us_kal) synthesizing one sentence nobody has cached
//   BM_SpeechCacheHit       the same sentence cut into 3 parts (fixed, value, fixed), all
//                           cached: SpeechCache::lookup, what a call pays for a phrase said
//                           before
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdint>
#include <numbers>
#include <vector>

#include "callflow/channel.h"
#include "media/g711.h"
#include "media/speech_cache.h"
#include "media/tts.h"

namespace callflow::media {
namespace {

constexpr std::string_view kSentence =
    "Thank you for calling. Your account balance is forty two pounds.";

std::vector<int16_t> speechLikeFrame() {
  std::vector<int16_t> frame(kFrameSamples);
  for (std::size_t i = 0; i < frame.size(); ++i) {
    double t = static_cast<double>(i) / kSampleRate;
    frame[i] = static_cast<int16_t>(8000 * std::sin(2 * std::numbers::pi * 440 * t) +
                                    3000 * std::sin(2 * std::numbers::pi * 1230 * t));
  }
  return frame;
}

void encodeFrame(benchmark::State& state, Codec codec) {
  std::vector<int16_t> frame = speechLikeFrame();
  uint8_t out[kFrameSamples];
  for (auto _ : state) {
    benchmark::DoNotOptimize(frame.data());
    encode(codec, frame, out);
    benchmark::DoNotOptimize(out);
    benchmark::ClobberMemory();
  }
}

void BM_UlawEncodeFrame(benchmark::State& state) { encodeFrame(state, Codec::kPcmu); }
void BM_AlawEncodeFrame(benchmark::State& state) { encodeFrame(state, Codec::kPcma); }

void BM_UlawDecodeFrame(benchmark::State& state) {
  std::vector<int16_t> frame = speechLikeFrame();
  uint8_t codes[kFrameSamples];
  encode(Codec::kPcmu, frame, codes);
  int16_t out[kFrameSamples];
  for (auto _ : state) {
    benchmark::DoNotOptimize(codes);
    decode(Codec::kPcmu, codes, out);
    benchmark::DoNotOptimize(out);
    benchmark::ClobberMemory();
  }
}

void BM_FliteSentence(benchmark::State& state) {
  FliteTts tts;
  for (auto _ : state) {
    Result<AudioPtr> audio = tts.synthesize(kSentence, "");
    if (!audio) {
      state.SkipWithError(audio.error().message.c_str());
      return;
    }
    benchmark::DoNotOptimize(audio->get());
  }
}

void BM_SpeechCacheHit(benchmark::State& state) {
  FliteTts tts;
  SpeechCache cache(tts, 16 << 20);
  const SpeechPart parts[] = {{"Thank you for calling. Your account balance is", true},
                              {"forty two", false},
                              {"pounds.", true}};
  if (!cache.synthesize(parts, "")) {
    state.SkipWithError("synthesis failed");
    return;
  }
  for (auto _ : state) {
    std::optional<std::vector<AudioPtr>> clips = cache.lookup(parts, "");
    benchmark::DoNotOptimize(clips);
  }
}

BENCHMARK(BM_UlawEncodeFrame);
BENCHMARK(BM_AlawEncodeFrame);
BENCHMARK(BM_UlawDecodeFrame);
BENCHMARK(BM_FliteSentence)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_SpeechCacheHit);

}  // namespace
}  // namespace callflow::media

BENCHMARK_MAIN();
