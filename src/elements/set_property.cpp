// SetProperty: copies a value into an IvrData property (`{{LeadField}}`), a call variable
// (`{{call.name}}`; when the call has a lead, the lead's field is written in the store too,
// except call.phonenum, which is the caller's number) or a
// dynamic property (`{{dynamic.Tier}}`). The source is a data path (DataBin), a call variable, a
// dynamic property, or free text with fillpoints. Exits: output; error when the source has no
// value, or the lead could not be written.
#include <charconv>

#include "callflow/lead_store.h"
#include "elements/elements.h"
#include "elements/lead_fields.h"
#include "flow/settings.h"

namespace callflow {
namespace {

struct Destination {
  enum class Type { kIvrData, kCallProperty, kDynamicProperty } type;
  int slot;
};

class SetProperty : public Element {
 public:
  SetProperty(Destination destination, std::optional<DataPath> source, std::optional<Template> text)
      : destination_(destination), source_(std::move(source)), text_(std::move(text)) {}

  boost::asio::awaitable<Exit> run(Call& call, Channel&) const override {
    std::string value;
    if (text_) {
      value = text_->render(call);
    } else if (!call.appendValue(*source_, value)) {
      co_return Exit{ExitKind::kError, -1, {}, "the source has no value"};
    }
    switch (destination_.type) {
      case Destination::Type::kIvrData:
        call.setIvrData(destination_.slot, std::move(value));
        break;
      case Destination::Type::kCallProperty: {
        auto variable = static_cast<CallVariable>(destination_.slot);
        Result<void> written = co_await writeToLead(call, variable, value);
        if (!written) {
          // Exit::note is a view: literals only.
          if (written.error().code == ErrorCode::kInvalidArgument) {
            co_return Exit{ExitKind::kError,
                           -1,
                           {},
                           "the value cannot be stored in the lead (not UTF-8 text, or over "
                           "4096 bytes)"};
          }
          co_return Exit{ExitKind::kError, -1, {}, "the lead could not be written"};
        }
        call.setVariable(variable, std::move(value));
        break;
      }
      case Destination::Type::kDynamicProperty:
        call.setDynamic(destination_.slot, std::move(value));
        break;
    }
    co_return Exit{ExitKind::kOutput};
  }

 private:
  // A call variable backed by a lead field is written to the call's lead, when it has one.
  static boost::asio::awaitable<Result<void>> writeToLead(Call& call, CallVariable variable,
                                                          const std::string& value) {
    std::optional<LeadField> field = leadFieldOf(variable);
    // call.phonenum is the caller's own number (LookupLead leaves it so), not the lead's.
    if (field == LeadField::kPhoneNum) field.reset();
    LeadStore* store = call.services().leads;
    const std::string& lead_text = call.variable(CallVariable::kLeadId);
    std::int64_t lead_id = 0;
    auto [end, ec] =
        std::from_chars(lead_text.data(), lead_text.data() + lead_text.size(), lead_id);
    if (!field || !store || lead_text.empty() || ec != std::errc() ||
        end != lead_text.data() + lead_text.size()) {
      co_return Result<void>();  // nothing to write to: the call variable alone changes
    }
    Result<bool> written = co_await store->setField(lead_id, *field, value);
    if (!written) co_return written.error();
    if (!*written) {
      co_return fail(ErrorCode::kNotFound, "lead " + lead_text + " is not in the store");
    }
    co_return Result<void>();
  }

  Destination destination_;
  std::optional<DataPath> source_;
  std::optional<Template> text_;
};

std::string_view withoutPrefix(std::string_view name, std::string_view prefix) {
  if (name.substr(0, prefix.size()) == prefix) name.remove_prefix(prefix.size());
  return name;
}

}  // namespace

ElementPtr loadSetProperty(Settings& settings) {
  // Both are read even when the other is missing, so each reports its own problems only.
  Settings* destination = settings.object("destination", true);
  Settings* source = settings.object("source", true);

  std::optional<Destination> to;
  std::optional<std::string> to_type, to_name;
  if (destination != nullptr) {
    to_type = destination->string("type", true);
    to_name = destination->string("name", true);
  }
  if (to_type && to_name) {
    if (*to_type == "IvrData") {
      if (!Settings::isName(*to_name)) {
        destination->problem("name", "use letters, digits, '_' and '-' only");
      } else if (settings.context().elementIndex(*to_name)) {
        destination->problem("name", "\"" + *to_name + "\" is an element's name; pick another");
      } else {
        to = Destination{Destination::Type::kIvrData,
                         settings.context().ivrDataSlot(*to_name, true)};
      }
    } else if (*to_type == "CallProperty") {
      auto variable = callVariableFromName(withoutPrefix(*to_name, "call."));
      if (!variable) {
        destination->problem("name", "\"" + *to_name + "\" is not a call variable");
      } else {
        to = Destination{Destination::Type::kCallProperty, static_cast<int>(*variable)};
      }
    } else if (*to_type == "DynamicProperty") {
      std::string_view name = withoutPrefix(*to_name, "dynamic.");
      if (!Settings::isName(name)) {
        destination->problem("name", "use letters, digits, '_' and '-' only");
      } else {
        to = Destination{Destination::Type::kDynamicProperty,
                         settings.context().dynamicSlot(name, true)};
      }
    } else {
      destination->problem("type", "must be IvrData, CallProperty or DynamicProperty");
    }
  }

  std::optional<DataPath> path;
  std::optional<Template> text;
  auto from_type = source != nullptr ? source->string("type", true) : std::nullopt;
  if (from_type) {
    if (*from_type == "FreeText") {
      text = source->text("name", Encoding::kText, true);
    } else if (*from_type == "DataBin") {
      path = source->dataPath("name", true);
    } else if (*from_type == "CallProperty" || *from_type == "DynamicProperty") {
      auto name = source->string("name", true);
      if (name) {
        std::string full = *from_type == "CallProperty"
                               ? "call." + std::string(withoutPrefix(*name, "call."))
                               : "dynamic." + std::string(withoutPrefix(*name, "dynamic."));
        auto parsed = parseDataPath(full);
        settings.context().setCurrentKey("source.name");
        std::string why = parsed ? settings.context().bind(*parsed) : parsed.error().message;
        if (!why.empty()) {
          source->problem("name", why);
        } else {
          path = std::move(*parsed);
        }
      }
    } else {
      source->problem("type", "must be DataBin, CallProperty, DynamicProperty or FreeText");
    }
  }
  if (!to || (!path && !text)) return nullptr;
  return std::make_unique<SetProperty>(*to, std::move(path), std::move(text));
}

}  // namespace callflow
