#include "media/prompts.h"

#include <sndfile.h>
#include <speex/speex_resampler.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <system_error>
#include <utility>

namespace callflow::media {
namespace {

constexpr int kResamplerQuality = 4;  // speexdsp's 0-10 scale; 4 is its VoIP default
constexpr int kMinRate = 1000;
constexpr int kMaxRate = 768'000;
constexpr int kMaxChannels = 64;
constexpr sf_count_t kChunkFrames = 4096;
constexpr std::size_t kMaxNameBytes = 1024;

int16_t toSample(float x) {
  if (std::isnan(x)) return 0;
  float scaled = x * 32768.0f;
  if (scaled >= 32767.0f) return 32767;
  if (scaled <= -32768.0f) return -32768;
  return static_cast<int16_t>(std::lrint(scaled));
}

// A name shown in a message: quoted, control characters escaped (a name may come from call data).
std::string quote(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7F) {
      constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[byte >> 4];
      out += kHex[byte & 0xF];
    } else if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else {
      out += c;
    }
  }
  out += '"';
  return out;
}

struct ResamplerDeleter {
  void operator()(SpeexResamplerState* state) const { speex_resampler_destroy(state); }
};
using ResamplerPtr = std::unique_ptr<SpeexResamplerState, ResamplerDeleter>;

struct SndfileDeleter {
  void operator()(SNDFILE* file) const { sf_close(file); }
};
using SndfilePtr = std::unique_ptr<SNDFILE, SndfileDeleter>;

// A mono stream at some rate in, 8 kHz 16-bit samples out, fed in chunks so a long file never
// sits in memory at its original rate and width.
class Converter {
 public:
  static Result<Converter> make(int rate) {
    if (rate < kMinRate || rate > kMaxRate) {
      return fail(ErrorCode::kInvalidArgument,
                  "sample rate " + std::to_string(rate) + " Hz is not supported");
    }
    Converter converter(rate);
    if (rate != kSampleRate) {
      int error = 0;
      converter.resampler_.reset(speex_resampler_init(1, static_cast<spx_uint32_t>(rate),
                                                      kSampleRate, kResamplerQuality, &error));
      if (!converter.resampler_) {
        return fail(ErrorCode::kInternal,
                    std::string("speexdsp resampler: ") + speex_resampler_strerror(error));
      }
      // Without this the output starts with the filter's delay as silence.
      speex_resampler_skip_zeros(converter.resampler_.get());
    }
    return converter;
  }

  void push(std::span<const float> in) {
    input_count_ += in.size();
    feed(in);
  }

  // Flushes the filter's tail and returns the samples (round(input * 8000 / rate) of them).
  std::vector<int16_t> finish() && {
    if (resampler_) {
      std::vector<float> zeros(
          static_cast<std::size_t>(speex_resampler_get_input_latency(resampler_.get())));
      feed(zeros);
      auto expected = static_cast<std::size_t>(
          (input_count_ * kSampleRate + static_cast<uint64_t>(rate_) / 2) / rate_);
      if (out_.size() > expected) out_.resize(expected);
    }
    return std::move(out_);
  }

 private:
  explicit Converter(int rate) : rate_(rate) {}

  void feed(std::span<const float> in) {
    if (!resampler_) {
      out_.reserve(out_.size() + in.size());
      for (float x : in) out_.push_back(toSample(x));
      return;
    }
    float scratch[1024];
    while (!in.empty()) {
      auto in_len = static_cast<spx_uint32_t>(std::min<std::size_t>(in.size(), 1u << 20));
      spx_uint32_t out_len = std::size(scratch);
      speex_resampler_process_float(resampler_.get(), 0, in.data(), &in_len, scratch, &out_len);
      for (spx_uint32_t i = 0; i < out_len; ++i) out_.push_back(toSample(scratch[i]));
      if (in_len == 0 && out_len == 0) break;  // no progress: never expected, never spin
      in = in.subspan(in_len);
    }
  }

  int rate_;
  ResamplerPtr resampler_;
  uint64_t input_count_ = 0;
  std::vector<int16_t> out_;
};

// libsndfile reports a failed sf_open through process-wide state; opens are serialised so the
// message read belongs to this open. (Reading an open file is per handle and needs no lock.)
std::mutex& openMutex() {
  static std::mutex mutex;
  return mutex;
}

// Decodes an open file and converts it. `label` names it in messages: `prompt "x.wav"`.
Result<AudioPtr> convert(SNDFILE* file, const SF_INFO& info, const std::string& label,
                         double max_seconds) {
  if (info.channels < 1 || info.channels > kMaxChannels) {
    return fail(ErrorCode::kInvalidArgument,
                label + ": " + std::to_string(info.channels) + " channels is not supported");
  }
  Result<Converter> converter = Converter::make(info.samplerate);
  if (!converter) return fail(converter.error().code, label + ": " + converter.error().message);
  double max_frames = max_seconds * info.samplerate;
  auto tooLong = [&] {
    return fail(ErrorCode::kInvalidArgument, label + ": longer than " +
                                                 std::to_string(static_cast<long>(max_seconds)) +
                                                 " s, the longest prompt accepted");
  };
  if (static_cast<double>(info.frames) > max_frames) return tooLong();

  auto channels = static_cast<std::size_t>(info.channels);
  std::vector<float> interleaved(static_cast<std::size_t>(kChunkFrames) * channels);
  std::vector<float> mono(static_cast<std::size_t>(kChunkFrames));
  double frames = 0;
  for (;;) {
    sf_count_t got = sf_readf_float(file, interleaved.data(), kChunkFrames);
    if (got <= 0) break;
    // A header may understate the length: the cap holds on what is actually read.
    frames += static_cast<double>(got);
    if (frames > max_frames) return tooLong();
    auto count = static_cast<std::size_t>(got);
    if (channels == 1) {
      std::copy_n(interleaved.begin(), count, mono.begin());
    } else {
      for (std::size_t i = 0; i < count; ++i) {
        float sum = 0;
        for (std::size_t c = 0; c < channels; ++c) sum += interleaved[i * channels + c];
        mono[i] = sum / static_cast<float>(channels);
      }
    }
    converter->push(std::span<const float>(mono.data(), count));
  }
  if (sf_error(file) != SF_ERR_NO_ERROR) {
    return fail(ErrorCode::kInvalidArgument, label + ": read error (" + sf_strerror(file) + ")");
  }
  auto audio = std::make_shared<Audio>();
  audio->samples = std::move(*converter).finish();
  return AudioPtr(std::move(audio));
}

// Opens `path`; `label` names it in messages: `prompt "x.wav"` or `file "/path/x.wav"`.
Result<SndfilePtr> openFile(const std::filesystem::path& path, const std::string& label,
                            SF_INFO& info) {
  std::error_code ec;
  std::filesystem::file_status status = std::filesystem::status(path, ec);
  if (!std::filesystem::exists(status)) {
    return fail(ErrorCode::kNotFound, label + ": not found");
  }
  if (!std::filesystem::is_regular_file(status)) {
    return fail(ErrorCode::kInvalidArgument, label + ": not a regular file");
  }
  info = SF_INFO{};
  std::lock_guard lock(openMutex());
  SndfilePtr file(sf_open(path.c_str(), SFM_READ, &info));
  if (!file) {
    return fail(ErrorCode::kInvalidArgument,
                label + ": not an audio file libsndfile can read (" + sf_strerror(nullptr) + ")");
  }
  return file;
}

Result<AudioPtr> readAudio(const std::filesystem::path& path, const std::string& label,
                           double max_seconds) {
  SF_INFO info{};
  Result<SndfilePtr> file = openFile(path, label, info);
  if (!file) return file.error();
  return convert(file->get(), info, label, max_seconds);
}

// libsndfile's virtual I/O over bytes in memory, read-only.
struct MemoryFile {
  std::string_view bytes;
  sf_count_t position = 0;

  static MemoryFile& of(void* data) { return *static_cast<MemoryFile*>(data); }
  static sf_count_t length(void* data) { return static_cast<sf_count_t>(of(data).bytes.size()); }
  static sf_count_t seek(sf_count_t offset, int whence, void* data) {
    MemoryFile& file = of(data);
    sf_count_t base = whence == SEEK_CUR   ? file.position
                      : whence == SEEK_END ? static_cast<sf_count_t>(file.bytes.size())
                                           : 0;
    sf_count_t target = base + offset;
    if (target < 0 || target > static_cast<sf_count_t>(file.bytes.size())) return -1;
    file.position = target;
    return target;
  }
  static sf_count_t read(void* out, sf_count_t count, void* data) {
    MemoryFile& file = of(data);
    sf_count_t left = static_cast<sf_count_t>(file.bytes.size()) - file.position;
    sf_count_t n = std::clamp<sf_count_t>(count, 0, std::max<sf_count_t>(left, 0));
    std::copy_n(file.bytes.data() + file.position, n, static_cast<char*>(out));
    file.position += n;
    return n;
  }
  static sf_count_t write(const void*, sf_count_t, void*) { return 0; }
  static sf_count_t tell(void* data) { return of(data).position; }
};

// Opens `memory` as a WAV file; the error says why it is not one.
Result<SndfilePtr> openWav(MemoryFile& memory, SF_INFO& info) {
  static SF_VIRTUAL_IO io{MemoryFile::length, MemoryFile::seek, MemoryFile::read, MemoryFile::write,
                          MemoryFile::tell};
  info = SF_INFO{};
  SndfilePtr file;
  {
    std::lock_guard lock(openMutex());
    file.reset(sf_open_virtual(&io, SFM_READ, &info, &memory));
    if (!file) {
      return fail(ErrorCode::kInvalidArgument,
                  std::string("not a WAV file libsndfile can read (") + sf_strerror(nullptr) + ")");
    }
  }
  int type = info.format & SF_FORMAT_TYPEMASK;
  if (type != SF_FORMAT_WAV && type != SF_FORMAT_WAVEX && type != SF_FORMAT_RF64) {
    SF_FORMAT_INFO format{};
    format.format = type;
    std::string name = sf_command(nullptr, SFC_GET_FORMAT_MAJOR, &format, sizeof(format)) == 0 &&
                               format.name != nullptr
                           ? format.name
                           : "another format";
    return fail(ErrorCode::kInvalidArgument,
                "not a WAV file (libsndfile reads it as " + name + ")");
  }
  return file;
}

void appendLittleEndian(std::string& out, std::uint32_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xFF));
}

// What is wrong with a prompt name on its face, before the file system is asked.
std::optional<std::string> nameProblem(std::string_view name) {
  if (name.empty()) return "the name is empty";
  if (name.size() > kMaxNameBytes) return "the name is longer than 1024 bytes";
  if (name.find('\0') != std::string_view::npos) return "the name contains a NUL character";
  if (name.front() == '/') return "must be relative to the prompts folder, not an absolute path";
  std::string_view rest = name;
  while (!rest.empty()) {
    std::size_t slash = rest.find('/');
    if (rest.substr(0, slash) == "..") return "must not contain \"..\"";
    rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
  }
  return std::nullopt;
}

// True when `path` is strictly below `root` (both canonical).
bool isInside(const std::filesystem::path& path, const std::filesystem::path& root) {
  auto [root_end, path_at] = std::mismatch(root.begin(), root.end(), path.begin(), path.end());
  return root_end == root.end() && path_at != path.end();
}

}  // namespace

Result<AudioPtr> loadFile(const std::filesystem::path& path, double max_seconds) {
  return readAudio(path, "file " + quote(path.native()), max_seconds);
}

Result<double> fileSeconds(const std::filesystem::path& path) {
  SF_INFO info{};
  Result<SndfilePtr> file = openFile(path, "file " + quote(path.native()), info);
  if (!file) return file.error();
  if (info.samplerate <= 0) return 0.0;
  return static_cast<double>(info.frames) / info.samplerate;
}

bool isWav(std::string_view bytes) {
  MemoryFile memory{bytes};
  SF_INFO info{};
  return static_cast<bool>(openWav(memory, info));
}

Result<AudioPtr> decodeWav(std::string_view bytes, double max_seconds) {
  MemoryFile memory{bytes};
  SF_INFO info{};
  Result<SndfilePtr> file = openWav(memory, info);
  if (!file) return file.error();
  return convert(file->get(), info, "the WAV file", max_seconds);
}

std::string encodeWav(const Audio& audio) {
  constexpr std::uint32_t kHeaderBytes = 44;
  auto data_bytes = static_cast<std::uint32_t>(audio.samples.size() * sizeof(int16_t));
  std::string out;
  out.reserve(kHeaderBytes + data_bytes);
  out += "RIFF";
  appendLittleEndian(out, kHeaderBytes - 8 + data_bytes, 4);
  out += "WAVEfmt ";
  appendLittleEndian(out, 16, 4);               // fmt chunk size
  appendLittleEndian(out, 1, 2);                // PCM
  appendLittleEndian(out, 1, 2);                // mono
  appendLittleEndian(out, kSampleRate, 4);      // samples a second
  appendLittleEndian(out, kSampleRate * 2, 4);  // bytes a second
  appendLittleEndian(out, 2, 2);                // bytes a frame
  appendLittleEndian(out, 16, 2);               // bits a sample
  out += "data";
  appendLittleEndian(out, data_bytes, 4);
  for (int16_t sample : audio.samples) {
    appendLittleEndian(out, static_cast<std::uint16_t>(sample), 2);
  }
  return out;
}

Result<std::vector<int16_t>> resampleTo8k(std::span<const float> samples, int sample_rate) {
  Result<Converter> converter = Converter::make(sample_rate);
  if (!converter) return converter.error();
  converter->push(samples);
  return std::move(*converter).finish();
}

PromptCache::PromptCache(std::filesystem::path folder, double max_seconds)
    : folder_(std::move(folder)), max_seconds_(max_seconds) {}

Result<std::filesystem::path> PromptCache::resolve(std::string_view name) const {
  std::string label = "prompt " + quote(name);
  if (std::optional<std::string> problem = nameProblem(name)) {
    return fail(ErrorCode::kInvalidArgument, label + ": " + *problem);
  }
  std::error_code ec;
  // Resolved on every miss, not once at construction: the folder may be created or replaced
  // (a symbolic link switched to a new release) while the server runs.
  std::filesystem::path root = std::filesystem::canonical(folder_, ec);
  if (ec) {
    return fail(ErrorCode::kNotFound, label + ": the prompts folder " + folder_.string() +
                                          " is missing: " + ec.message());
  }
  std::filesystem::path resolved = std::filesystem::canonical(root / name, ec);
  if (ec == std::errc::no_such_file_or_directory || ec == std::errc::not_a_directory) {
    return fail(ErrorCode::kNotFound, label + ": not found in " + root.string());
  }
  if (ec) return fail(ErrorCode::kInvalidArgument, label + ": " + ec.message());
  if (!isInside(resolved, root)) {
    return fail(ErrorCode::kInvalidArgument, label + ": resolves outside the prompts folder");
  }
  return resolved;
}

Result<AudioPtr> PromptCache::load(std::string_view name) {
  {
    std::shared_lock lock(mutex_);
    if (auto it = by_name_.find(name); it != by_name_.end()) return it->second;
  }
  Result<std::filesystem::path> resolved = resolve(name);
  if (!resolved) return resolved.error();
  const std::string& key = resolved->native();
  // Only names in normal form become aliases ("./a.wav" and "a//a.wav" resolve each time), so
  // the map grows with the folder's files, not with the spellings a caller can invent.
  bool alias = std::filesystem::path(name).lexically_normal().native() == name;

  auto cached = [&]() -> AudioPtr {  // call with mutex_ held exclusively
    auto it = by_path_.find(key);
    if (it == by_path_.end()) return nullptr;
    if (alias) by_name_.emplace(std::string(name), it->second);
    return it->second;
  };
  std::shared_ptr<std::mutex> file_lock;
  {
    std::unique_lock lock(mutex_);
    if (AudioPtr audio = cached()) return audio;
    std::shared_ptr<std::mutex>& slot = loading_[key];
    if (!slot) slot = std::make_shared<std::mutex>();
    file_lock = slot;
  }
  // One conversion per file: a second thread asking for it waits here, then finds it cached.
  std::lock_guard conversion(*file_lock);
  std::uint64_t generation = 0;
  {
    std::unique_lock lock(mutex_);
    if (AudioPtr audio = cached()) return audio;
    generation = generation_;
  }
  Result<AudioPtr> audio = readAudio(*resolved, "prompt " + quote(name), max_seconds_);
  std::unique_lock lock(mutex_);
  // A file forgotten while it was read may have been read before it was replaced: not kept.
  if (audio && generation == generation_) {
    by_path_.emplace(key, *audio);
    if (alias) by_name_.emplace(std::string(name), *audio);
    bytes_ += (*audio)->samples.size() * sizeof(int16_t);
  }
  if (auto it = loading_.find(key); it != loading_.end() && it->second == file_lock) {
    loading_.erase(it);
  }
  return audio;
}

void PromptCache::forget(std::string_view name) {
  std::error_code ec;
  std::filesystem::path root = std::filesystem::canonical(folder_, ec);
  std::unique_lock lock(mutex_);
  ++generation_;
  std::vector<AudioPtr> dropped;
  if (auto it = by_name_.find(name); it != by_name_.end()) {
    dropped.push_back(it->second);
    by_name_.erase(it);
  }
  if (!ec) {
    // The key load() used: the canonical path of the file (its folder resolved, the file itself
    // not: it may be gone already).
    if (auto it = by_path_.find((root / name).lexically_normal().native()); it != by_path_.end()) {
      dropped.push_back(it->second);
    }
  }
  for (const AudioPtr& audio : dropped) {
    std::erase_if(by_name_, [&](const auto& entry) { return entry.second == audio; });
    for (auto it = by_path_.begin(); it != by_path_.end();) {
      if (it->second == audio) {
        bytes_ -= audio->samples.size() * sizeof(int16_t);
        it = by_path_.erase(it);
      } else {
        ++it;
      }
    }
  }
}

std::size_t PromptCache::files() const {
  std::shared_lock lock(mutex_);
  return by_path_.size();
}

std::size_t PromptCache::bytes() const {
  std::shared_lock lock(mutex_);
  return bytes_;
}

}  // namespace callflow::media
