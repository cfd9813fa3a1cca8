// TextToSpeech: says `text` (fillpoints rendered per call) in `voice`. Exits: output, and error
// when the speech cannot be made (the line says why: a rendered text over the engine's limit,
// no engine); an unwired error goes on by output, so the caller is never dropped for it.
// Untrusted inputs: the values rendered into the text (caller data, API results), which are
// only spoken, never interpreted.
#include "elements/elements.h"
#include "engine/line_ops.h"
#include "flow/settings.h"

namespace callflow {
namespace {

constexpr std::size_t kMaxTextLength = 4096;

class TextToSpeech : public Element {
 public:
  TextToSpeech(int index, Template text, std::string voice)
      : index_(index), text_(std::move(text)), voice_(std::move(voice)) {}

  boost::asio::awaitable<Exit> run(Call& call, Channel& line) const override {
    std::vector<Template::Part> parts;
    std::string text = text_.renderParts(call, parts);
    LineStatus status = co_await sayParts(call, line, std::move(text), parts, voice_);
    if (status == LineStatus::kFailed) co_return lineFailure(call.result(index_), line, "speech");
    co_return Exit{ExitKind::kOutput};
  }

 private:
  int index_;
  Template text_;
  std::string voice_;
};

}  // namespace

ElementPtr loadTextToSpeech(Settings& settings) {
  auto text = settings.text("text", Encoding::kText, true);
  std::string voice = settings.string("voice").value_or("");
  if (text && text->source().size() > kMaxTextLength) {
    settings.problem("text", "longer than " + std::to_string(kMaxTextLength) + " characters");
    return nullptr;
  }
  if (!text) return nullptr;
  return std::make_unique<TextToSpeech>(settings.elementIndex(), std::move(*text),
                                        std::move(voice));
}

}  // namespace callflow
