// The prompt of a digit-collecting element (Menu, CaptureDigits): `prompt: {"text": "…"}`
// spoken by text-to-speech, `prompt: {"phrase": ["file.wav"]}`, or the element's own `phrase`.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "flow/settings.h"

namespace callflow {

struct Prompt {
  std::optional<Template> text;
  std::vector<std::string> files;
  std::string voice;
};

// Reads `prompt`; reports problems through `settings`. nullopt when it is wrong.
std::optional<Prompt> loadPrompt(Settings& settings);

// Collection settings shared by Menu and CaptureDigits.
struct DigitTimeouts {
  double first_digit = 5;
  double inter_digit = 3;
  int retries = 0;
};
DigitTimeouts loadDigitTimeouts(Settings& settings);

}  // namespace callflow
