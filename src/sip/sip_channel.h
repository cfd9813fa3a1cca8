// SipChannel: the Channel of a real call, SIP signalling through SipStack and audio through
// an RtpStream, on the call's worker.
//
// The call is answered when the flow first needs the line (speech, a prompt, digits, a hold
// phrase), so elements that run before (LookupLead, a Branch, an ApiRequest with no phrase)
// run while the caller hears ringing, and a Transfer reached first becomes a 302. Speech is
// looked up in the synthesis cache; what is missing is synthesized on the TTS executor (a
// thread pool), never on the worker. A digit pressed while a Menu or CaptureDigits prompt
// plays stops the prompt (barge-in). The caller hanging up wakes whatever waits and completes
// untilHangup(), which the Runner races each element against.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "callflow/channel.h"
#include "media/rtp_stream.h"
#include "sip/sip_stack.h"

namespace callflow::media {
class PromptCache;
class SpeechCache;
}  // namespace callflow::media

namespace callflow::sip {

// The audio services calls share (thread-safe), and where uncached speech is synthesized.
struct MediaServices {
  media::PromptCache* prompts = nullptr;
  media::SpeechCache* speech = nullptr;
  boost::asio::any_io_executor tts;
};

// How long a blind transfer may wait for the far end's verdict (REFER's NOTIFY).
inline constexpr std::chrono::seconds kReferTimeout{32};

class SipChannel : public Channel, public media::StreamListener {
 public:
  // `label` names the call in log lines, e.g. `flow "Main", call 3848276298@10.0.0.1`.
  SipChannel(SipStack& stack, const IncomingCall& call, MediaServices media,
             std::shared_ptr<media::RtpStream> stream, boost::asio::any_io_executor worker,
             std::string label);
  ~SipChannel() override;

  // Channel
  void enter(std::string_view element) override;
  bool hungUp() const override { return hung_up_; }
  boost::asio::awaitable<LineStatus> say(Speech speech) override;
  boost::asio::awaitable<LineStatus> play(std::span<const std::string> files) override;
  boost::asio::awaitable<DigitResult> collectDigits(DigitRequest request) override;
  void startHold(std::span<const std::string> files) override;
  void stopHold() override;
  boost::asio::awaitable<LineStatus> transfer(std::string_view target) override;
  boost::asio::awaitable<void> hangup() override;
  bool hangsUpAsync() const override { return true; }
  boost::asio::awaitable<void> untilHangup() override;

  // From the SIP side.
  void callerHungUp();
  void mediaChanged(const MediaDescription& media);
  void referDone(bool accepted, int status);
  // The call is over whoever ended it: hangs up if nobody did, stops the audio.
  void finish();
  // The server ends the call (BYE, or 503 before the answer): the flow stops as if the caller
  // had hung up. For the media timeout.
  void endByServer();
  // Answered, not held by the caller, and no RTP from the caller for `quiet`.
  bool silentFor(std::chrono::steady_clock::duration quiet) const;

  bool answered() const { return answered_; }
  std::string_view failure() const override { return last_error_; }

  // media::StreamListener
  void onDigit(char digit) override;
  void onPlayed() override;

 private:
  void answer();
  void wake();
  void fault(std::string message);
  // Waits for wake() or `deadline`; true when woken before it.
  boost::asio::awaitable<bool> waitUntil(std::chrono::steady_clock::time_point deadline);
  boost::asio::awaitable<std::optional<std::vector<media::AudioPtr>>> speak(Speech speech);
  std::optional<std::vector<media::AudioPtr>> prompts(std::span<const std::string> files);
  boost::asio::awaitable<LineStatus> playClips(const std::vector<media::AudioPtr>& clips);

  SipStack& stack_;
  std::string label_;
  std::string element_;  // the element running, for log lines
  std::uint64_t id_;
  std::string local_ip_;
  MediaServices media_;
  std::shared_ptr<media::RtpStream> stream_;
  boost::asio::steady_timer wake_;
  boost::asio::steady_timer hangup_;

  bool answered_ = false;
  bool hung_up_ = false;
  bool ended_ = false;  // BYE, 302 or a rejection sent: the call has left us
  bool collecting_ = false;
  std::string digits_;  // pressed, not yet taken
  std::optional<std::pair<bool, int>> refer_;
  std::string last_error_;
};

}  // namespace callflow::sip
