#include "sip/sip_channel.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstdio>

#include "media/prompts.h"
#include "media/speech_cache.h"

namespace callflow::sip {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using Clips = std::vector<media::AudioPtr>;

namespace {

Clock::time_point after(double seconds) {
  return Clock::now() +
         std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
}

media::StreamTarget targetOf(const MediaDescription& media) {
  media::StreamTarget target;
  boost::system::error_code ec;
  auto address = asio::ip::make_address(media.remote_ip, ec);
  if (!ec && media.remote_port != 0) {
    target.remote = asio::ip::udp::endpoint(address, media.remote_port);
  }
  target.codec = media.payload_type == 8 ? media::Codec::kPcma : media::Codec::kPcmu;
  target.telephone_event_pt = media.telephone_event_pt;
  target.send = media.send && !ec;
  return target;
}

}  // namespace

SipChannel::SipChannel(SipStack& stack, const IncomingCall& call, MediaServices media,
                       std::shared_ptr<media::RtpStream> stream, asio::any_io_executor worker,
                       std::string label)
    : stack_(stack),
      label_(std::move(label)),
      id_(call.id),
      local_ip_(call.local_ip),
      media_(std::move(media)),
      stream_(std::move(stream)),
      wake_(worker),
      hangup_(worker) {
  stream_->setTarget(targetOf(call.media));
}

SipChannel::~SipChannel() { finish(); }

void SipChannel::enter(std::string_view element) { element_ = element; }

void SipChannel::fault(std::string message) {
  // The line could not do what the element asked: logged with where it happened, kept for
  // failure(); the element sees kFailed and its trace says so.
  std::fprintf(stderr, "callflow serve: %s, element \"%s\": %s\n", label_.c_str(), element_.c_str(),
               message.c_str());
  last_error_ = std::move(message);
}

void SipChannel::answer() {
  if (answered_ || hung_up_ || ended_) return;
  answered_ = true;
  stack_.answer(id_, stream_->localPort());
  stream_->start();
}

void SipChannel::wake() { wake_.cancel(); }

asio::awaitable<bool> SipChannel::waitUntil(Clock::time_point deadline) {
  wake_.expires_at(deadline);
  auto [ec] = co_await wake_.async_wait(asio::as_tuple(asio::use_awaitable));
  co_return ec == asio::error::operation_aborted;
}

asio::awaitable<void> SipChannel::untilHangup() {
  if (hung_up_) co_return;
  hangup_.expires_at(Clock::time_point::max());
  // Completes when callerHungUp() cancels it, or when the Runner's race cancels it.
  auto [ec] = co_await hangup_.async_wait(asio::as_tuple(asio::use_awaitable));
  (void)ec;
}

void SipChannel::callerHungUp() {
  if (hung_up_) return;
  hung_up_ = true;
  ended_ = true;  // the SIP side has already let the call go
  stream_->close();
  hangup_.cancel();
  wake();
}

void SipChannel::endByServer() {
  if (hung_up_) return;
  hung_up_ = true;
  if (!ended_) {
    ended_ = true;
    stack_.hangup(id_);
  }
  stream_->close();
  hangup_.cancel();
  wake();
}

bool SipChannel::silentFor(std::chrono::steady_clock::duration quiet) const {
  return answered_ && !ended_ && !stream_->callerHolds() &&
         std::chrono::steady_clock::now() - stream_->lastHeard() >= quiet;
}

void SipChannel::mediaChanged(const MediaDescription& media) {
  stream_->setTarget(targetOf(media));
}

void SipChannel::referDone(bool accepted, int status) {
  refer_ = std::make_pair(accepted, status);
  wake();
}

void SipChannel::finish() {
  if (!ended_) {
    ended_ = true;
    stack_.hangup(id_);
  }
  stream_->close();
  hangup_.cancel();
}

void SipChannel::onDigit(char digit) {
  if (digits_.size() < 64) digits_.push_back(digit);
  if (collecting_ && stream_->playing()) stream_->stopPlayback();  // barge-in
  wake();
}

void SipChannel::onPlayed() { wake(); }

// The clips that say `speech`: from the cache, else synthesized on the TTS executor.
asio::awaitable<std::optional<Clips>> SipChannel::speak(Speech speech) {
  SpeechPart whole{speech.text, false};
  std::span<const SpeechPart> parts =
      speech.parts.empty() ? std::span<const SpeechPart>(&whole, 1) : speech.parts;
  if (media_.speech == nullptr) {
    fault("no text-to-speech engine is configured");
    co_return std::nullopt;
  }
  if (auto cached = media_.speech->lookup(parts, speech.voice)) co_return std::move(*cached);
  // Synthesized on the TTS executor; the result comes back to this call's worker.
  struct Synthesized {
    Clips clips;
    std::string error;
  };
  media::SpeechCache* cache = media_.speech;
  auto job = [cache, parts, voice = speech.voice]() -> asio::awaitable<Synthesized> {
    Result<Clips> clips = cache->synthesize(parts, voice);
    if (!clips) co_return Synthesized{{}, clips.error().message};
    co_return Synthesized{std::move(*clips), {}};
  };
  auto spawned = asio::co_spawn(media_.tts, std::move(job), asio::use_awaitable);
  Synthesized done = co_await std::move(spawned);
  if (!done.error.empty()) {
    fault("text-to-speech: " + done.error);
    co_return std::nullopt;
  }
  co_return std::move(done.clips);
}

std::optional<Clips> SipChannel::prompts(std::span<const std::string> files) {
  Clips clips;
  if (media_.prompts == nullptr) {
    if (!files.empty()) fault("no prompts folder is configured (--prompts)");
    return files.empty() ? std::optional<Clips>(clips) : std::nullopt;
  }
  for (const std::string& file : files) {
    Result<media::AudioPtr> audio = media_.prompts->load(file);
    if (!audio) {
      fault(audio.error().message);
      return std::nullopt;
    }
    clips.push_back(std::move(*audio));
  }
  return clips;
}

asio::awaitable<LineStatus> SipChannel::playClips(const Clips& clips) {
  stream_->enqueue(clips);
  while (stream_->playing() && !hung_up_) co_await waitUntil(Clock::time_point::max());
  co_return hung_up_ ? LineStatus::kHungUp : LineStatus::kDone;
}

asio::awaitable<LineStatus> SipChannel::say(Speech speech) {
  answer();
  if (hung_up_) co_return LineStatus::kHungUp;
  std::optional<Clips> clips = co_await speak(speech);
  if (hung_up_) co_return LineStatus::kHungUp;
  if (!clips) co_return LineStatus::kFailed;
  co_return co_await playClips(*clips);
}

asio::awaitable<LineStatus> SipChannel::play(std::span<const std::string> files) {
  answer();
  if (hung_up_) co_return LineStatus::kHungUp;
  std::optional<Clips> clips = prompts(files);
  if (!clips) co_return LineStatus::kFailed;
  co_return co_await playClips(*clips);
}

asio::awaitable<DigitResult> SipChannel::collectDigits(DigitRequest request) {
  answer();
  DigitResult result;
  digits_.clear();
  collecting_ = true;
  Clips clips;
  if (!request.prompt_text.empty()) {
    Speech speech{request.prompt_text, {}, {}};
    std::optional<Clips> spoken = co_await speak(speech);
    if (spoken) clips = std::move(*spoken);
  }
  if (std::optional<Clips> files = prompts(request.prompt_files)) {
    clips.insert(clips.end(), files->begin(), files->end());
  }
  if (digits_.empty()) stream_->enqueue(clips);  // a key pressed during synthesis skips it
  // The first-digit timeout runs from the end of the prompt.
  std::optional<Clock::time_point> deadline;
  bool done = false;
  while (!done) {
    if (hung_up_) {
      result.status = LineStatus::kHungUp;
      break;
    }
    while (!digits_.empty() && !done) {
      char key = digits_.front();
      digits_.erase(0, 1);
      if (request.terminator != '\0' && key == request.terminator) {
        done = true;
      } else {
        result.digits.push_back(key);
        done = static_cast<int>(result.digits.size()) >= request.max_digits;
        deadline = after(request.inter_digit_timeout);
      }
    }
    if (done) break;
    if (stream_->playing()) {
      co_await waitUntil(Clock::time_point::max());
      continue;
    }
    if (!deadline) deadline = after(request.first_digit_timeout);
    if (Clock::now() >= *deadline) break;  // no (more) input
    co_await waitUntil(*deadline);
  }
  collecting_ = false;
  stream_->stopPlayback();
  co_return result;
}

void SipChannel::startHold(std::span<const std::string> files) {
  answer();
  if (std::optional<Clips> clips = prompts(files)) stream_->setHold(std::move(*clips));
}

void SipChannel::stopHold() { stream_->clearHold(); }

asio::awaitable<LineStatus> SipChannel::transfer(std::string_view target) {
  if (hung_up_) co_return LineStatus::kHungUp;
  std::string uri = targetUri(target, local_ip_);
  if (uri.empty()) {
    fault("the transfer target is not a SIP URI or number");
    co_return LineStatus::kFailed;
  }
  if (!answered_) {  // before the answer: a redirect, and the call has left us
    ended_ = true;
    stack_.redirect(id_, uri);
    stream_->close();
    co_return LineStatus::kDone;
  }
  refer_.reset();
  stack_.refer(id_, uri);
  auto deadline = Clock::now() + kReferTimeout;
  while (!refer_ && !hung_up_ && Clock::now() < deadline) co_await waitUntil(deadline);
  if (hung_up_) co_return LineStatus::kHungUp;
  if (!refer_ || !refer_->first) {
    fault(refer_ ? "the transfer was refused (" + std::to_string(refer_->second) + ")"
                 : "no answer to the transfer");
    co_return LineStatus::kFailed;
  }
  finish();  // the far end has the caller: the IVR leaves with a BYE
  co_return LineStatus::kDone;
}

asio::awaitable<void> SipChannel::hangup() {
  finish();
  co_return;
}

}  // namespace callflow::sip
