// Play: plays the element's `phrase`, the audio files in order. Exits: output, and error when a
// file cannot be played (missing, unreadable); an unwired error goes on by output.
#include "elements/elements.h"
#include "engine/line_ops.h"
#include "flow/settings.h"

namespace callflow {
namespace {

class Play : public Element {
 public:
  Play(int index, std::vector<std::string> files) : index_(index), files_(std::move(files)) {}

  boost::asio::awaitable<Exit> run(Call& call, Channel& line) const override {
    LineStatus status = co_await playFiles(call, line, files_);
    if (status == LineStatus::kFailed) co_return lineFailure(call.result(index_), line, "audio");
    co_return Exit{ExitKind::kOutput};
  }

 private:
  int index_;
  std::vector<std::string> files_;
};

}  // namespace

ElementPtr loadPlay(Settings& settings) {
  if (settings.phrase().empty()) {
    settings.problem("phrase", "Play needs at least one audio file in \"phrase\"");
    return nullptr;
  }
  return std::make_unique<Play>(settings.elementIndex(), settings.phrase());
}

}  // namespace callflow
