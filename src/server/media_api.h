// MediaApi: the prompts folder (`callflow serve --prompts DIR`) and text-to-speech over the admin
// API, for the designer: list, upload (any WAV, stored as 8 kHz mono 16-bit), fetch and delete
// prompts; hear a text as a caller would.
//
// It owns the server's one PromptCache (SIP calls play from it too: ServerContext::prompts), so
// a prompt replaced or deleted here is forgotten there and the next call reads the new file;
// calls already playing the old clip finish it. Decoding, resampling, synthesis and every file
// operation run on the MediaApi's own worker threads, never on the HTTP loop; flite speaks one
// text at a time process-wide, so a long text here can delay a call's first synthesis a little.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "server/router.h"

namespace callflow {

namespace media {
class PromptCache;
}

struct ServerContext;

inline constexpr std::size_t kMaxPromptUploadBytes = 16 << 20;
inline constexpr std::size_t kMaxTtsPreviewChars = 2000;

// What is wrong with `name` as the name of an uploaded prompt, or nullopt: 1 to 64 characters of
// A-Z a-z 0-9 _ . -, not starting with '.', ending in ".wav" (any case).
std::optional<std::string> promptNameProblem(std::string_view name);

class MediaApi {
 public:
  // `prompts_dir` empty: no prompts folder (the prompts endpoints answer 404).
  explicit MediaApi(std::string prompts_dir);
  ~MediaApi();  // waits for the work in progress on its threads
  MediaApi(const MediaApi&) = delete;
  MediaApi& operator=(const MediaApi&) = delete;

  // The prompt cache of the folder; null without one. Lives as long as the MediaApi.
  media::PromptCache* prompts();

  // GET/PUT/DELETE /api/v1/prompts..., POST /api/v1/tts. `context` (for Bearer auth) and this
  // MediaApi must outlive the router's connections.
  void addRoutes(Router& router, ServerContext& context);

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace callflow
