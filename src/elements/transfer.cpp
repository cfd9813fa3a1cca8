// Transfer: hands the call to `target`, a SIP URI or phone number (fillpoints allowed). When
// the transfer completes the call leaves the IVR and ends here; when it fails, exit `error`
// with `NAME.Error` saying why. Untrusted inputs: values rendered into the target, which is
// dialled only when it matches the operator's transfer allowlist (toll-fraud guard).
#include "callflow/channel.h"
#include "elements/elements.h"
#include "flow/settings.h"

namespace callflow {
namespace {

class Transfer : public Element {
 public:
  Transfer(int index, Template target) : index_(index), target_(std::move(target)) {}

  boost::asio::awaitable<Exit> run(Call& call, Channel& line) const override {
    ElementResult& result = call.result(index_);
    result.ran = true;
    std::string target = target_.render(call);
    if (target.empty()) {
      result.error = "the transfer target is empty";
      co_return Exit{ExitKind::kError, -1, {}, "the transfer target is empty"};
    }
    const TransferPolicy* policy = call.services().transfers;
    if (policy != nullptr && !policy->permits(target)) {
      constexpr std::size_t kShown = 120;  // a target built from an API result may be long
      result.error = "the transfer target \"" + target.substr(0, kShown) +
                     (target.size() > kShown ? "...\"" : "\"") +
                     " is not in the transfer allowlist (--transfer-allow)";
      co_return Exit{ExitKind::kError, -1, {}, result.error};
    }
    LineStatus status = co_await line.transfer(target);
    if (status == LineStatus::kDone) {
      call.trace().transfers.push_back(std::move(target));
      co_return Exit{ExitKind::kEnd};
    }
    result.error = "the transfer failed";
    co_return Exit{ExitKind::kError, -1, {}, "the transfer failed"};
  }

 private:
  int index_;
  Template target_;
};

}  // namespace

ElementPtr loadTransfer(Settings& settings) {
  auto target = settings.text("target", Encoding::kText, true);
  if (!target) return nullptr;
  if (target->empty()) {
    settings.problem("target", "must not be empty");
    return nullptr;
  }
  settings.context().addDialTarget(target->source(), !target->hasFillpoints());
  return std::make_unique<Transfer>(settings.elementIndex(), std::move(*target));
}

}  // namespace callflow
