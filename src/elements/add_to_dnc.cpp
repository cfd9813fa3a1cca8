// AddToDnc: adds `number` (fillpoints; default the caller's number) to the do-not-call list.
// Exits: output, error (no number, no lead store, or the store failed).
#include "callflow/lead_store.h"
#include "elements/elements.h"
#include "flow/settings.h"

namespace callflow {
namespace {

class AddToDnc : public Element {
 public:
  AddToDnc(int index, std::optional<Template> number) : index_(index), number_(std::move(number)) {}

  boost::asio::awaitable<Exit> run(Call& call, Channel&) const override {
    ElementResult& result = call.result(index_);
    result = ElementResult{};
    result.ran = true;
    LeadStore* store = call.services().leads;
    std::string number = number_ ? number_->render(call) : call.variable(CallVariable::kPhoneNum);
    if (number.empty()) {
      result.error = "no number to add";
      co_return Exit{ExitKind::kError, -1, {}, "no number to add"};
    }
    if (store == nullptr) {
      result.error = "no lead store is configured";
      co_return Exit{ExitKind::kError, -1, {}, "no lead store is configured"};
    }
    auto added = co_await store->addToDnc(number);
    if (!added) {
      result.error = added.error().message;
      co_return Exit{ExitKind::kError, -1, {}, "the lead store failed"};
    }
    co_return Exit{ExitKind::kOutput};
  }

 private:
  int index_;
  std::optional<Template> number_;
};

}  // namespace

ElementPtr loadAddToDnc(Settings& settings) {
  std::optional<Template> number;
  if (settings.has("number")) {
    number = settings.text("number", Encoding::kText);
    if (!number) return nullptr;
  }
  return std::make_unique<AddToDnc>(settings.elementIndex(), std::move(number));
}

}  // namespace callflow
