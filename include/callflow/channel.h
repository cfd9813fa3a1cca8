// Channel: what an element may ask of the caller's line.
//
// One Channel per call, owned by whoever answered the call (the SIP adapter for a real call,
// `callflow run` or a test for a ScriptChannel). Elements never know which one they talk to.
// Every method is called on the call's worker thread, one at a time, by the element that is
// running; none of them blocks the thread. A caller who hangs up makes hungUp() true and makes
// any operation in progress finish early with LineStatus::kHungUp; the Runner then ends the
// call in the element that was running.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <span>
#include <string>
#include <string_view>

namespace callflow {

enum class LineStatus {
  kDone,    // the operation finished
  kHungUp,  // the caller hung up before or during it
  kFailed,  // the line could not do it (e.g. a transfer the far end refused)
};

// A piece of a spoken text. Fixed parts come from the flow and are the same on every call (a
// synthesis cache keeps them); the others are values rendered for this call.
struct SpeechPart {
  std::string_view text;
  bool fixed = true;
};

// Something said to the caller by text-to-speech.
struct Speech {
  std::string_view text;   // the whole text, as the trace shows it
  std::string_view voice;  // empty: the engine's default voice
  // `text` cut into fixed parts and values, in order; empty: `text` is one part, not fixed.
  std::span<const SpeechPart> parts;
};

// What a digit-collecting element asks for. The prompt is played first (and stops when the
// caller presses a key: barge-in); then digits are collected until one of: `max_digits`
// digits, the terminator (not included in the result), `first_digit_timeout` with no digit,
// `inter_digit_timeout` after a digit.
struct DigitRequest {
  std::string_view prompt_text;               // spoken prompt, may be empty
  std::span<const std::string> prompt_files;  // audio prompt, may be empty
  int max_digits = 1;
  char terminator = '\0';  // '\0': none
  double first_digit_timeout = 5.0;
  double inter_digit_timeout = 3.0;
};

struct DigitResult {
  LineStatus status = LineStatus::kDone;
  std::string digits;  // empty: no input before the timeout
};

class Channel {
 public:
  virtual ~Channel() = default;

  // The Runner tells the line that the call entered an element (before it runs).
  virtual void enter(std::string_view element) = 0;
  // True once the caller has hung up.
  virtual bool hungUp() const = 0;

  virtual boost::asio::awaitable<LineStatus> say(Speech speech) = 0;
  virtual boost::asio::awaitable<LineStatus> play(std::span<const std::string> files) = 0;
  virtual boost::asio::awaitable<DigitResult> collectDigits(DigitRequest request) = 0;
  // Loops `files` to the caller until stopHold() (ApiRequest's phrase while it waits).
  virtual void startHold(std::span<const std::string> files) = 0;
  virtual void stopHold() = 0;
  // Hands the call to `target` (a SIP URI or phone number). kDone: the call has left the IVR.
  virtual boost::asio::awaitable<LineStatus> transfer(std::string_view target) = 0;
  // The flow ends the call.
  virtual boost::asio::awaitable<void> hangup() = 0;
  // Why the last say/play/... returned kFailed, for the trace; empty when not known.
  virtual std::string_view failure() const { return {}; }

  // A line whose caller can hang up while an element runs (a real call) returns true, and
  // untilHangup() completes when the caller has gone (or at once if already). The Runner then
  // races each element against it: a hang-up cancels the element (its HTTP request, its
  // timer) through Asio's cancellation, and the call ends in that element.
  virtual bool hangsUpAsync() const { return false; }
  virtual boost::asio::awaitable<void> untilHangup() { co_return; }
};

}  // namespace callflow
