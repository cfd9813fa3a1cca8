#include "engine/line_ops.h"

#include <vector>

namespace callflow {

boost::asio::awaitable<LineStatus> sayText(Call& call, Channel& line, std::string text,
                                           std::string_view voice) {
  LineStatus status = co_await line.say(Speech{text, voice});
  call.trace().said.push_back(std::move(text));
  co_return status;
}

boost::asio::awaitable<LineStatus> sayParts(Call& call, Channel& line, std::string text,
                                            std::span<const Template::Part> pieces,
                                            std::string_view voice) {
  std::vector<SpeechPart> parts;
  parts.reserve(pieces.size());
  for (const Template::Part& piece : pieces) {
    parts.push_back(SpeechPart{std::string_view(text).substr(piece.begin, piece.end - piece.begin),
                               piece.fixed});
  }
  Speech speech{text, voice, parts};
  LineStatus status = co_await line.say(speech);
  call.trace().said.push_back(std::move(text));
  co_return status;
}

boost::asio::awaitable<LineStatus> playFiles(Call& call, Channel& line,
                                             std::span<const std::string> files) {
  LineStatus status = co_await line.play(files);
  for (const std::string& file : files) call.trace().played.push_back(file);
  co_return status;
}

Exit lineFailure(ElementResult& result, const Channel& line, std::string_view what) {
  std::string_view why = line.failure();
  result.error = "the " + std::string(what) + " could not be played" +
                 (why.empty() ? std::string() : ": " + std::string(why));
  return Exit{.kind = ExitKind::kError, .note = result.error, .or_output = true};
}

boost::asio::awaitable<DigitResult> askForDigits(Call& call, Channel& line, DigitRequest request) {
  if (!request.prompt_text.empty()) call.trace().said.emplace_back(request.prompt_text);
  for (const std::string& file : request.prompt_files) call.trace().played.push_back(file);
  co_return co_await line.collectDigits(request);
}

}  // namespace callflow
