// ScriptChannel: a scripted caller for `callflow run`, tests and benchmarks.
//
// Each digit collection (each try of a Menu or CaptureDigits) takes the next entry of
// `digits`: the keys the caller presses during that try. An empty entry, or none left, is
// silence (no input). Keys after the terminator or past the maximum are dropped. The caller
// hangs up on entering the element named `hangup_at`. Transfers succeed unless
// `fail_transfers`. Nothing here waits: time is not simulated.
#pragma once

#include <string>
#include <vector>

#include "callflow/channel.h"

namespace callflow {

struct CallerScript {
  std::vector<std::string> digits;
  std::string hangup_at;
  bool fail_transfers = false;
};

// Splits `--digits "123#,2"` into entries; an entry may be empty ("1,,2").
std::vector<std::string> splitDigits(std::string_view text);
// True when every character is a DTMF key: 0-9 * # A-D.
bool isDtmf(std::string_view keys);

class ScriptChannel : public Channel {
 public:
  explicit ScriptChannel(CallerScript script) : script_(std::move(script)) {}

  void enter(std::string_view element) override;
  bool hungUp() const override { return hung_up_; }
  boost::asio::awaitable<LineStatus> say(Speech speech) override;
  boost::asio::awaitable<LineStatus> play(std::span<const std::string> files) override;
  boost::asio::awaitable<DigitResult> collectDigits(DigitRequest request) override;
  void startHold(std::span<const std::string> files) override;
  void stopHold() override;
  boost::asio::awaitable<LineStatus> transfer(std::string_view target) override;
  boost::asio::awaitable<void> hangup() override;

  bool holding() const { return holding_; }

 private:
  CallerScript script_;
  std::size_t next_entry_ = 0;
  bool hung_up_ = false;
  bool holding_ = false;
};

}  // namespace callflow
