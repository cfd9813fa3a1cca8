#include "elements/prompt.h"

#include <boost/json/value.hpp>

namespace callflow {

std::optional<Prompt> loadPrompt(Settings& settings) {
  Prompt prompt;
  prompt.files = settings.phrase();
  if (!settings.has("prompt")) return prompt;
  if (const auto* raw = settings.raw("prompt"); raw != nullptr && raw->is_string()) {
    prompt.text = settings.text("prompt", Encoding::kText);  // shorthand: the text itself
    if (!prompt.text) return std::nullopt;
    return prompt;
  }
  Settings* object = settings.object("prompt");
  if (object == nullptr) return std::nullopt;
  // Every key is read before giving up, so one bad key is one problem.
  bool ok = true;
  if (object->has("text")) {
    prompt.text = object->text("text", Encoding::kText);
    ok = prompt.text.has_value();
  }
  if (object->has("phrase")) {
    auto files = object->stringList("phrase");
    if (files) {
      prompt.files = std::move(*files);
    } else {
      ok = false;
    }
  }
  prompt.voice = object->string("voice").value_or("");
  if (!ok) return std::nullopt;
  if (!prompt.text && prompt.files.empty()) {
    object->problem("", "give \"text\" or \"phrase\"");
    return std::nullopt;
  }
  return prompt;
}

DigitTimeouts loadDigitTimeouts(Settings& settings) {
  DigitTimeouts timeouts;
  timeouts.first_digit = settings.number("timeout", {0, 120, true}).value_or(5);
  timeouts.inter_digit = settings.number("interDigitTimeout", {0, 60, true}).value_or(3);
  timeouts.retries = settings.integer("retries", 0, 10).value_or(0);
  return timeouts;
}

}  // namespace callflow
