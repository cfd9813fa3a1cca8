// CaptureDigits: prompts, then collects between `minDigits` and `maxDigits` keys, ended by
// the `terminator` (not kept), the maximum, or `interDigitTimeout`. A try with no key before
// `timeout` is no input; fewer than minDigits is an invalid try. Each failed try is repeated
// up to `retries` times. Exits: output (`NAME.Result` holds the digits), noInput when the last
// try had no input, error when the last try was invalid. Untrusted input: the digits.
#include "elements/elements.h"
#include "elements/prompt.h"
#include "engine/line_ops.h"

namespace callflow {
namespace {

class CaptureDigits : public Element {
 public:
  CaptureDigits(int index, Prompt prompt, DigitTimeouts timeouts, int min_digits, int max_digits,
                char terminator)
      : index_(index),
        prompt_(std::move(prompt)),
        timeouts_(timeouts),
        min_digits_(min_digits),
        max_digits_(max_digits),
        terminator_(terminator) {}

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
      request.max_digits = max_digits_;
      request.terminator = terminator_;
      request.first_digit_timeout = timeouts_.first_digit;
      request.inter_digit_timeout = timeouts_.inter_digit;
      DigitResult got = co_await askForDigits(call, line, request);
      if (got.status == LineStatus::kHungUp) co_return Exit{ExitKind::kError};
      if (got.digits.empty()) {
        last_was_silence = true;
        continue;
      }
      if (static_cast<int>(got.digits.size()) < min_digits_) {
        last_was_silence = false;
        continue;
      }
      result.text = std::move(got.digits);
      co_return Exit{ExitKind::kOutput};
    }
    if (last_was_silence) co_return Exit{ExitKind::kNoInput, -1, {}, "no input"};
    co_return Exit{ExitKind::kError, -1, {}, "too few digits"};
  }

 private:
  int index_;
  Prompt prompt_;
  DigitTimeouts timeouts_;
  int min_digits_;
  int max_digits_;
  char terminator_;
};

}  // namespace

constexpr int kMaxDigits = 64;

ElementPtr loadCaptureDigits(Settings& settings) {
  auto prompt = loadPrompt(settings);
  DigitTimeouts timeouts = loadDigitTimeouts(settings);
  int max_digits = settings.integer("maxDigits", 1, kMaxDigits).value_or(20);
  int min_digits = settings.integer("minDigits", 1, kMaxDigits).value_or(1);
  if (min_digits > max_digits) {
    settings.problem("minDigits",
                     "must not be more than maxDigits (" + std::to_string(max_digits) + ")");
  }
  char terminator = '#';
  if (auto text = settings.string("terminator")) {
    if (text->empty()) {
      terminator = '\0';
    } else if (text->size() != 1 ||
               std::string_view("0123456789*#").find((*text)[0]) == std::string_view::npos) {
      settings.problem("terminator", "must be one key of 0-9, * or #, or \"\" for none");
    } else {
      terminator = (*text)[0];
    }
  }
  if (!prompt) return nullptr;
  return std::make_unique<CaptureDigits>(settings.elementIndex(), std::move(*prompt), timeouts,
                                         min_digits, max_digits, terminator);
}

}  // namespace callflow
