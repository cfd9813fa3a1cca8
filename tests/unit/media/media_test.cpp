// The media library (src/media/): G.711 against the reference algorithms, prompt files of
// several formats written here with libsndfile, prompt names that must stay in their folder,
// flite, the speech cache with a counting engine, RTP parsing of good and malformed packets,
// and RFC 4733 digits.
#include <gtest/gtest.h>
#include <sndfile.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <numbers>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "callflow/channel.h"
#include "media/audio.h"
#include "media/g711.h"
#include "media/prompts.h"
#include "media/rtp.h"
#include "media/speech_cache.h"
#include "media/tts.h"
#include "unit/store/temp_dir.h"

namespace callflow::media {
namespace {

using test_support::TempDir;

// ---------------------------------------------------------------------------------------------
// G.711

// Independent formulations to check the tables against (the library's tables come from the
// ITU-T G.191 loops): the encoders as spandsp writes them (bias and top bit; A-law with the
// "-1" correction WebRTC made to match G.191), the decoders as Sun's g711.c does.
int topBit(int value) { return 31 - std::countl_zero(static_cast<uint32_t>(value)); }

uint8_t spandspUlaw(int linear) {
  int mask = 0xFF;
  if (linear < 0) {
    linear = 0x84 - linear - 1;
    mask = 0x7F;
  } else {
    linear = 0x84 + linear;
  }
  int seg = topBit(linear | 0xFF) - 7;
  if (seg >= 8) return static_cast<uint8_t>(0x7F ^ mask);
  return static_cast<uint8_t>(((seg << 4) | ((linear >> (seg + 3)) & 0xF)) ^ mask);
}

uint8_t spandspAlaw(int linear) {
  int mask = 0x80 | 0x55;
  if (linear < 0) {
    mask = 0x55;
    linear = -linear - 1;
  }
  int seg = topBit(linear | 0xFF) - 7;
  if (seg >= 8) return static_cast<uint8_t>(0x7F ^ mask);
  return static_cast<uint8_t>(((seg << 4) | ((linear >> (seg ? seg + 3 : 4)) & 0xF)) ^ mask);
}

int sunUlawDecode(uint8_t code) {
  int u = ~code & 0xFF;
  int t = ((u & 0xF) << 3) + 0x84;
  t <<= (u & 0x70) >> 4;
  return (u & 0x80) ? 0x84 - t : t - 0x84;
}

int sunAlawDecode(uint8_t code) {
  int a = code ^ 0x55;
  int t = (a & 0xF) << 4;
  int seg = (a & 0x70) >> 4;
  if (seg == 0) {
    t += 8;
  } else {
    t += 0x108;
    if (seg > 1) t <<= seg - 1;
  }
  return (a & 0x80) ? t : -t;
}

TEST(G711Test, KnownValues) {
  EXPECT_EQ(encodeUlaw(0), 0xFF);
  EXPECT_EQ(encodeUlaw(-1), 0x7F);  // one's complement: -1 is quantised like 0, sign cleared
  EXPECT_EQ(encodeUlaw(32767), 0x80);
  EXPECT_EQ(encodeUlaw(-32768), 0x00);
  EXPECT_EQ(encodeAlaw(0), 0xD5);
  EXPECT_EQ(encodeAlaw(-1), 0x55);
  EXPECT_EQ(encodeAlaw(32767), 0xAA);
  EXPECT_EQ(encodeAlaw(-32768), 0x2A);

  EXPECT_EQ(decodeUlaw(0xFF), 0);
  EXPECT_EQ(decodeUlaw(0x7F), 0);
  EXPECT_EQ(decodeUlaw(0x80), 32124);
  EXPECT_EQ(decodeUlaw(0x00), -32124);
  EXPECT_EQ(decodeUlaw(0xFE), 8);
  EXPECT_EQ(decodeUlaw(0xEF), 132);
  EXPECT_EQ(decodeAlaw(0xD5), 8);
  EXPECT_EQ(decodeAlaw(0x55), -8);
  EXPECT_EQ(decodeAlaw(0xAA), 32256);
  EXPECT_EQ(decodeAlaw(0x2A), -32256);
}

TEST(G711Test, EveryInputEncodesAsTheSpandspFormulation) {
  for (int x = -32768; x <= 32767; ++x) {
    auto sample = static_cast<int16_t>(x);
    ASSERT_EQ(encodeUlaw(sample), spandspUlaw(x)) << "µ-law " << x;
    ASSERT_EQ(encodeAlaw(sample), spandspAlaw(x)) << "A-law " << x;
  }
}

TEST(G711Test, EveryCodeDecodesAsSunsDecoder) {
  for (int code = 0; code < 256; ++code) {
    auto c = static_cast<uint8_t>(code);
    EXPECT_EQ(decodeUlaw(c), sunUlawDecode(c)) << "µ-law " << code;
    EXPECT_EQ(decodeAlaw(c), sunAlawDecode(c)) << "A-law " << code;
  }
}

// Decoding gives an interval's middle, which encodes back to the same code: all 256 A-law
// codes, and every µ-law code but 0x7F ("negative zero"), which decodes to 0 like 0xFF does,
// and 0 encodes to 0xFF.
TEST(G711Test, DecodedCodesEncodeBackToThemselves) {
  for (int code = 0; code < 256; ++code) {
    auto c = static_cast<uint8_t>(code);
    EXPECT_EQ(encodeAlaw(decodeAlaw(c)), c) << "A-law " << code;
    EXPECT_EQ(encodeUlaw(decodeUlaw(c)), code == 0x7F ? 0xFF : c) << "µ-law " << code;
  }
}

// The quantisation error is at most half a step: 1/32 of the magnitude or so, at least 4
// (µ-law) or 8 (A-law) near zero; clipping at the ends stays within that too.
TEST(G711Test, RoundTripErrorIsHalfAStep) {
  for (int x = -32768; x <= 32767; ++x) {
    auto sample = static_cast<int16_t>(x);
    int ulaw_error = std::abs(decodeUlaw(encodeUlaw(sample)) - x);
    int alaw_error = std::abs(decodeAlaw(encodeAlaw(sample)) - x);
    ASSERT_LE(ulaw_error, std::max(4, (std::abs(x) + 132) / 32)) << x;
    ASSERT_LE(alaw_error, std::max(8, std::abs(x) / 32)) << x;
  }
}

TEST(G711Test, SpansMatchSingleSamples) {
  std::vector<int16_t> samples;
  for (int i = 0; i < 1000; ++i) samples.push_back(static_cast<int16_t>(i * 65 - 32768));
  for (Codec codec : {Codec::kPcmu, Codec::kPcma}) {
    std::vector<uint8_t> codes(samples.size());
    encode(codec, samples, codes.data());
    std::vector<int16_t> decoded(codes.size());
    decode(codec, codes, decoded.data());
    for (std::size_t i = 0; i < samples.size(); ++i) {
      bool ulaw = codec == Codec::kPcmu;
      ASSERT_EQ(codes[i], ulaw ? encodeUlaw(samples[i]) : encodeAlaw(samples[i])) << i;
      ASSERT_EQ(decoded[i], ulaw ? decodeUlaw(codes[i]) : decodeAlaw(codes[i])) << i;
    }
  }
  EXPECT_EQ(payloadType(Codec::kPcmu), 0);
  EXPECT_EQ(payloadType(Codec::kPcma), 8);
}

// ---------------------------------------------------------------------------------------------
// Prompt files

constexpr double kPi = std::numbers::pi;

// A sine of `frequency` Hz and amplitude `amplitude` (full scale 1.0), `seconds` long, written
// by libsndfile at `rate` Hz in `format`, the same on every channel (or inverted on the second
// when `opposite`).
void writeSine(const std::filesystem::path& path, int rate, int channels, int format,
               double seconds, double frequency = 1000, double amplitude = 0.5,
               bool opposite = false) {
  SF_INFO info{};
  info.samplerate = rate;
  info.channels = channels;
  info.format = format;
  SNDFILE* file = sf_open(path.c_str(), SFM_WRITE, &info);
  ASSERT_NE(file, nullptr) << sf_strerror(nullptr);
  auto frames = static_cast<std::size_t>(std::lround(seconds * rate));
  std::vector<float> data(frames * static_cast<std::size_t>(channels));
  for (std::size_t i = 0; i < frames; ++i) {
    // Phase 0.3: no sample sits on a zero crossing at 8 kHz.
    auto value = static_cast<float>(amplitude * std::sin(2 * kPi * frequency * i / rate + 0.3));
    for (int c = 0; c < channels; ++c) {
      data[i * channels + c] = opposite && c == 1 ? -value : value;
    }
  }
  ASSERT_EQ(sf_writef_float(file, data.data(), static_cast<sf_count_t>(frames)),
            static_cast<sf_count_t>(frames));
  sf_close(file);
}

// Sign changes, counted from the middle 90% (the resampler's edges left out), per second.
double crossingsPerSecond(const std::vector<int16_t>& samples) {
  std::size_t from = samples.size() / 20;
  std::size_t to = samples.size() - from;
  int crossings = 0;
  for (std::size_t i = from + 1; i < to; ++i) {
    if ((samples[i - 1] >= 0) != (samples[i] >= 0)) ++crossings;
  }
  return crossings / (static_cast<double>(to - from - 1) / kSampleRate);
}

double rms(const std::vector<int16_t>& samples) {
  double sum = 0;
  for (int16_t s : samples) sum += static_cast<double>(s) * s;
  return samples.empty() ? 0 : std::sqrt(sum / static_cast<double>(samples.size()));
}

struct FormatCase {
  const char* name;
  int rate;
  int channels;
  int format;
};

class PromptFormatTest : public ::testing::TestWithParam<FormatCase> {};

// 1.5 s of a 1 kHz sine at half scale, in each format: 1.5 s at 8 kHz after conversion (within
// 1%), still 1 kHz (2,000 zero crossings a second, within 2%), still half scale (RMS within 5%).
TEST_P(PromptFormatTest, ConvertsTo8kMonoKeepingLengthPitchAndLevel) {
  const FormatCase& format = GetParam();
  TempDir dir;
  std::filesystem::path path = dir.path() / (std::string(format.name) + ".wav");
  writeSine(path, format.rate, format.channels, format.format, 1.5);

  Result<AudioPtr> audio = loadFile(path);
  ASSERT_TRUE(audio) << audio.error().message;
  const std::vector<int16_t>& samples = (*audio)->samples;
  EXPECT_NEAR((*audio)->seconds(), 1.5, 0.015);
  EXPECT_NEAR(crossingsPerSecond(samples), 2000, 40);
  EXPECT_NEAR(rms(samples), 0.5 * 32768 / std::sqrt(2.0), 0.05 * 0.5 * 32768 / std::sqrt(2.0));
}

INSTANTIATE_TEST_SUITE_P(
    Formats, PromptFormatTest,
    ::testing::Values(FormatCase{"pcm16_8k", 8000, 1, SF_FORMAT_WAV | SF_FORMAT_PCM_16},
                      FormatCase{"pcm16_16k", 16000, 1, SF_FORMAT_WAV | SF_FORMAT_PCM_16},
                      FormatCase{"float_44k1_stereo", 44100, 2, SF_FORMAT_WAV | SF_FORMAT_FLOAT},
                      FormatCase{"u8_8k", 8000, 1, SF_FORMAT_WAV | SF_FORMAT_PCM_U8},
                      FormatCase{"u8_22k05", 22050, 1, SF_FORMAT_WAV | SF_FORMAT_PCM_U8}),
    [](const ::testing::TestParamInfo<FormatCase>& info) { return info.param.name; });

TEST(PromptFileTest, SixteenBitAt8kIsReadBitExact) {
  TempDir dir;
  std::filesystem::path path = dir.path() / "exact.wav";
  std::vector<int16_t> written;
  for (int i = 0; i < 8000; ++i) {
    written.push_back(static_cast<int16_t>((i * 7919) % 65536 - 32768));
  }
  SF_INFO info{};
  info.samplerate = 8000;
  info.channels = 1;
  info.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
  SNDFILE* file = sf_open(path.c_str(), SFM_WRITE, &info);
  ASSERT_NE(file, nullptr);
  ASSERT_EQ(sf_writef_short(file, written.data(), 8000), 8000);
  sf_close(file);

  Result<AudioPtr> audio = loadFile(path);
  ASSERT_TRUE(audio) << audio.error().message;
  EXPECT_EQ((*audio)->samples, written);
}

TEST(PromptFileTest, StereoIsMixedDownByAveraging) {
  TempDir dir;
  std::filesystem::path path = dir.path() / "opposite.wav";
  // Left and right cancel out: the average is silence.
  writeSine(path, 8000, 2, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 0.5, 1000, 0.5, true);
  Result<AudioPtr> audio = loadFile(path);
  ASSERT_TRUE(audio) << audio.error().message;
  EXPECT_EQ((*audio)->samples.size(), 4000u);
  EXPECT_LT(rms((*audio)->samples), 2.0);
}

TEST(PromptFileTest, ResampleTo8kKeepsPitch) {
  std::vector<float> sine(16000);
  for (std::size_t i = 0; i < sine.size(); ++i) {
    sine[i] = static_cast<float>(0.5 * std::sin(2 * kPi * 1000 * i / 16000 + 0.3));
  }
  Result<std::vector<int16_t>> resampled = resampleTo8k(sine, 16000);
  ASSERT_TRUE(resampled) << resampled.error().message;
  EXPECT_EQ(resampled->size(), 8000u);
  EXPECT_NEAR(crossingsPerSecond(*resampled), 2000, 40);

  EXPECT_FALSE(resampleTo8k(sine, 500));
  // Out of range and NaN samples are clipped and zeroed, not undefined.
  std::vector<float> wild = {2.0f, -2.0f, std::nanf(""), 1.0f, -1.0f};
  Result<std::vector<int16_t>> clipped = resampleTo8k(wild, 8000);
  ASSERT_TRUE(clipped);
  EXPECT_EQ(*clipped, (std::vector<int16_t>{32767, -32768, 0, 32767, -32768}));
}

TEST(PromptFileTest, LongerThanTheCapIsRefused) {
  TempDir dir;
  std::filesystem::path path = dir.path() / "long.wav";
  writeSine(path, 8000, 1, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 2.0);
  Result<AudioPtr> audio = loadFile(path, 1.0);
  ASSERT_FALSE(audio);
  EXPECT_EQ(audio.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(audio.error().message.find("longer than 1 s"), std::string::npos)
      << audio.error().message;
  EXPECT_TRUE(loadFile(path, 2.5));
}

TEST(PromptFileTest, MissingAndNonAudioFiles) {
  TempDir dir;
  Result<AudioPtr> missing = loadFile(dir.path() / "nothing.wav");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  EXPECT_NE(missing.error().message.find("nothing.wav"), std::string::npos);

  std::ofstream(dir.path() / "notes.wav") << "not a RIFF file at all";
  Result<AudioPtr> text = loadFile(dir.path() / "notes.wav");
  ASSERT_FALSE(text);
  EXPECT_EQ(text.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(text.error().message.find("notes.wav"), std::string::npos);

  Result<AudioPtr> folder = loadFile(dir.path());
  ASSERT_FALSE(folder);
  EXPECT_EQ(folder.error().code, ErrorCode::kInvalidArgument);
}

// A prompts folder with one prompt, a sub-folder, and a file outside it.
struct PromptFolder {
  TempDir dir;
  std::filesystem::path prompts = dir.path() / "prompts";
  std::filesystem::path outside = dir.path() / "secret.wav";

  PromptFolder() {
    std::filesystem::create_directories(prompts / "sub");
    writeSine(prompts / "hello.wav", 16000, 1, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 0.5);
    writeSine(prompts / "sub" / "menu.wav", 8000, 1, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 0.25);
    writeSine(outside, 8000, 1, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 0.25);
    std::filesystem::create_symlink(outside, prompts / "escape.wav");
    std::filesystem::create_symlink(prompts / "hello.wav", prompts / "alias.wav");
  }
};

TEST(PromptCacheTest, LoadsOnceAndSharesTheClip) {
  PromptFolder folder;
  PromptCache cache(folder.prompts);
  Result<AudioPtr> first = cache.load("hello.wav");
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_NEAR((*first)->seconds(), 0.5, 0.005);
  Result<AudioPtr> again = cache.load("hello.wav");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->get(), first->get());
  // Other spellings of the same file, and a link to it inside the folder, share the conversion.
  EXPECT_EQ(cache.load("./hello.wav")->get(), first->get());
  EXPECT_EQ(cache.load("alias.wav")->get(), first->get());
  EXPECT_EQ(cache.files(), 1u);
  EXPECT_EQ(cache.bytes(), 4000u * sizeof(int16_t));

  Result<AudioPtr> nested = cache.load("sub/menu.wav");
  ASSERT_TRUE(nested) << nested.error().message;
  EXPECT_EQ((*nested)->samples.size(), 2000u);
  EXPECT_EQ(cache.files(), 2u);
}

TEST(PromptCacheTest, ConcurrentFirstLoadsConvertOnce) {
  PromptFolder folder;
  PromptCache cache(folder.prompts);
  constexpr int kThreads = 8;
  std::vector<AudioPtr> results(kThreads);
  {
    std::vector<std::jthread> threads;
    for (int i = 0; i < kThreads; ++i) {
      threads.emplace_back([&, i] {
        Result<AudioPtr> audio = cache.load(i % 2 ? "hello.wav" : "alias.wav");
        if (audio) results[i] = *audio;
      });
    }
  }
  for (const AudioPtr& audio : results) {
    ASSERT_NE(audio, nullptr);
    EXPECT_EQ(audio.get(), results[0].get());  // a second conversion would be another clip
  }
  EXPECT_EQ(cache.files(), 1u);
}

TEST(PromptCacheTest, MissingPromptIsNotFound) {
  PromptFolder folder;
  PromptCache cache(folder.prompts);
  for (std::string_view name : {"welcome.wav", "sub/nothing.wav", "hello.wav/x"}) {
    Result<AudioPtr> audio = cache.load(name);
    ASSERT_FALSE(audio) << name;
    EXPECT_EQ(audio.error().code, ErrorCode::kNotFound) << audio.error().message;
    EXPECT_NE(audio.error().message.find("prompt \"" + std::string(name) + "\""), std::string::npos)
        << audio.error().message;
  }
  // A prompt added later is found: failures are not cached.
  writeSine(folder.prompts / "welcome.wav", 8000, 1, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 0.1);
  EXPECT_TRUE(cache.load("welcome.wav"));
}

TEST(PromptCacheTest, NamesOutsideTheFolderAreRefused) {
  PromptFolder folder;
  PromptCache cache(folder.prompts);
  const std::string nul_name("hello.wav\0.txt", 14);
  const std::string absolute = folder.outside.string();
  for (std::string_view name :
       {std::string_view(""), std::string_view(absolute), std::string_view("../secret.wav"),
        std::string_view("sub/../../secret.wav"), std::string_view("sub/../hello.wav"),
        std::string_view(".."), std::string_view(nul_name), std::string_view("escape.wav"),
        std::string_view("sub"), std::string_view(".")}) {
    Result<AudioPtr> audio = cache.load(name);
    ASSERT_FALSE(audio) << name;
    EXPECT_EQ(audio.error().code, ErrorCode::kInvalidArgument) << audio.error().message;
    EXPECT_EQ(audio.error().message.rfind("prompt \"", 0), 0u) << audio.error().message;
  }
  // The NUL is shown escaped, and the reasons say what is wrong.
  EXPECT_NE(cache.load(nul_name).error().message.find("hello.wav\\x00.txt"), std::string::npos);
  EXPECT_NE(cache.load("escape.wav").error().message.find("outside the prompts folder"),
            std::string::npos);
  EXPECT_NE(cache.load("../secret.wav").error().message.find("\"..\""), std::string::npos);
  EXPECT_NE(cache.load(absolute).error().message.find("absolute"), std::string::npos);
  EXPECT_EQ(cache.files(), 0u);
}

TEST(PromptCacheTest, MissingFolderIsNotFound) {
  TempDir dir;
  PromptCache cache(dir.path() / "no-such-folder");
  Result<AudioPtr> audio = cache.load("hello.wav");
  ASSERT_FALSE(audio);
  EXPECT_EQ(audio.error().code, ErrorCode::kNotFound);
}

TEST(PromptCacheTest, ForgetReadsTheReplacedFileAgain) {
  PromptFolder folder;
  PromptCache cache(folder.prompts);
  Result<AudioPtr> first = cache.load("hello.wav");
  ASSERT_TRUE(first) << first.error().message;
  ASSERT_TRUE(cache.load("alias.wav"));  // a link sharing the conversion
  writeSine(folder.prompts / "hello.wav", 8000, 1, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 1.0);
  EXPECT_EQ(cache.load("hello.wav")->get(), first->get());  // kept until forgotten
  cache.forget("hello.wav");
  EXPECT_EQ(cache.files(), 0u);
  EXPECT_EQ(cache.bytes(), 0u);
  Result<AudioPtr> second = cache.load("hello.wav");
  ASSERT_TRUE(second) << second.error().message;
  EXPECT_NEAR((*second)->seconds(), 1.0, 0.005);
  EXPECT_NEAR((*cache.load("alias.wav"))->seconds(), 1.0, 0.005);  // the link too
  EXPECT_NEAR((*first)->seconds(), 0.5, 0.005);  // a call holding the old clip keeps it

  std::filesystem::remove(folder.prompts / "hello.wav");
  cache.forget("hello.wav");
  EXPECT_EQ(cache.load("hello.wav").error().code, ErrorCode::kNotFound);
  cache.forget("never-loaded.wav");  // harmless
  ASSERT_TRUE(cache.load("sub/menu.wav"));
  EXPECT_EQ(cache.files(), 1u);
}

std::string fileBytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

TEST(WavBytesTest, DecodesAnyWavAndRefusesOtherFormats) {
  TempDir dir;
  writeSine(dir.path() / "stereo24.wav", 44100, 2, SF_FORMAT_WAV | SF_FORMAT_PCM_24, 1.5);
  writeSine(dir.path() / "float.wav", 48000, 1, SF_FORMAT_WAVEX | SF_FORMAT_FLOAT, 0.5);
  writeSine(dir.path() / "tone.aiff", 8000, 1, SF_FORMAT_AIFF | SF_FORMAT_PCM_16, 0.5);
  writeSine(dir.path() / "tone.flac", 8000, 1, SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 0.5);

  std::string stereo = fileBytes(dir.path() / "stereo24.wav");
  EXPECT_TRUE(isWav(stereo));
  Result<AudioPtr> audio = decodeWav(stereo);
  ASSERT_TRUE(audio) << audio.error().message;
  EXPECT_NEAR((*audio)->seconds(), 1.5, 0.005);
  EXPECT_NEAR(crossingsPerSecond((*audio)->samples), 2000, 40);
  EXPECT_NEAR(*fileSeconds(dir.path() / "stereo24.wav"), 1.5, 0.001);
  Result<AudioPtr> extensible = decodeWav(fileBytes(dir.path() / "float.wav"));
  ASSERT_TRUE(extensible) << extensible.error().message;
  EXPECT_EQ((*extensible)->samples.size(), 4000u);

  for (const char* other : {"tone.aiff", "tone.flac"}) {
    std::string bytes = fileBytes(dir.path() / other);
    EXPECT_FALSE(isWav(bytes)) << other;
    Result<AudioPtr> refused = decodeWav(bytes);
    ASSERT_FALSE(refused) << other;
    EXPECT_EQ(refused.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(refused.error().message.find("not a WAV file"), std::string::npos)
        << refused.error().message;
  }
  for (std::string_view junk : {std::string_view(""), std::string_view("RIFF"),
                                std::string_view("not audio at all, just text")}) {
    EXPECT_FALSE(isWav(junk));
    EXPECT_FALSE(decodeWav(junk));
  }
  // A WAV refused for what it holds: too long.
  Result<AudioPtr> too_long = decodeWav(stereo, 1.0);
  ASSERT_FALSE(too_long);
  EXPECT_TRUE(isWav(stereo));
  EXPECT_NE(too_long.error().message.find("longer than 1 s"), std::string::npos);
}

TEST(WavBytesTest, EncodedClipsReadBackBitExact) {
  Audio audio;
  for (int i = 0; i < 1000; ++i) audio.samples.push_back(static_cast<int16_t>(i * 61 - 30000));
  std::string wav = encodeWav(audio);
  ASSERT_EQ(wav.size(), 44u + 2000u);
  EXPECT_EQ(wav.substr(0, 4), "RIFF");
  EXPECT_EQ(wav.substr(8, 8), "WAVEfmt ");
  Result<AudioPtr> back = decodeWav(wav);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ((*back)->samples, audio.samples);
  EXPECT_EQ(encodeWav(Audio{}).size(), 44u);
  EXPECT_TRUE(isWav(encodeWav(Audio{})));
}

// ---------------------------------------------------------------------------------------------
// flite

bool sameSamples(const AudioPtr& a, const AudioPtr& b) { return a->samples == b->samples; }

TEST(FliteTtsTest, SpeaksAPlausibleClip) {
  FliteTts tts;
  Result<AudioPtr> audio = tts.synthesize("Your value is Gold", "");
  ASSERT_TRUE(audio) << audio.error().message;
  EXPECT_GE((*audio)->seconds(), 0.8);
  EXPECT_LE((*audio)->seconds(), 3.0);
  EXPECT_GT(rms((*audio)->samples), 300);
  auto [low, high] = std::minmax_element((*audio)->samples.begin(), (*audio)->samples.end());
  EXPECT_GT(*high - *low, 4000);
}

TEST(FliteTtsTest, KnownVoices) {
  for (std::string_view voice : {"", "kal", "cmu_us_kal"}) EXPECT_TRUE(FliteTts::knowsVoice(voice));
  for (std::string_view voice : {"bob", "KAL", "kal16", " kal"}) {
    EXPECT_FALSE(FliteTts::knowsVoice(voice));
  }
}

TEST(FliteTtsTest, VoicesAndOddTexts) {
  FliteTts tts;
  Result<AudioPtr> kal = tts.synthesize("Hello", "");
  ASSERT_TRUE(kal) << kal.error().message;
  // "kal", the full name and an unknown voice all speak with cmu_us_kal (flite is deterministic).
  for (std::string_view voice : {"kal", "cmu_us_kal", "no_such_voice"}) {
    Result<AudioPtr> other = tts.synthesize("Hello", voice);
    ASSERT_TRUE(other) << voice;
    EXPECT_TRUE(sameSamples(*kal, *other)) << voice;
  }
  Result<AudioPtr> blank = tts.synthesize(" \t\n", "");
  ASSERT_TRUE(blank);
  EXPECT_TRUE((*blank)->samples.empty());

  Result<AudioPtr> with_nul = tts.synthesize(std::string_view("one\0two", 7), "");
  ASSERT_TRUE(with_nul);
  EXPECT_GT((*with_nul)->seconds(), 0.3);

  Result<AudioPtr> too_long = tts.synthesize(std::string(kMaxTtsTextBytes + 1, 'a'), "");
  ASSERT_FALSE(too_long);
  EXPECT_EQ(too_long.error().code, ErrorCode::kInvalidArgument);
}

TEST(FliteTtsTest, ConcurrentCallersGetTheSameSpeech) {
  FliteTts tts;
  Result<AudioPtr> expected = tts.synthesize("Thank you for calling.", "");
  ASSERT_TRUE(expected);
  std::vector<AudioPtr> results(4);
  {
    std::vector<std::jthread> threads;
    for (std::size_t i = 0; i < results.size(); ++i) {
      threads.emplace_back([&, i] {
        Result<AudioPtr> audio = FliteTts().synthesize("Thank you for calling.", "");
        if (audio) results[i] = *audio;
      });
    }
  }
  for (const AudioPtr& audio : results) {
    ASSERT_NE(audio, nullptr);
    EXPECT_TRUE(sameSamples(audio, *expected));
  }
}

// ---------------------------------------------------------------------------------------------
// SpeechCache

// Counts syntheses per (voice, text); a clip has 100 samples per byte of text.
class CountingTts : public TtsEngine {
 public:
  Result<AudioPtr> synthesize(std::string_view text, std::string_view voice) override {
    std::lock_guard lock(mutex_);
    if (text == "fail") return fail(ErrorCode::kInternal, "text to speech: cannot say fail");
    ++calls_[std::string(voice) + "|" + std::string(text)];
    auto audio = std::make_shared<Audio>();
    audio->samples.assign(text.size() * 100, static_cast<int16_t>(text.size()));
    return AudioPtr(std::move(audio));
  }

  int calls(std::string_view voice, std::string_view text) {
    std::lock_guard lock(mutex_);
    auto it = calls_.find(std::string(voice) + "|" + std::string(text));
    return it == calls_.end() ? 0 : it->second;
  }
  int total() {
    std::lock_guard lock(mutex_);
    int sum = 0;
    for (const auto& [key, count] : calls_) sum += count;
    return sum;
  }

 private:
  std::mutex mutex_;
  std::map<std::string, int> calls_;
};

// The bytes one entry of the counting engine costs in the cache.
std::size_t entryBytes(std::string_view voice, std::string_view text) {
  return text.size() * 100 * sizeof(int16_t) + voice.size() + text.size() +
         SpeechCache::kEntryOverhead;
}

TEST(SpeechCacheTest, FixedPartsAreSynthesizedOnceAndValuesWhenNew) {
  CountingTts tts;
  SpeechCache cache(tts, 1 << 20);
  const SpeechPart gold[] = {{"Your value is ", true}, {"Gold", false}, {".", true}};
  const SpeechPart silver[] = {{"Your value is ", true}, {"Silver", false}, {".", true}};

  EXPECT_FALSE(cache.lookup(gold, ""));
  Result<std::vector<AudioPtr>> first = cache.synthesize(gold, "");
  ASSERT_TRUE(first) << first.error().message;
  ASSERT_EQ(first->size(), 3u);
  EXPECT_EQ((*first)[0]->samples.size(), 1300u);  // "Your value is", trimmed
  EXPECT_EQ((*first)[1]->samples.size(), 400u);
  EXPECT_EQ(cache.stats().misses, 3u);
  EXPECT_EQ(cache.stats().hits, 0u);

  std::optional<std::vector<AudioPtr>> hit = cache.lookup(gold, "");
  ASSERT_TRUE(hit);
  for (std::size_t i = 0; i < 3; ++i) EXPECT_EQ((*hit)[i].get(), (*first)[i].get());
  EXPECT_EQ(cache.stats().hits, 3u);

  Result<std::vector<AudioPtr>> second = cache.synthesize(silver, "");
  ASSERT_TRUE(second);
  EXPECT_EQ((*second)[0].get(), (*first)[0].get());
  EXPECT_EQ((*second)[2].get(), (*first)[2].get());
  EXPECT_EQ(tts.calls("", "Your value is"), 1);
  EXPECT_EQ(tts.calls("", "Silver"), 1);
  EXPECT_EQ(tts.total(), 4);
  SpeechCacheStats stats = cache.stats();
  EXPECT_EQ(stats.hits, 5u);
  EXPECT_EQ(stats.misses, 4u);
  EXPECT_EQ(stats.entries, 4u);
  EXPECT_EQ(stats.bytes, entryBytes("", "Your value is") + entryBytes("", "Gold") +
                             entryBytes("", ".") + entryBytes("", "Silver"));
}

TEST(SpeechCacheTest, BlankPartsGiveNoClipAndBlanksAroundAPartDoNotMatter) {
  CountingTts tts;
  SpeechCache cache(tts, 1 << 20);
  const SpeechPart parts[] = {{"  ", true}, {"Gold ", false}, {"", true}, {"\tGold", false}};
  Result<std::vector<AudioPtr>> clips = cache.synthesize(parts, "");
  ASSERT_TRUE(clips);
  ASSERT_EQ(clips->size(), 2u);
  EXPECT_EQ((*clips)[0].get(), (*clips)[1].get());  // the second "Gold" found the first
  EXPECT_EQ(tts.calls("", "Gold"), 1);

  Result<std::vector<AudioPtr>> none = cache.synthesize(std::span<const SpeechPart>(), "");
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
  const SpeechPart blank[] = {{" \n ", true}};
  std::optional<std::vector<AudioPtr>> nothing = cache.lookup(blank, "");
  ASSERT_TRUE(nothing);
  EXPECT_TRUE(nothing->empty());
}

TEST(SpeechCacheTest, LookupNeverSynthesizes) {
  CountingTts tts;
  SpeechCache cache(tts, 1 << 20);
  const SpeechPart known[] = {{"Hello", true}};
  const SpeechPart mixed[] = {{"Hello", true}, {"stranger", false}};
  ASSERT_TRUE(cache.synthesize(known, ""));
  EXPECT_FALSE(cache.lookup(mixed, ""));
  EXPECT_EQ(tts.total(), 1);
  EXPECT_EQ(cache.stats().hits, 0u);
  EXPECT_EQ(cache.stats().misses, 1u);
}

TEST(SpeechCacheTest, VoiceIsPartOfTheKey) {
  CountingTts tts;
  SpeechCache cache(tts, 1 << 20);
  const SpeechPart parts[] = {{"Hello", true}};
  ASSERT_TRUE(cache.synthesize(parts, "kal"));
  EXPECT_FALSE(cache.lookup(parts, "slt"));
  ASSERT_TRUE(cache.synthesize(parts, "slt"));
  EXPECT_EQ(tts.calls("kal", "Hello"), 1);
  EXPECT_EQ(tts.calls("slt", "Hello"), 1);
}

TEST(SpeechCacheTest, EvictsTheLeastRecentlyUsed) {
  CountingTts tts;
  // Room for two four-letter entries, not three.
  SpeechCache cache(tts, 2 * entryBytes("", "aaaa") + 10);
  const SpeechPart a[] = {{"aaaa", true}};
  const SpeechPart b[] = {{"bbbb", true}};
  const SpeechPart c[] = {{"cccc", true}};
  ASSERT_TRUE(cache.synthesize(a, ""));
  ASSERT_TRUE(cache.synthesize(b, ""));
  ASSERT_TRUE(cache.lookup(a, ""));  // a is now the most recently used
  ASSERT_TRUE(cache.synthesize(c, ""));

  EXPECT_TRUE(cache.lookup(a, ""));
  EXPECT_FALSE(cache.lookup(b, ""));
  EXPECT_TRUE(cache.lookup(c, ""));
  SpeechCacheStats stats = cache.stats();
  EXPECT_EQ(stats.evictions, 1u);
  EXPECT_EQ(stats.entries, 2u);
  EXPECT_EQ(stats.bytes, 2 * entryBytes("", "aaaa"));

  // A clip bigger than the whole cache is returned but not kept, and evicts nothing.
  const SpeechPart huge[] = {{std::string_view("a very long sentence indeed"), false}};
  Result<std::vector<AudioPtr>> clips = cache.synthesize(huge, "");
  ASSERT_TRUE(clips);
  EXPECT_EQ(clips->size(), 1u);
  EXPECT_FALSE(cache.lookup(huge, ""));
  EXPECT_EQ(cache.stats().entries, 2u);
}

TEST(SpeechCacheTest, EngineErrorsAreReturned) {
  CountingTts tts;
  SpeechCache cache(tts, 1 << 20);
  const SpeechPart parts[] = {{"Hello", true}, {"fail", false}};
  Result<std::vector<AudioPtr>> clips = cache.synthesize(parts, "");
  ASSERT_FALSE(clips);
  EXPECT_EQ(clips.error().message, "text to speech: cannot say fail");
  // What did synthesize is kept.
  const SpeechPart hello[] = {{"Hello", true}};
  EXPECT_TRUE(cache.lookup(hello, ""));
}

TEST(SpeechCacheTest, ManyThreads) {
  CountingTts tts;
  SpeechCache cache(tts, 20 * entryBytes("", "value 00"));
  constexpr int kThreads = 4;
  constexpr int kCalls = 200;
  std::atomic<int> failures = 0;
  {
    std::vector<std::jthread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kCalls; ++i) {
          std::string value = "value " + std::to_string((i * 7 + t) % 30);
          const SpeechPart parts[] = {{"Your value is", true}, {value, false}};
          Result<std::vector<AudioPtr>> clips = cache.synthesize(parts, "");
          if (!clips || clips->size() != 2 || (*clips)[1]->samples.size() != value.size() * 100) {
            ++failures;
          }
        }
      });
    }
  }
  EXPECT_EQ(failures, 0);
  SpeechCacheStats stats = cache.stats();
  EXPECT_EQ(stats.hits + stats.misses, 2u * kThreads * kCalls);
  EXPECT_EQ(stats.misses, static_cast<uint64_t>(tts.total()));
  EXPECT_LE(stats.bytes, 20 * entryBytes("", "value 00"));
}

// ---------------------------------------------------------------------------------------------
// RTP

std::vector<uint8_t> header(uint8_t first_byte, uint8_t pt = 0) {
  return {first_byte, pt, 0x12, 0x34, 0xDE, 0xAD, 0xBE, 0xEF, 0x01, 0x02, 0x03, 0x04};
}

TEST(RtpTest, BuildAndParseRoundTrip) {
  RtpHeader sent{.payload_type = 101,
                 .marker = true,
                 .sequence = 0xBEEF,
                 .timestamp = 0xFEEDF00D,
                 .ssrc = 0x01020304};
  std::vector<uint8_t> datagram(kRtpHeaderBytes + 160, 0x55);
  writeRtpHeader(sent, std::span<uint8_t>(datagram).first<kRtpHeaderBytes>());
  EXPECT_EQ(datagram[0], 0x80);
  EXPECT_EQ(datagram[1], 0x80 | 101);
  EXPECT_EQ(datagram[2], 0xBE);
  EXPECT_EQ(datagram[3], 0xEF);

  Result<RtpPacket> packet = parseRtp(datagram);
  ASSERT_TRUE(packet) << packet.error().message;
  EXPECT_EQ(packet->header.payload_type, 101);
  EXPECT_TRUE(packet->header.marker);
  EXPECT_EQ(packet->header.sequence, 0xBEEF);
  EXPECT_EQ(packet->header.timestamp, 0xFEEDF00Du);
  EXPECT_EQ(packet->header.ssrc, 0x01020304u);
  EXPECT_EQ(packet->payload.data(), datagram.data() + kRtpHeaderBytes);
  EXPECT_EQ(packet->payload.size(), 160u);

  // No marker, a payload type over 127 masked to 7 bits, an empty payload.
  std::array<uint8_t, kRtpHeaderBytes> bare{};
  writeRtpHeader({.payload_type = 0x80 | 8}, bare);
  Result<RtpPacket> empty = parseRtp(bare);
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->header.payload_type, 8);
  EXPECT_FALSE(empty->header.marker);
  EXPECT_TRUE(empty->payload.empty());
}

TEST(RtpTest, SkipsCsrcsExtensionAndPadding) {
  // V=2, P, X, CC=2; two CSRCs; an extension of one word; payload "abc"; 3 bytes of padding.
  std::vector<uint8_t> datagram = header(0x80 | 0x20 | 0x10 | 2, 0);
  for (int i = 0; i < 8; ++i) datagram.push_back(0xC0);              // CSRCs
  for (uint8_t b : {0xBE, 0xDE, 0x00, 0x01}) datagram.push_back(b);  // extension header
  for (int i = 0; i < 4; ++i) datagram.push_back(0xEE);              // its one word
  for (uint8_t b : {'a', 'b', 'c'}) datagram.push_back(b);           // payload
  for (uint8_t b : {0x00, 0x00, 0x03}) datagram.push_back(b);        // padding
  Result<RtpPacket> packet = parseRtp(datagram);
  ASSERT_TRUE(packet) << packet.error().message;
  ASSERT_EQ(packet->payload.size(), 3u);
  EXPECT_EQ(packet->payload[0], 'a');
  EXPECT_EQ(packet->payload[2], 'c');
}

void expectMalformed(const std::vector<uint8_t>& datagram, std::string_view why) {
  // A copy of exactly the datagram's size, so a read past the end shows under ASan.
  auto exact = std::make_unique<uint8_t[]>(std::max<std::size_t>(datagram.size(), 1));
  std::copy(datagram.begin(), datagram.end(), exact.get());
  Result<RtpPacket> packet = parseRtp(std::span<const uint8_t>(exact.get(), datagram.size()));
  ASSERT_FALSE(packet) << why;
  EXPECT_EQ(packet.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(packet.error().message.find(why), std::string::npos) << packet.error().message;
}

TEST(RtpTest, MalformedPacketsAreRefused) {
  expectMalformed({}, "shorter than the 12-byte header");
  expectMalformed({0x80, 0x00, 0x00}, "shorter than the 12-byte header");
  std::vector<uint8_t> eleven = header(0x80);
  eleven.pop_back();
  expectMalformed(eleven, "shorter than the 12-byte header");
  expectMalformed(header(0x40), "version 1");
  expectMalformed(header(0x00), "version 0");
  expectMalformed(header(0xC0), "version 3");

  std::vector<uint8_t> csrc = header(0x80 | 15);  // 15 CSRCs announced, 1 present
  for (int i = 0; i < 4; ++i) csrc.push_back(0);
  expectMalformed(csrc, "CSRC list runs past the end");

  std::vector<uint8_t> short_extension = header(0x90);
  short_extension.push_back(0xBE);
  short_extension.push_back(0xDE);
  expectMalformed(short_extension, "header extension runs past the end");
  std::vector<uint8_t> long_extension = header(0x90);
  for (uint8_t b : {0xBE, 0xDE, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x00}) long_extension.push_back(b);
  expectMalformed(long_extension, "header extension runs past the end");

  std::vector<uint8_t> padding = header(0xA0);
  for (uint8_t b : {0x61, 0x62, 0x05}) padding.push_back(b);  // 5 bytes of padding in 3
  expectMalformed(padding, "padding is longer than the payload");
  std::vector<uint8_t> zero_padding = header(0xA0);
  for (uint8_t b : {0x61, 0x62, 0x00}) zero_padding.push_back(b);
  expectMalformed(zero_padding, "padding is longer than the payload");
  expectMalformed(header(0xA0), "nothing follows the header");
}

// Random bytes and every prefix of a valid packet: refused or parsed, the payload always inside
// the datagram (ASan checks the reads).
TEST(RtpTest, ArbitraryBytesNeverReadOutOfBounds) {
  std::mt19937 random(4733);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_int_distribution<std::size_t> length(0, 64);
  for (int i = 0; i < 20000; ++i) {
    std::size_t size = length(random);
    auto data = std::make_unique<uint8_t[]>(std::max<std::size_t>(size, 1));
    for (std::size_t j = 0; j < size; ++j) data[j] = static_cast<uint8_t>(byte(random));
    if (size > 0 && i % 2 == 0) data[0] = static_cast<uint8_t>(0x80 | (data[0] & 0x3F));
    std::span<const uint8_t> datagram(data.get(), size);
    Result<RtpPacket> packet = parseRtp(datagram);
    if (packet) {
      ASSERT_GE(packet->payload.data(), datagram.data() + kRtpHeaderBytes);
      ASSERT_LE(packet->payload.data() + packet->payload.size(), datagram.data() + size);
    }
  }
}

TEST(RtpTest, TelephoneEventPayload) {
  const uint8_t bytes[] = {0x05, 0x8A, 0x03, 0x20};
  Result<TelephoneEvent> event = parseTelephoneEvent(bytes);
  ASSERT_TRUE(event);
  EXPECT_EQ(event->event, 5);
  EXPECT_TRUE(event->end);
  EXPECT_EQ(event->volume, 10);
  EXPECT_EQ(event->duration, 800);

  const uint8_t start[] = {0x0B, 0x3F, 0x00, 0xA0};  // '#', not the end, R bit clear
  EXPECT_FALSE(parseTelephoneEvent(start)->end);
  EXPECT_EQ(parseTelephoneEvent(start)->volume, 63);
  EXPECT_FALSE(parseTelephoneEvent(std::span<const uint8_t>(bytes, 3)));

  std::string digits;
  for (int code = 0; code < 16; ++code) digits += dtmfDigit(static_cast<uint8_t>(code));
  EXPECT_EQ(digits, "0123456789*#ABCD");
  EXPECT_EQ(dtmfDigit(16), '\0');
  EXPECT_EQ(dtmfDigit(255), '\0');
}

// The packets a sender emits for one key press: 3 while held, then the end packet 3 times,
// all with the event's start as timestamp.
struct Press {
  uint8_t event;
  uint32_t timestamp;
  uint32_t ssrc = 7;
};

std::string feed(DtmfDetector& detector, const Press& press, bool starts = true) {
  std::string digits;
  auto send = [&](bool end, uint16_t duration) {
    RtpHeader header{.payload_type = 101,
                     .marker = duration == 160,
                     .timestamp = press.timestamp,
                     .ssrc = press.ssrc};
    TelephoneEvent event{.event = press.event, .end = end, .volume = 10, .duration = duration};
    if (std::optional<char> digit = detector.onPacket(header, event)) digits += *digit;
  };
  if (starts) {
    for (uint16_t duration : {160, 320, 480}) send(false, duration);
  }
  for (int i = 0; i < 3; ++i) send(true, 640);
  return digits;
}

TEST(DtmfDetectorTest, OneDigitPerEvent) {
  DtmfDetector detector;
  EXPECT_EQ(feed(detector, {5, 1000}), "5");
  // The same key again: a new timestamp, a new digit.
  EXPECT_EQ(feed(detector, {5, 2000}), "5");
  EXPECT_EQ(feed(detector, {11, 3000}), "#");
  EXPECT_EQ(feed(detector, {15, 4000}), "D");
}

TEST(DtmfDetectorTest, LostStartPacketsStillGiveTheDigit) {
  DtmfDetector detector;
  EXPECT_EQ(feed(detector, {9, 1000}, false), "9");
}

TEST(DtmfDetectorTest, LatePacketOfAnEarlierEventIsARepeat) {
  DtmfDetector detector;
  EXPECT_EQ(feed(detector, {1, 1000}), "1");
  EXPECT_EQ(feed(detector, {2, 2000}), "2");
  EXPECT_EQ(feed(detector, {1, 1000}, false), "");  // its end packets, reordered behind "2"
}

TEST(DtmfDetectorTest, NonDtmfEventsAreIgnored) {
  DtmfDetector detector;
  EXPECT_EQ(feed(detector, {16, 1000}), "");
  EXPECT_EQ(feed(detector, {200, 2000}), "");
  EXPECT_EQ(feed(detector, {3, 1000}), "3");
}

TEST(DtmfDetectorTest, NewSsrcStartsAfresh) {
  DtmfDetector detector;
  EXPECT_EQ(feed(detector, {4, 1000, 7}), "4");
  EXPECT_EQ(feed(detector, {4, 1000, 8}), "4");  // another stream, the same timestamp
  detector.reset();
  EXPECT_EQ(feed(detector, {4, 1000, 8}), "4");
}

}  // namespace
}  // namespace callflow::media
