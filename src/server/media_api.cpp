// The prompts folder and text-to-speech previews over the admin API (/api/v1, Bearer tokens):
//   GET    /prompts          admin, supervisor, agent  {"prompts": [{"name", "seconds", "bytes"}]}
//   PUT    /prompts/{name}   admin                     a WAV body (16 MiB at most) -> 201
//   GET    /prompts/{name}   admin, supervisor, agent  the stored file, audio/wav
//   DELETE /prompts/{name}   admin                     204
//   POST   /tts              admin, supervisor         {"text", "voice"?} -> audio/wav
// Untrusted: the prompt name in the path (checked against a strict pattern before it meets the
// file system), the uploaded bytes (decoded by libsndfile, on a worker thread, under the same
// caps as a prompt file) and the text to speak (at most 2,000 characters).
#include "server/media_api.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <system_error>
#include <vector>

#include "media/prompts.h"
#include "media/tts.h"
#include "server/context.h"

namespace callflow {
namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;

constexpr std::size_t kMaxNameChars = 64;
constexpr int kMaxJobs = 16;                          // queued or running; past it, 503
constexpr std::uintmax_t kMaxServedBytes = 64 << 20;  // GET of a file put there by hand
constexpr std::string_view kNoFolder = "no prompts folder: start serve with --prompts DIR";

#define CALLFLOW_REQUIRE(who_expression)                                        \
  auto who = who_expression;                                                    \
  if (auto* denied = std::get_if<Response>(&who)) co_return std::move(*denied); \
  (void)who

bool nameChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.' || c == '-';
}

bool endsWithWav(std::string_view name) {
  if (name.size() < 4) return false;
  std::string_view tail = name.substr(name.size() - 4);
  return tail[0] == '.' && (tail[1] | 0x20) == 'w' && (tail[2] | 0x20) == 'a' &&
         (tail[3] | 0x20) == 'v';
}

std::string shownName(std::string_view name) {
  // Shown names passed promptNameProblem, or are cut and stripped of what would need escaping.
  std::string out = "\"";
  for (char c : name.substr(0, kMaxNameChars + 1)) out += nameChar(c) ? c : '?';
  return out + "\"";
}

double roundedSeconds(double seconds) { return std::round(seconds * 100) / 100; }

Response audioResponse(std::string body) {
  Response response;
  response.content_type = "audio/wav";
  response.body = std::move(body);
  response.headers.emplace_back("Cache-Control", "no-store");
  response.headers.emplace_back("X-Content-Type-Options", "nosniff");
  return response;
}

Response ioFailure(std::string_view what, const std::error_code& ec) {
  return Response::error(500, std::string(what) + ": " + ec.message());
}

// Characters (code points) of UTF-8 text; the strict JSON parser has checked the encoding.
std::size_t characters(std::string_view text) {
  return static_cast<std::size_t>(std::count_if(text.begin(), text.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
}

// Writes `bytes` to folder/name through a temporary file in the folder and a rename, so a call
// reading the prompt meanwhile sees the old file or the new one, never half of one.
Result<void> writeAtomically(const fs::path& folder, std::string_view name,
                             std::string_view bytes) {
  std::random_device random;
  std::string temporary_name =
      ".upload-" + std::to_string(random()) + std::to_string(random()) + ".tmp";
  fs::path temporary = folder / temporary_name;
  int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) {
    return fail(ErrorCode::kFailedPrecondition, "cannot write in the prompts folder " +
                                                    folder.string() + ": " + std::strerror(errno));
  }
  std::size_t written = 0;
  int error = 0;
  while (written < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + written, bytes.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      error = n < 0 ? errno : EIO;
      break;
    }
    written += static_cast<std::size_t>(n);
  }
  if (error == 0 && ::fsync(fd) != 0) error = errno;
  if (::close(fd) != 0 && error == 0) error = errno;
  std::error_code ec;
  if (error == 0) {
    fs::rename(temporary, folder / name, ec);
    if (ec) error = ec.value();
  }
  if (error != 0) {
    fs::remove(temporary, ec);
    return fail(ErrorCode::kFailedPrecondition,
                "cannot write " + (folder / name).string() + ": " + std::strerror(error));
  }
  // The rename itself survives a crash once the folder is synced.
  int dir = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
  return {};
}

}  // namespace

std::optional<std::string> promptNameProblem(std::string_view name) {
  if (name.empty() || name.size() > kMaxNameChars) {
    return "a prompt name is 1 to 64 characters long";
  }
  if (!std::all_of(name.begin(), name.end(), nameChar)) {
    return "a prompt name has only the characters A-Z a-z 0-9 _ . -";
  }
  if (name.front() == '.') return "a prompt name must not start with '.'";
  if (!endsWithWav(name)) return "a prompt name ends in .wav";
  return std::nullopt;
}

struct MediaApi::Impl {
  explicit Impl(std::string prompts_dir) : folder(std::move(prompts_dir)) {
    if (!folder.empty()) cache.emplace(folder);
  }
  ~Impl() { pool.join(); }

  // Runs `job` (returning a Response) on the pool; the caller resumes on its own executor.
  // 503 when kMaxJobs are already waiting or running.
  template <typename Job>
  asio::awaitable<Response> offLoop(Job job) {
    if (jobs.fetch_add(1) >= kMaxJobs) {
      jobs.fetch_sub(1);
      Response busy = Response::error(503, "too much audio work in progress; try again");
      busy.headers.emplace_back("Retry-After", "1");
      co_return busy;
    }
    struct Done {  // however the job ends, an exception included
      std::atomic<int>& jobs;
      ~Done() { jobs.fetch_sub(1); }
    } done{jobs};
    auto task = [job = std::move(job)]() -> asio::awaitable<Response> { co_return job(); };
    auto spawned = asio::co_spawn(pool.get_executor(), std::move(task), asio::use_awaitable);
    Response response = co_await std::move(spawned);
    co_return response;
  }

  Response list() const;
  Response put(std::string name, const std::string& body);
  Response get(const std::string& name) const;
  Response remove(const std::string& name);
  Response speak(const std::string& text, const std::string& voice);

  fs::path folder;  // empty: none
  std::optional<media::PromptCache> cache;
  media::FliteTts tts;
  std::atomic<int> jobs{0};
  asio::thread_pool pool{2};
};

Response MediaApi::Impl::list() const {
  std::error_code ec;
  std::vector<boost::json::object> prompts;
  fs::directory_iterator it(folder, ec);
  if (ec) return ioFailure("the prompts folder " + folder.string(), ec);
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    if (ec) break;
    std::string name = it->path().filename().string();
    if (promptNameProblem(name)) continue;
    std::error_code file_ec;
    if (!it->is_regular_file(file_ec)) continue;  // follows a link: a linked file is listed
    std::uintmax_t bytes = it->file_size(file_ec);
    if (file_ec) continue;  // gone meanwhile
    boost::json::object prompt{{"name", name}, {"seconds", 0.0}, {"bytes", bytes}};
    if (Result<double> seconds = media::fileSeconds(it->path())) {
      prompt["seconds"] = roundedSeconds(*seconds);
    } else {
      prompt["problem"] = "not audio libsndfile can read";
    }
    prompts.push_back(std::move(prompt));
  }
  if (ec) return ioFailure("the prompts folder " + folder.string(), ec);
  std::sort(prompts.begin(), prompts.end(), [](const auto& a, const auto& b) {
    return a.at("name").get_string() < b.at("name").get_string();
  });
  boost::json::array out;
  for (auto& prompt : prompts) out.push_back(std::move(prompt));
  return Response::json(200, boost::json::object{{"prompts", std::move(out)}});
}

Response MediaApi::Impl::put(std::string name, const std::string& body) {
  if (body.empty()) return Response::error(415, "the body is empty; send a WAV file");
  Result<media::AudioPtr> audio = media::decodeWav(body);
  if (!audio) {
    // Not a WAV at all: 415. A WAV refused for what it holds (rate, length, truncated): 422.
    bool wav = media::isWav(body);
    return Response::error(wav ? 422 : 415,
                           (wav ? "" : "the body is ") + audio.error().message +
                               (wav ? "" : "; send a WAV file (any rate, depth and channels)"));
  }
  std::string wav = media::encodeWav(**audio);
  if (Result<void> written = writeAtomically(folder, name, wav); !written) {
    return Response::error(500, written.error().message);
  }
  cache->forget(name);
  Response response =
      Response::json(201, boost::json::object{{"name", name},
                                              {"seconds", roundedSeconds((*audio)->seconds())},
                                              {"bytes", wav.size()}});
  response.headers.emplace_back("Location", "/api/v1/prompts/" + name);
  return response;
}

Response MediaApi::Impl::get(const std::string& name) const {
  std::error_code ec;
  fs::path root = fs::canonical(folder, ec);
  if (ec) return ioFailure("the prompts folder " + folder.string(), ec);
  fs::path path = fs::canonical(root / name, ec);
  if (ec == std::errc::no_such_file_or_directory || ec == std::errc::not_a_directory) {
    return Response::error(404, "no prompt " + shownName(name));
  }
  if (ec) return ioFailure("prompt " + shownName(name), ec);
  // A link leaving the folder is refused, as calls refuse it (media::PromptCache).
  if (!path.native().starts_with(root.native() + "/")) {
    return Response::error(404,
                           "prompt " + shownName(name) + " resolves outside the prompts folder");
  }
  if (!fs::is_regular_file(path, ec)) return Response::error(404, "no prompt " + shownName(name));
  std::uintmax_t size = fs::file_size(path, ec);
  if (ec) return ioFailure("prompt " + shownName(name), ec);
  if (size > kMaxServedBytes) {
    return Response::error(422, "prompt " + shownName(name) + " is larger than 64 MiB");
  }
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in && !in.eof()) return Response::error(500, "prompt " + shownName(name) + ": read error");
  return audioResponse(std::move(bytes));
}

Response MediaApi::Impl::remove(const std::string& name) {
  std::error_code ec;
  fs::path path = folder / name;
  fs::file_status status = fs::symlink_status(path, ec);
  if (!fs::exists(status) || fs::is_directory(status)) {
    return Response::error(404, "no prompt " + shownName(name));
  }
  if (!fs::remove(path, ec) && !ec) return Response::error(404, "no prompt " + shownName(name));
  if (ec) return ioFailure("cannot delete " + path.string(), ec);
  cache->forget(name);
  return Response{204, "", ""};
}

Response MediaApi::Impl::speak(const std::string& text, const std::string& voice) {
  Result<media::AudioPtr> audio = tts.synthesize(text, voice);
  if (!audio) return Response::error(500, audio.error().message);
  return audioResponse(media::encodeWav(**audio));
}

MediaApi::MediaApi(std::string prompts_dir)
    : impl_(std::make_unique<Impl>(std::move(prompts_dir))) {}
MediaApi::~MediaApi() = default;

media::PromptCache* MediaApi::prompts() { return impl_->cache ? &*impl_->cache : nullptr; }

void MediaApi::addRoutes(Router& router, ServerContext& context) {
  Impl& impl = *impl_;
  router.add(
      "GET", "/api/v1/prompts",
      [&impl, &context](const Request& request, const PathParams&) -> asio::awaitable<Response> {
        CALLFLOW_REQUIRE(context.bearer(request, {"admin", "supervisor", "agent"}));
        if (!impl.cache) co_return Response::error(404, kNoFolder);
        auto job = [&impl] { return impl.list(); };
        co_return co_await impl.offLoop(std::move(job));
      });
  router.add(
      "PUT", "/api/v1/prompts/{name}",
      [&impl, &context](const Request& request,
                        const PathParams& params) -> asio::awaitable<Response> {
        CALLFLOW_REQUIRE(context.bearer(request, {"admin"}));
        if (!impl.cache) co_return Response::error(404, kNoFolder);
        std::string name(params.get("name"));
        if (auto problem = promptNameProblem(name)) co_return badRequest(*problem);
        // The body stays in the request, which outlives this handler and so the job.
        const std::string* body = &request.body;
        auto job = [&impl, name, body] { return impl.put(name, *body); };
        co_return co_await impl.offLoop(std::move(job));
      },
      kMaxPromptUploadBytes);
  router.add("GET", "/api/v1/prompts/{name}",
             [&impl, &context](const Request& request,
                               const PathParams& params) -> asio::awaitable<Response> {
               CALLFLOW_REQUIRE(context.bearer(request, {"admin", "supervisor", "agent"}));
               if (!impl.cache) co_return Response::error(404, kNoFolder);
               std::string name(params.get("name"));
               if (auto problem = promptNameProblem(name)) co_return badRequest(*problem);
               auto job = [&impl, name] { return impl.get(name); };
               co_return co_await impl.offLoop(std::move(job));
             });
  router.add("DELETE", "/api/v1/prompts/{name}",
             [&impl, &context](const Request& request,
                               const PathParams& params) -> asio::awaitable<Response> {
               CALLFLOW_REQUIRE(context.bearer(request, {"admin"}));
               if (!impl.cache) co_return Response::error(404, kNoFolder);
               std::string name(params.get("name"));
               if (auto problem = promptNameProblem(name)) co_return badRequest(*problem);
               auto job = [&impl, name] { return impl.remove(name); };
               co_return co_await impl.offLoop(std::move(job));
             });
  router.add(
      "POST", "/api/v1/tts",
      [&impl, &context](const Request& request, const PathParams&) -> asio::awaitable<Response> {
        CALLFLOW_REQUIRE(context.bearer(request, {"admin", "supervisor"}));
        auto body = parseBody(request);
        if (!body) co_return badRequest(body.error().message);
        const boost::json::object* object = body->if_object();
        if (object == nullptr) {
          co_return badRequest("the body must be {\"text\": text, \"voice\": text}");
        }
        std::string text, voice;
        for (const auto& [key, value] : *object) {
          if (key == "text" && value.is_string()) {
            text = value.get_string();
          } else if (key == "voice" && (value.is_string() || value.is_null())) {
            if (value.is_string()) voice = value.get_string();
          } else if (key == "text" || key == "voice") {
            co_return badRequest("\"" + std::string(key) + "\" must be text");
          } else {
            co_return badRequest("unknown key \"" + std::string(key) +
                                 "\" (the body is {\"text\", \"voice\"})");
          }
        }
        std::size_t length = characters(text);
        if (text.find_first_not_of(" \t\r\n") == std::string::npos) {
          co_return badRequest("\"text\" is empty: give 1 to 2000 characters to say");
        }
        if (length > kMaxTtsPreviewChars) {
          co_return badRequest("\"text\" has " + std::to_string(length) +
                               " characters; at most 2000 are spoken");
        }
        if (!media::FliteTts::knowsVoice(voice)) {
          co_return badRequest("unknown voice \"" + voice.substr(0, 64) +
                               "\": the voice is \"kal\" (the default)");
        }
        auto job = [&impl, text = std::move(text), voice = std::move(voice)] {
          return impl.speak(text, voice);
        };
        co_return co_await impl.offLoop(std::move(job));
      });
}

}  // namespace callflow
