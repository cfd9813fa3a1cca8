// TextToSpeech: says `text` (fillpoints rendered per call) in `voice`. Exit: output.
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
  TextToSpeech(Template text, std::string voice)
      : text_(std::move(text)), voice_(std::move(voice)) {}

  boost::asio::awaitable<Exit> run(Call& call, Channel& line) const override {
    std::vector<Template::Part> parts;
    std::string text = text_.renderParts(call, parts);
    co_await sayParts(call, line, std::move(text), parts, voice_);
    co_return Exit{ExitKind::kOutput};
  }

 private:
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
  return std::make_unique<TextToSpeech>(std::move(*text), std::move(voice));
}

}  // namespace callflow
