// CreateLead: stores a new lead from `fields` (lead field → text with fillpoints; the
// standard fields, or custom ones as "field:158"); the caller's number is its phone number
// unless `phonenum` is given. Sets call.leadid and the other call variables.
// Exits: output, error (no lead store, or the store failed).
#include <boost/json/value.hpp>
#include <charconv>

#include "callflow/lead_store.h"
#include "elements/elements.h"
#include "elements/lead_fields.h"
#include "flow/settings.h"

namespace callflow {
namespace {

struct FieldValue {
  std::optional<LeadField> field;  // or a custom field:
  int custom = 0;
  Template value;
};

class CreateLead : public Element {
 public:
  CreateLead(int index, std::vector<FieldValue> fields)
      : index_(index), fields_(std::move(fields)) {}

  boost::asio::awaitable<Exit> run(Call& call, Channel&) const override {
    ElementResult& result = call.result(index_);
    result = ElementResult{};
    result.ran = true;
    LeadStore* store = call.services().leads;
    if (store == nullptr) {
      result.error = "no lead store is configured";
      co_return Exit{ExitKind::kError, -1, {}, "no lead store is configured"};
    }
    Lead lead;
    lead.field(LeadField::kPhoneNum) = call.variable(CallVariable::kPhoneNum);
    for (const FieldValue& f : fields_) {
      if (f.field) {
        lead.field(*f.field) = f.value.render(call);
      } else {
        lead.custom[f.custom] = f.value.render(call);
      }
    }
    auto id = co_await store->create(lead);
    if (!id) {
      result.error = id.error().message;
      co_return Exit{ExitKind::kError, -1, {}, "the lead store failed"};
    }
    lead.id = *id;
    copyLeadToCall(lead, call);
    result.text = std::to_string(*id);
    co_return Exit{ExitKind::kOutput};
  }

 private:
  int index_;
  std::vector<FieldValue> fields_;
};

}  // namespace

ElementPtr loadCreateLead(Settings& settings) {
  Settings* fields = settings.object("fields", true);
  if (fields == nullptr) return nullptr;
  std::vector<FieldValue> out;
  bool ok = true;
  for (const auto& [key, value] : settings.raw("fields")->get_object()) {
    std::string name(key.data(), key.size());
    FieldValue field{std::nullopt, 0, Template{}};
    if (name.rfind("field:", 0) == 0) {
      std::string_view digits = std::string_view(name).substr(6);
      auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), field.custom);
      if (ec != std::errc() || end != digits.data() + digits.size() || field.custom <= 0) {
        (void)fields->raw(name);
        fields->problem(name, "a custom field is \"field:\" and a positive number");
        ok = false;
        continue;
      }
    } else if (auto standard = leadFieldFromName(name)) {
      field.field = standard;
    } else {
      (void)fields->raw(name);
      fields->problem(name,
                      "not a lead field (referenceid, name, name2, address, city, "
                      "postalcode, phonenum, campaignid, listid, or field:ID)");
      ok = false;
      continue;
    }
    auto text = fields->text(name, Encoding::kText, true);
    if (!text) {
      ok = false;
      continue;
    }
    field.value = std::move(*text);
    out.push_back(std::move(field));
  }
  if (!ok) return nullptr;
  return std::make_unique<CreateLead>(settings.elementIndex(), std::move(out));
}

}  // namespace callflow
