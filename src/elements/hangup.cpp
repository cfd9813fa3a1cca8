// Hangup: ends the call; the call record gets this element's result code.
#include "elements/elements.h"
#include "flow/settings.h"

namespace callflow {
namespace {

class Hangup : public Element {
 public:
  boost::asio::awaitable<Exit> run(Call&, Channel&) const override {
    co_return Exit{ExitKind::kEnd};
  }
};

}  // namespace

ElementPtr loadHangup(Settings&) { return std::make_unique<Hangup>(); }

}  // namespace callflow
