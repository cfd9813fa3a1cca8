// Branch: routes on a value. `source` is a data path; `branches` (at most 20) are tried in
// order, the first match wins, none: `noMatch`. Operators: equals (default), notEquals,
// contains, startsWith, regex (a search; anchor with ^ and $), lt/le/gt/ge (numbers),
// empty, notEmpty. A source with no value matches `empty`, fails `notEmpty`, and leaves by
// `error` at the first other comparison. Untrusted inputs: the source value (caller digits,
// API results); regexes come from the flow author and are compiled once at load.
#include <boost/json/value.hpp>
#include <boost/regex.hpp>
#include <charconv>
#include <cmath>

#include "elements/elements.h"
#include "flow/settings.h"

namespace callflow {
namespace {

constexpr std::size_t kMaxBranches = 20;

enum class Op {
  kEquals,
  kNotEquals,
  kContains,
  kStartsWith,
  kRegex,
  kLt,
  kLe,
  kGt,
  kGe,
  kEmpty,
  kNotEmpty
};

struct OpName {
  std::string_view name;
  Op op;
};
constexpr OpName kOps[] = {{"equals", Op::kEquals},
                           {"notEquals", Op::kNotEquals},
                           {"contains", Op::kContains},
                           {"startsWith", Op::kStartsWith},
                           {"regex", Op::kRegex},
                           {"lt", Op::kLt},
                           {"le", Op::kLe},
                           {"gt", Op::kGt},
                           {"ge", Op::kGe},
                           {"empty", Op::kEmpty},
                           {"notEmpty", Op::kNotEmpty}};

bool isNumeric(Op op) { return op == Op::kLt || op == Op::kLe || op == Op::kGt || op == Op::kGe; }

std::optional<double> toNumber(std::string_view text) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty() ||
      !std::isfinite(value)) {
    return std::nullopt;
  }
  return value;
}

struct Case {
  Op op = Op::kEquals;
  std::optional<Template> value;  // absent for empty / notEmpty
  std::string label;              // the value as written, for the trace
  std::optional<boost::regex> regex;
  int target = -1;
};

class Branch : public Element {
 public:
  Branch(DataPath source, std::vector<Case> cases)
      : source_(std::move(source)), cases_(std::move(cases)) {}

  boost::asio::awaitable<Exit> run(Call& call, Channel&) const override {
    std::string value;
    bool has_value = call.appendValue(source_, value);
    std::string operand;
    for (const Case& c : cases_) {
      if (!has_value) {
        if (c.op == Op::kEmpty) co_return Exit{ExitKind::kRoute, c.target, c.label};
        if (c.op == Op::kNotEmpty) continue;
        co_return Exit{ExitKind::kError, -1, {}, "the source has no value"};
      }
      operand.clear();
      if (c.value) (void)c.value->renderTo(call, operand);
      bool match = false;
      switch (c.op) {
        case Op::kEquals:
          match = value == operand;
          break;
        case Op::kNotEquals:
          match = value != operand;
          break;
        case Op::kContains:
          match = value.find(operand) != std::string::npos;
          break;
        case Op::kStartsWith:
          match = value.compare(0, operand.size(), operand) == 0;
          break;
        case Op::kEmpty:
          match = value.empty();
          break;
        case Op::kNotEmpty:
          match = !value.empty();
          break;
        case Op::kRegex:
          try {
            match = boost::regex_search(value, *c.regex);
          } catch (const std::exception&) {
            co_return Exit{ExitKind::kError, -1, {}, "the regex was too complex for the value"};
          }
          break;
        case Op::kLt:
        case Op::kLe:
        case Op::kGt:
        case Op::kGe: {
          auto left = toNumber(value);
          auto right = toNumber(operand);
          if (!left || !right) break;  // not numbers: no match
          match = c.op == Op::kLt   ? *left < *right
                  : c.op == Op::kLe ? *left <= *right
                  : c.op == Op::kGt ? *left > *right
                                    : *left >= *right;
          break;
        }
      }
      if (match) co_return Exit{ExitKind::kRoute, c.target, c.label};
    }
    co_return Exit{ExitKind::kNoMatch};
  }

 private:
  DataPath source_;
  std::vector<Case> cases_;
};

}  // namespace

ElementPtr loadBranch(Settings& settings) {
  auto source = settings.dataPath("source", true);
  // Counted before the items are read, so a long list is one problem, not one per item.
  if (const auto* raw = settings.raw("branches");
      raw != nullptr && raw->is_array() && raw->get_array().size() > kMaxBranches) {
    settings.problem("branches", "more than " + std::to_string(kMaxBranches) + " branches (" +
                                     std::to_string(raw->get_array().size()) + ")");
    return nullptr;
  }
  auto branches = settings.objects("branches", true);
  if (!branches) return nullptr;
  if (branches->empty()) {
    settings.problem("branches", "give at least one branch");
    return nullptr;
  }
  std::vector<Case> cases;
  bool ok = true;
  for (Settings* item : *branches) {
    Case c;
    if (auto op = item->string("op")) {
      auto it = std::find_if(std::begin(kOps), std::end(kOps),
                             [&](const OpName& o) { return o.name == *op; });
      if (it == std::end(kOps)) {
        item->problem("op", "unknown operator \"" + *op +
                                "\" (known: equals, notEquals, contains, startsWith, regex, lt, "
                                "le, gt, ge, empty, notEmpty)");
        (void)item->raw("value");          // not "unknown setting" as well
        (void)item->target("next", true);  // still checked
        ok = false;
        continue;
      }
      c.op = it->op;
    }
    bool needs_value = c.op != Op::kEmpty && c.op != Op::kNotEmpty;
    if (needs_value) {
      const auto* raw = item->raw("value");
      std::string text;
      if (raw == nullptr) {
        item->problem("value", "missing");
      } else if (raw->is_string()) {
        text = std::string(raw->get_string());
      } else if (raw->is_number()) {
        auto number = item->number("value", {-1e300, 1e300});
        if (number) appendNumber(*number, text);
      } else {
        item->problem("value", "must be text or a number");
      }
      if (raw != nullptr) {
        c.value = item->textFrom("value", text, Encoding::kText);
        c.label = text;
      }
      if (c.value && isNumeric(c.op) && !c.value->hasFillpoints() && !toNumber(text)) {
        item->problem("value",
                      "\"" + text + "\" is not a number (operator " +
                          std::string(std::find_if(std::begin(kOps), std::end(kOps),
                                                   [&](const OpName& o) { return o.op == c.op; })
                                          ->name) +
                          ")");
      }
      if (c.value && c.op == Op::kRegex) {
        if (c.value->hasFillpoints()) {
          item->problem("value", "a regex cannot hold fillpoints");
        } else {
          try {
            c.regex.emplace(text, boost::regex::ECMAScript);
          } catch (const std::exception& e) {
            item->problem("value", std::string("invalid regex: ") + e.what());
          }
        }
      }
    } else {
      (void)item->raw("value");
      c.label = c.op == Op::kEmpty ? "(empty)" : "(not empty)";
    }
    if (auto target = item->target("next", true)) c.target = *target;
    if (!item->finish()) {
      ok = false;
      continue;
    }
    cases.push_back(std::move(c));
  }
  if (!source || !ok) return nullptr;
  return std::make_unique<Branch>(std::move(*source), std::move(cases));
}

}  // namespace callflow
