#include "engine/script_channel.h"

namespace callflow {

std::vector<std::string> splitDigits(std::string_view text) {
  std::vector<std::string> entries;
  if (text.empty()) return entries;
  std::size_t start = 0;
  while (true) {
    std::size_t comma = text.find(',', start);
    entries.emplace_back(text.substr(start, comma - start));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return entries;
}

bool isDtmf(std::string_view keys) {
  for (char c : keys) {
    bool ok = (c >= '0' && c <= '9') || c == '*' || c == '#' || (c >= 'A' && c <= 'D');
    if (!ok) return false;
  }
  return true;
}

void ScriptChannel::enter(std::string_view element) {
  if (!script_.hangup_at.empty() && element == script_.hangup_at) hung_up_ = true;
}

boost::asio::awaitable<LineStatus> ScriptChannel::say(Speech) {
  co_return hung_up_ ? LineStatus::kHungUp : LineStatus::kDone;
}

boost::asio::awaitable<LineStatus> ScriptChannel::play(std::span<const std::string>) {
  co_return hung_up_ ? LineStatus::kHungUp : LineStatus::kDone;
}

boost::asio::awaitable<DigitResult> ScriptChannel::collectDigits(DigitRequest request) {
  DigitResult result;
  if (hung_up_) {
    result.status = LineStatus::kHungUp;
    co_return result;
  }
  if (next_entry_ >= script_.digits.size()) co_return result;  // silence
  const std::string& keys = script_.digits[next_entry_++];
  for (char key : keys) {
    if (request.terminator != '\0' && key == request.terminator) break;
    result.digits += key;
    if (static_cast<int>(result.digits.size()) >= request.max_digits) break;
  }
  co_return result;
}

void ScriptChannel::startHold(std::span<const std::string>) { holding_ = true; }
void ScriptChannel::stopHold() { holding_ = false; }

boost::asio::awaitable<LineStatus> ScriptChannel::transfer(std::string_view) {
  if (hung_up_) co_return LineStatus::kHungUp;
  co_return script_.fail_transfers ? LineStatus::kFailed : LineStatus::kDone;
}

boost::asio::awaitable<void> ScriptChannel::hangup() { co_return; }

}  // namespace callflow
