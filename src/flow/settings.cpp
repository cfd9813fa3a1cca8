#include "flow/settings.h"

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cmath>

namespace callflow {
namespace {

const char* kindName(const boost::json::value& v) {
  switch (v.kind()) {
    case boost::json::kind::null:
      return "null";
    case boost::json::kind::bool_:
      return "a boolean";
    case boost::json::kind::int64:
    case boost::json::kind::uint64:
    case boost::json::kind::double_:
      return "a number";
    case boost::json::kind::string:
      return "a string";
    case boost::json::kind::array:
      return "a list";
    case boost::json::kind::object:
      return "an object";
  }
  return "a value";
}

std::string formatNumber(double d) {
  if (d == std::floor(d) && std::fabs(d) < 1e15) return std::to_string(static_cast<long long>(d));
  std::string s = std::to_string(d);
  while (!s.empty() && s.back() == '0') s.pop_back();
  return s;
}

}  // namespace

Settings::Settings(const boost::json::object& object, LoadContext& context, int element,
                   std::string prefix)
    : object_(object), context_(context), element_(element), prefix_(std::move(prefix)) {}

const std::string& Settings::elementName() const { return context_.elementName(element_); }

std::string Settings::keyName(std::string_view key) const { return prefix_ + std::string(key); }

void Settings::problem(std::string_view key, std::string message) {
  ++problems_;
  context_.diagnostics().error(elementName(), key.empty() ? std::string() : keyName(key),
                               std::move(message));
}

void Settings::warning(std::string_view key, std::string message) {
  context_.diagnostics().warning(elementName(), key.empty() ? std::string() : keyName(key),
                                 std::move(message));
}

bool Settings::has(std::string_view key) const {
  return object_.find(boost::json::string_view(key.data(), key.size())) != object_.end();
}

const boost::json::value* Settings::find(std::string_view key, bool required) {
  known_.emplace(key);
  auto it = object_.find(boost::json::string_view(key.data(), key.size()));
  if (it == object_.end()) {
    if (required) problem(key, "missing");
    return nullptr;
  }
  return &it->value();
}

const boost::json::value* Settings::raw(std::string_view key) { return find(key, false); }

std::optional<std::string> Settings::string(std::string_view key, bool required) {
  const boost::json::value* v = find(key, required);
  if (v == nullptr) return std::nullopt;
  if (!v->is_string()) {
    problem(key, std::string("must be a string, not ") + kindName(*v));
    return std::nullopt;
  }
  return std::string(v->get_string());
}

std::optional<double> Settings::number(std::string_view key, NumberRange range, bool required) {
  const boost::json::value* v = find(key, required);
  if (v == nullptr) return std::nullopt;
  if (!v->is_number()) {
    problem(key, std::string("must be a number, not ") + kindName(*v));
    return std::nullopt;
  }
  double d = v->to_number<double>();
  if (!std::isfinite(d)) {
    problem(key, "must be a finite number");
    return std::nullopt;
  }
  if (range.min_exclusive ? d <= range.min : d < range.min) {
    problem(key, std::string("must be ") + (range.min_exclusive ? "more than " : "at least ") +
                     formatNumber(range.min));
    return std::nullopt;
  }
  if (d > range.max) {
    problem(key, "must be at most " + formatNumber(range.max));
    return std::nullopt;
  }
  return d;
}

std::optional<int> Settings::integer(std::string_view key, int min, int max, bool required) {
  const boost::json::value* v = find(key, required);
  if (v == nullptr) return std::nullopt;
  if (!v->is_number()) {
    problem(key, std::string("must be a whole number, not ") + kindName(*v));
    return std::nullopt;
  }
  double d = v->to_number<double>();
  if (!std::isfinite(d) || d != std::floor(d)) {
    problem(key, "must be a whole number");
    return std::nullopt;
  }
  if (d < min) {
    problem(key, "must be at least " + std::to_string(min));
    return std::nullopt;
  }
  if (d > max) {
    problem(key, "must be at most " + std::to_string(max));
    return std::nullopt;
  }
  return static_cast<int>(d);
}

std::optional<bool> Settings::boolean(std::string_view key) {
  const boost::json::value* v = find(key, false);
  if (v == nullptr) return std::nullopt;
  if (!v->is_bool()) {
    problem(key, std::string("must be true or false, not ") + kindName(*v));
    return std::nullopt;
  }
  return v->get_bool();
}

std::optional<std::vector<std::string>> Settings::stringList(std::string_view key) {
  const boost::json::value* v = find(key, false);
  if (v == nullptr) return std::vector<std::string>{};
  if (!v->is_array()) {
    problem(key, std::string("must be a list of strings, not ") + kindName(*v));
    return std::nullopt;
  }
  std::vector<std::string> out;
  for (std::size_t i = 0; i < v->get_array().size(); ++i) {
    const auto& item = v->get_array()[i];
    if (!item.is_string()) {
      problem(std::string(key) + "[" + std::to_string(i) + "]",
              std::string("must be a string, not ") + kindName(item));
      return std::nullopt;
    }
    out.emplace_back(item.get_string());
  }
  return out;
}

std::optional<Template> Settings::textFrom(std::string_view key, std::string_view source,
                                           Encoding encoding) {
  context_.setCurrentKey(keyName(key));
  auto parsed = Template::parse(source, encoding, context_);
  if (!parsed) {
    problem(key, parsed.error().message);
    return std::nullopt;
  }
  return std::move(*parsed);
}

std::optional<Template> Settings::text(std::string_view key, Encoding encoding, bool required) {
  auto source = string(key, required);
  if (!source) return std::nullopt;
  return textFrom(key, *source, encoding);
}

std::optional<DataPath> Settings::dataPath(std::string_view key, bool required) {
  auto source = string(key, required);
  if (!source) return std::nullopt;
  std::string_view text = *source;
  // Accept the path bare or written as one fillpoint: `LeadField` or `{{LeadField}}`.
  if (text.size() >= 4 && text.substr(0, 2) == "{{" && text.substr(text.size() - 2) == "}}") {
    text = text.substr(2, text.size() - 4);
  }
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  auto path = parseDataPath(text);
  if (!path) {
    problem(key, path.error().message);
    return std::nullopt;
  }
  context_.setCurrentKey(keyName(key));
  if (std::string why = context_.bind(*path); !why.empty()) {
    problem(key, "\"" + path->text + "\": " + why);
    return std::nullopt;
  }
  return std::move(*path);
}

std::optional<int> Settings::targetFrom(std::string_view key, std::string_view name) {
  auto index = context_.elementIndex(name);
  if (!index) {
    if (!context_.isUntypedElement(name)) {
      problem(key, "no element named \"" + std::string(name) + "\"");
    }
    return std::nullopt;
  }
  context_.addEdge(element_, *index);
  return index;
}

std::optional<int> Settings::target(std::string_view key, bool required) {
  auto name = string(key, required);
  if (!name) return std::nullopt;
  return targetFrom(key, *name);
}

Settings* Settings::object(std::string_view key, bool required) {
  const boost::json::value* v = find(key, required);
  if (v == nullptr) return nullptr;
  if (!v->is_object()) {
    problem(key, std::string("must be an object, not ") + kindName(*v));
    return nullptr;
  }
  return &children_.emplace_back(v->get_object(), context_, element_, keyName(key) + ".");
}

std::optional<std::vector<Settings*>> Settings::objects(std::string_view key, bool required) {
  const boost::json::value* v = find(key, required);
  if (v == nullptr) return std::nullopt;
  if (!v->is_array()) {
    problem(key, std::string("must be a list, not ") + kindName(*v));
    return std::nullopt;
  }
  std::vector<Settings*> out;
  bool ok = true;
  for (std::size_t i = 0; i < v->get_array().size(); ++i) {
    const auto& item = v->get_array()[i];
    std::string item_key = std::string(key) + "[" + std::to_string(i) + "]";
    if (!item.is_object()) {
      problem(item_key, std::string("must be an object, not ") + kindName(item));
      ok = false;
      continue;
    }
    out.push_back(
        &children_.emplace_back(item.get_object(), context_, element_, keyName(item_key) + "."));
  }
  if (!ok) return std::nullopt;
  return out;
}

bool Settings::finish() {
  if (finished_) return problems_ == 0;
  finished_ = true;
  for (const auto& [key, value] : object_) {
    std::string_view k(key.data(), key.size());
    if (known_.count(k) != 0 || (!k.empty() && k.front() == '_')) continue;
    problem(k, "unknown setting");
  }
  bool children_ok = true;
  for (Settings& child : children_) children_ok = child.finish() && children_ok;
  return problems_ == 0 && children_ok;
}

bool Settings::isName(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------

LoadContext::LoadContext(Diagnostics& diagnostics, std::span<const ElementType> registry)
    : diagnostics_(diagnostics), registry_(registry) {}

void LoadContext::setElements(std::vector<std::string> names,
                              std::vector<const ElementType*> types) {
  names_ = std::move(names);
  types_ = std::move(types);
}

std::optional<int> LoadContext::elementIndex(std::string_view name) const {
  for (std::size_t i = 0; i < names_.size(); ++i) {
    if (types_[i] != nullptr && names_[i] == name) return static_cast<int>(i);
  }
  return std::nullopt;
}

bool LoadContext::isUntypedElement(std::string_view name) const {
  for (std::size_t i = 0; i < names_.size(); ++i) {
    if (types_[i] == nullptr && !names_[i].empty() && names_[i] == name) return true;
  }
  return false;
}

int LoadContext::ivrDataSlot(std::string_view name, bool written) {
  for (std::size_t i = 0; i < ivr_data_names_.size(); ++i) {
    if (ivr_data_names_[i] == name) {
      if (written) ivr_data_written_[i] = true;
      return static_cast<int>(i);
    }
  }
  ivr_data_names_.emplace_back(name);
  ivr_data_written_.push_back(written);
  ivr_data_readers_.emplace_back(current_, current_key_);
  return static_cast<int>(ivr_data_names_.size() - 1);
}

int LoadContext::dynamicSlot(std::string_view name, bool) {
  for (std::size_t i = 0; i < dynamic_names_.size(); ++i) {
    if (dynamic_names_[i] == name) return static_cast<int>(i);
  }
  dynamic_names_.emplace_back(name);
  return static_cast<int>(dynamic_names_.size() - 1);
}

std::string LoadContext::bind(DataPath& path) {
  auto& steps = path.steps;
  const std::string& head = steps.front().key;
  auto second_key = [&]() -> std::string_view {
    return steps.size() >= 2 && steps[1].index < 0 ? std::string_view(steps[1].key)
                                                   : std::string_view();
  };
  if (head == "call") {
    auto variable = callVariableFromName(second_key());
    if (steps.size() != 2 || !variable) {
      return "unknown call variable (known: call.referenceid, call.name, call.name2, "
             "call.address, call.city, call.postalcode, call.phonenum, call.leadid, call.dnis, "
             "call.campaignid, call.listid)";
    }
    path.scope = DataPath::Scope::kCallVariable;
    path.slot = static_cast<int>(*variable);
    path.name = std::string(second_key());
    steps.clear();
    return {};
  }
  if (head == "dynamic" || head == "secret") {
    if (steps.size() != 2 || !Settings::isName(second_key())) {
      return "expected " + head + ".NAME";
    }
    path.name = std::string(second_key());
    if (head == "dynamic") {
      path.scope = DataPath::Scope::kDynamic;
      path.slot = dynamicSlot(path.name, false);
    } else {
      path.scope = DataPath::Scope::kSecret;
      secret_names_.insert(path.name);
    }
    steps.clear();
    return {};
  }
  if (auto element = elementIndex(head)) {
    const ElementType* type = types_[*element];
    std::string_view part = second_key();
    std::string kind = std::string(type->name);
    if (part.empty()) {
      return "name a part of element \"" + head + "\", e.g. " + head + ".Result";
    }
    unsigned fields = type->result_fields;
    if (part == "Result" || part == "Digits" || part == "digits") {
      if ((fields & kResultText) == 0) return kind + " \"" + head + "\" leaves no Result";
      if (steps.size() > 2 && (fields & kResultJson) == 0) {
        return kind + " \"" + head + "\" leaves a Result with no parts";
      }
      path.field = DataPath::Field::kResult;
    } else if (part == "StatusCode" || part == "Error") {
      unsigned needed = part == "StatusCode" ? kStatusCode : kErrorText;
      if ((fields & needed) == 0) {
        return kind + " \"" + head + "\" leaves no " + std::string(part);
      }
      if (steps.size() > 2) return std::string(part) + " has no parts";
      path.field = part == "StatusCode" ? DataPath::Field::kStatusCode : DataPath::Field::kError;
    } else {
      return "unknown part \"" + std::string(part) + "\" of element \"" + head +
             "\" (known: Result, StatusCode, Error)";
    }
    path.scope = DataPath::Scope::kElement;
    path.slot = *element;
    path.name = head;
    steps.erase(steps.begin(), steps.begin() + 2);
    if (current_ >= 0) {
      references_.push_back({current_, *element, current_key_, path.text, path.field, steps});
    }
    return {};
  }
  if (steps.size() == 1) {
    if (!Settings::isName(head)) return "not a valid property name";
    path.scope = DataPath::Scope::kIvrData;
    path.name = head;
    path.slot = ivrDataSlot(head, false);
    steps.clear();
    return {};
  }
  return "no element named \"" + head + "\"";
}

}  // namespace callflow
