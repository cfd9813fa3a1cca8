// Menu: prompts, then takes one key; `options` maps keys to the elements they lead to. A try
// with no key before `timeout` is no input; a key with no option is no match; each failed try
// is repeated up to `retries` times. Exits: the chosen option, noMatch or noInput (the last
// try's failure). `NAME.Result` holds the key pressed. Untrusted input: the key.
#include <boost/json/value.hpp>

#include "elements/elements.h"
#include "elements/prompt.h"
#include "engine/line_ops.h"

namespace callflow {
namespace {

struct Option {
  std::string key;
  int target;
};

class Menu : public Element {
 public:
  Menu(int index, Prompt prompt, DigitTimeouts timeouts, std::vector<Option> options)
      : index_(index),
        prompt_(std::move(prompt)),
        timeouts_(timeouts),
        options_(std::move(options)) {}

  boost::asio::awaitable<Exit> run(Call& call, Channel& line) const override {
    ElementResult& result = call.result(index_);
    result = ElementResult{};
    result.ran = true;
    std::string prompt_text = prompt_.text ? prompt_.text->render(call) : std::string();
    bool last_was_silence = true;
    for (int attempt = 0; attempt <= timeouts_.retries; ++attempt) {
      DigitRequest request;
      request.prompt_text = prompt_text;
      request.prompt_files = prompt_.files;
      request.max_digits = 1;
      request.first_digit_timeout = timeouts_.first_digit;
      request.inter_digit_timeout = timeouts_.first_digit;
      DigitResult got = co_await askForDigits(call, line, request);
      if (got.status == LineStatus::kHungUp) co_return Exit{ExitKind::kError};
      if (got.digits.empty()) {
        last_was_silence = true;
        continue;
      }
      result.text = got.digits;
      for (const Option& option : options_) {
        if (option.key == got.digits) co_return Exit{ExitKind::kRoute, option.target, option.key};
      }
      last_was_silence = false;
    }
    if (last_was_silence) co_return Exit{ExitKind::kNoInput, -1, {}, "no input"};
    co_return Exit{ExitKind::kNoMatch, -1, {}, "no option for that key"};
  }

 private:
  int index_;
  Prompt prompt_;
  DigitTimeouts timeouts_;
  std::vector<Option> options_;
};

}  // namespace

ElementPtr loadMenu(Settings& settings) {
  auto prompt = loadPrompt(settings);
  DigitTimeouts timeouts = loadDigitTimeouts(settings);
  std::vector<Option> options;
  Settings* map = settings.object("options", true);
  bool ok = map != nullptr;
  if (map != nullptr) {
    const auto* raw = settings.raw("options");
    for (const auto& [key, value] : raw->get_object()) {
      std::string k(key.data(), key.size());
      if (k.size() != 1 || std::string_view("0123456789*#").find(k[0]) == std::string::npos) {
        (void)map->raw(k);
        map->problem(k, "an option is one key: 0-9, * or #");
        ok = false;
        continue;
      }
      if (auto target = map->target(k, true)) {
        options.push_back({k, *target});
      } else {
        ok = false;
      }
    }
    if (options.empty() && ok) {
      settings.problem("options", "give at least one option, e.g. {\"1\": \"Sales\"}");
      ok = false;
    }
  }
  if (!prompt || !ok) return nullptr;
  return std::make_unique<Menu>(settings.elementIndex(), std::move(*prompt), timeouts,
                                std::move(options));
}

}  // namespace callflow
