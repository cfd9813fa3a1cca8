// Play: plays the element's `phrase`, the audio files in order. Exit: output.
#include "elements/elements.h"
#include "engine/line_ops.h"
#include "flow/settings.h"

namespace callflow {
namespace {

class Play : public Element {
 public:
  explicit Play(std::vector<std::string> files) : files_(std::move(files)) {}

  boost::asio::awaitable<Exit> run(Call& call, Channel& line) const override {
    co_await playFiles(call, line, files_);
    co_return Exit{ExitKind::kOutput};
  }

 private:
  std::vector<std::string> files_;
};

}  // namespace

ElementPtr loadPlay(Settings& settings) {
  if (settings.phrase().empty()) {
    settings.problem("phrase", "Play needs at least one audio file in \"phrase\"");
    return nullptr;
  }
  return std::make_unique<Play>(settings.phrase());
}

}  // namespace callflow
