// LookupLead: finds the caller's lead by phone number (`match: "phone"`, the default; `value`
// overrides the caller's number) or by reference (`match: "reference"`, `value` required),
// and fills the call variables (call.leadid, call.name, …) from it.
// Exits: output (found), noMatch, error (no lead store, or the store failed).
#include "callflow/lead_store.h"
#include "elements/elements.h"
#include "elements/lead_fields.h"
#include "flow/settings.h"

namespace callflow {
namespace {

class LookupLead : public Element {
 public:
  LookupLead(int index, bool by_reference, std::optional<Template> value)
      : index_(index), by_reference_(by_reference), value_(std::move(value)) {}

  boost::asio::awaitable<Exit> run(Call& call, Channel&) const override {
    ElementResult& result = call.result(index_);
    result = ElementResult{};
    result.ran = true;
    LeadStore* store = call.services().leads;
    if (store == nullptr) {
      result.error = "no lead store is configured";
      co_return Exit{ExitKind::kError, -1, {}, "no lead store is configured"};
    }
    std::string key = value_ ? value_->render(call) : call.variable(CallVariable::kPhoneNum);
    if (key.empty()) co_return Exit{ExitKind::kNoMatch, -1, {}, "nothing to look up"};
    // Not `cond ? co_await a : co_await b`: GCC 12 destroys the result of such an expression
    // twice (a crash on every lookup).
    Result<std::optional<Lead>> found = std::optional<Lead>();
    if (by_reference_) {
      found = co_await store->findByReference(key);
    } else {
      found = co_await store->findByPhone(key);
    }
    if (!found) {
      result.error = found.error().message;
      co_return Exit{ExitKind::kError, -1, {}, "the lead store failed"};
    }
    if (!found->has_value()) co_return Exit{ExitKind::kNoMatch};
    copyLeadToCall(**found, call);
    result.text = call.variable(CallVariable::kLeadId);
    co_return Exit{ExitKind::kOutput};
  }

 private:
  int index_;
  bool by_reference_;
  std::optional<Template> value_;
};

}  // namespace

ElementPtr loadLookupLead(Settings& settings) {
  bool by_reference = false;
  if (auto match = settings.string("match")) {
    if (*match == "reference") {
      by_reference = true;
    } else if (*match != "phone") {
      settings.problem("match", "must be \"phone\" or \"reference\"");
    }
  }
  std::optional<Template> value;
  if (settings.has("value") || by_reference) {
    value = settings.text("value", Encoding::kText, true);
    if (!value) return nullptr;
  }
  return std::make_unique<LookupLead>(settings.elementIndex(), by_reference, std::move(value));
}

}  // namespace callflow
