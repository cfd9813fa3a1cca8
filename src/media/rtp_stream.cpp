#include "media/rtp_stream.h"

#include <algorithm>
#include <boost/asio/ip/address.hpp>
#include <charconv>
#include <cstring>
#include <random>

namespace callflow::media {

namespace asio = boost::asio;
using udp = asio::ip::udp;

namespace {

constexpr auto kFrame = std::chrono::milliseconds(20);

std::uint32_t randomWord() {
  static thread_local std::mt19937 random{std::random_device{}()};
  return static_cast<std::uint32_t>(random());
}

}  // namespace

Result<PortRange> parsePortRange(std::string_view text) {
  auto dash = text.find('-');
  unsigned min = 0, max = 0;
  bool ok = dash != std::string_view::npos;
  if (ok) {
    auto a = std::from_chars(text.data(), text.data() + dash, min);
    auto b = std::from_chars(text.data() + dash + 1, text.data() + text.size(), max);
    ok = a.ec == std::errc() && a.ptr == text.data() + dash && b.ec == std::errc() &&
         b.ptr == text.data() + text.size() && min >= 1024 && max <= 65535 && min + 1 < max;
  }
  if (!ok) {
    return fail(ErrorCode::kInvalidArgument,
                "--rtp-ports " + std::string(text) +
                    ": give MIN-MAX, two ports from 1024 to 65535 with MIN below MAX");
  }
  PortRange range;
  range.min = static_cast<std::uint16_t>(min + (min % 2));
  range.max = static_cast<std::uint16_t>(max);
  range.next = range.min;
  return range;
}

RtpStream::RtpStream(Pacer& pacer) : pacer_(pacer), socket_(pacer.loop()) {
  ssrc_ = randomWord();
  seq_ = static_cast<std::uint16_t>(randomWord());
  timestamp_ = randomWord();
}

RtpStream::~RtpStream() { close(); }

Result<std::shared_ptr<RtpStream>> RtpStream::open(Pacer& pacer, const std::string& local_ip,
                                                   PortRange& ports) {
  boost::system::error_code ec;
  auto address = asio::ip::make_address(local_ip, ec);
  if (ec) return fail(ErrorCode::kInvalidArgument, "RTP: not an address: " + local_ip);
  auto stream = std::make_shared<RtpStream>(pacer);
  udp::socket& socket = stream->socket_;
  socket.open(address.is_v6() ? udp::v6() : udp::v4(), ec);
  if (ec) return fail(ErrorCode::kUnavailable, "RTP: cannot open a socket: " + ec.message());
  if (ports.next < ports.min || ports.next > ports.max) ports.next = ports.min;
  int count = (ports.max - ports.min) / 2 + 1;
  for (int tries = 0; tries < count; ++tries) {
    std::uint16_t port = ports.next;
    ports.next = static_cast<std::uint16_t>(port + 2 > ports.max ? ports.min : port + 2);
    socket.bind(udp::endpoint(address, port), ec);
    if (!ec) {
      stream->port_ = port;
      socket.non_blocking(true, ec);
      stream->receive();
      return stream;
    }
  }
  return fail(ErrorCode::kUnavailable, "RTP: no free port from " + std::to_string(ports.min) +
                                           " to " + std::to_string(ports.max));
}

void RtpStream::setTarget(const StreamTarget& target) {
  if (target.remote != target_.remote) latched_.reset();  // a new address: learn it again
  target_ = target;
}

bool RtpStream::fromCaller() {
  if (latched_) return sender_ == *latched_;
  const auto& remote = target_.remote;
  bool known = remote.port() != 0 && !remote.address().is_unspecified();
  if (known && sender_ != remote && sender_.address() != remote.address()) return false;
  latched_ = sender_;
  return true;
}

void RtpStream::start() {
  if (started_ || closed_) return;
  started_ = true;
  marker_ = true;
  last_heard_ = std::chrono::steady_clock::now();
  pacer_.add(this);
}

void RtpStream::close() {
  if (closed_) return;
  closed_ = true;
  listener_ = nullptr;
  if (started_) pacer_.remove(this);
  started_ = false;
  boost::system::error_code ignored;
  socket_.close(ignored);
  queue_.clear();
  hold_.clear();
}

void RtpStream::enqueue(const std::vector<AudioPtr>& clips) {
  for (const AudioPtr& clip : clips) {
    if (clip && !clip->samples.empty()) queue_.push_back(clip);
  }
}

void RtpStream::stopPlayback() {
  queue_.clear();
  offset_ = 0;
}

void RtpStream::setHold(std::vector<AudioPtr> clips) {
  std::erase_if(clips, [](const AudioPtr& clip) { return !clip || clip->samples.empty(); });
  hold_ = std::move(clips);
  hold_clip_ = 0;
  hold_offset_ = 0;
}

void RtpStream::clearHold() { hold_.clear(); }

// The next 160 samples: the queue first, then the hold loop, then silence.
void RtpStream::fill(std::int16_t* out) {
  std::size_t filled = 0;
  bool drained = false;
  while (filled < kFrameSamples && !queue_.empty()) {
    const auto& samples = queue_.front()->samples;
    std::size_t n = std::min(kFrameSamples - filled, samples.size() - offset_);
    std::memcpy(out + filled, samples.data() + offset_, n * sizeof(std::int16_t));
    filled += n;
    offset_ += n;
    if (offset_ == samples.size()) {
      queue_.pop_front();
      offset_ = 0;
      drained = queue_.empty();
    }
  }
  if (drained) {
    // The rest of this frame is silence, so the frame ends the played audio exactly.
    std::fill(out + filled, out + kFrameSamples, std::int16_t{0});
    if (listener_ != nullptr) listener_->onPlayed();
    return;
  }
  while (filled < kFrameSamples && !hold_.empty()) {
    const auto& samples = hold_[hold_clip_]->samples;
    std::size_t n = std::min(kFrameSamples - filled, samples.size() - hold_offset_);
    std::memcpy(out + filled, samples.data() + hold_offset_, n * sizeof(std::int16_t));
    filled += n;
    hold_offset_ += n;
    if (hold_offset_ == samples.size()) {
      hold_offset_ = 0;
      hold_clip_ = (hold_clip_ + 1) % hold_.size();
    }
  }
  std::fill(out + filled, out + kFrameSamples, std::int16_t{0});
}

void RtpStream::tick() {
  std::array<std::int16_t, kFrameSamples> pcm;
  fill(pcm.data());
  std::uint32_t timestamp = timestamp_;
  timestamp_ += kFrameSamples;
  if (!target_.send || target_.remote.port() == 0 || closed_) return;
  std::array<std::uint8_t, kRtpHeaderBytes + kFrameSamples> packet;
  RtpHeader header;
  header.payload_type = payloadType(target_.codec);
  header.marker = marker_;
  header.sequence = seq_++;
  header.timestamp = timestamp;
  header.ssrc = ssrc_;
  writeRtpHeader(header, std::span<std::uint8_t, kRtpHeaderBytes>(packet.data(), kRtpHeaderBytes));
  encode(target_.codec, pcm, packet.data() + kRtpHeaderBytes);
  marker_ = false;
  boost::system::error_code ec;
  socket_.send_to(asio::buffer(packet), target_.remote, 0, ec);  // non-blocking; a full
  if (!ec) ++packets_sent_;                                      // buffer drops the frame
}

void RtpStream::receive() {
  socket_.async_receive_from(
      asio::buffer(rx_), sender_,
      [self = shared_from_this()](boost::system::error_code ec, std::size_t size) {
        if (ec || self->closed_) return;
        self->onPacket(size);
        self->receive();
      });
}

void RtpStream::setInbandDtmf(bool on) { digits_.setInband(on); }

void RtpStream::onPacket(std::size_t size) {
  if (listener_ == nullptr) return;
  if (!fromCaller()) {
    ++foreign_packets_;
    return;
  }
  auto packet = parseRtp(std::span<const std::uint8_t>(rx_.data(), size));
  if (!packet) {
    ++garbage_packets_;
    return;
  }
  last_heard_ = std::chrono::steady_clock::now();
  std::string digits;
  digits_.read(*packet, target_.telephone_event_pt, target_.codec, digits);
  for (char digit : digits) {
    if (listener_ != nullptr) listener_->onDigit(digit);
  }
}

Pacer::Pacer(asio::io_context& loop) : loop_(loop), timer_(loop) {}

void Pacer::add(RtpStream* stream) {
  // The smallest group, so the groups stay even as calls come and go.
  std::size_t group = 0;
  for (std::size_t g = 1; g < kGroups; ++g) {
    if (groups_[g].size() < groups_[group].size()) group = g;
  }
  stream->pacer_group_ = group;
  stream->pacer_slot_ = groups_[group].size();
  groups_[group].push_back(stream);
  ++count_;
  if (!running_) {
    running_ = true;
    deadline_ = std::chrono::steady_clock::now() + kFrame / kGroups;
    arm();
  }
}

void Pacer::remove(RtpStream* stream) {
  // Swap with the last of its group; a wake-up in progress walks by index and sees every
  // stream once.
  auto& group = groups_[stream->pacer_group_];
  std::size_t slot = stream->pacer_slot_;
  if (slot >= group.size() || group[slot] != stream) return;
  group[slot] = group.back();
  group[slot]->pacer_slot_ = slot;
  group.pop_back();
  --count_;
}

void Pacer::arm() {
  timer_.expires_at(deadline_);
  timer_.async_wait([this](boost::system::error_code ec) {
    if (ec) return;
    onTick();
  });
}

void Pacer::onTick() {
  auto now = std::chrono::steady_clock::now();
  if (now - deadline_ > std::chrono::milliseconds(2)) ++late_ticks_;
  auto& group = groups_[next_group_];
  for (std::size_t i = 0; i < group.size(); ++i) group[i]->tick();
  next_group_ = (next_group_ + 1) % kGroups;
  if (count_ == 0) {
    running_ = false;
    return;
  }
  deadline_ += kFrame / kGroups;
  // Far behind (the loop was blocked): start again from now rather than send a burst.
  if (now - deadline_ > 5 * kFrame) deadline_ = now + kFrame / kGroups;
  arm();
}

}  // namespace callflow::media
