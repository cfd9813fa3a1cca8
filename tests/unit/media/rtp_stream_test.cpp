// RtpStream and Pacer on real UDP sockets on 127.0.0.1: what a call sends (paced frames, the
// play queue to its last sample, the hold loop), and the digits it hears (RFC 4733 events,
// in-band tones). Nothing here depends on how fast the machine is: the loops run until the
// event the test waits for, with a generous deadline only against hangs.
#include "media/rtp_stream.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <chrono>
#include <cmath>
#include <string>
#include <vector>

extern "C" {
#include <spandsp.h>
}

namespace callflow::media {
namespace {

namespace asio = boost::asio;
using udp = asio::ip::udp;

struct Recorder : StreamListener {
  std::string digits;
  int played = 0;
  void onDigit(char digit) override { digits.push_back(digit); }
  void onPlayed() override { ++played; }
};

// Runs `loop` until `done()` or 10 s (a hang, not a slow machine).
template <typename Done>
void runUntil(asio::io_context& loop, Done done) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!done() && std::chrono::steady_clock::now() < deadline) {
    loop.run_for(std::chrono::milliseconds(5));
    loop.restart();
  }
}

struct RtpStreamTest : ::testing::Test {
  asio::io_context loop;
  Pacer pacer{loop};
  PortRange ports{40000, 40999, 40000};
  Recorder recorder;
  udp::socket peer{loop, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0)};

  std::shared_ptr<RtpStream> open(int telephone_event_pt) {
    auto stream = RtpStream::open(pacer, "127.0.0.1", ports);
    EXPECT_TRUE(stream.has_value()) << (stream ? "" : stream.error().message);
    (*stream)->setListener(&recorder);
    StreamTarget target;
    target.remote = peer.local_endpoint();
    target.telephone_event_pt = telephone_event_pt;
    (*stream)->setTarget(target);
    return *stream;
  }

  void sendTo(const RtpStream& stream, const std::vector<std::uint8_t>& packet) {
    peer.send_to(asio::buffer(packet),
                 udp::endpoint(asio::ip::make_address("127.0.0.1"), stream.localPort()));
  }

  static std::vector<std::uint8_t> rtp(std::uint8_t pt, std::uint16_t seq, std::uint32_t ts,
                                       std::span<const std::uint8_t> payload) {
    std::vector<std::uint8_t> packet(kRtpHeaderBytes + payload.size());
    RtpHeader header;
    header.payload_type = pt;
    header.sequence = seq;
    header.timestamp = ts;
    header.ssrc = 0x1234;
    writeRtpHeader(header,
                   std::span<std::uint8_t, kRtpHeaderBytes>(packet.data(), kRtpHeaderBytes));
    std::copy(payload.begin(), payload.end(), packet.begin() + kRtpHeaderBytes);
    return packet;
  }
};

TEST_F(RtpStreamTest, PortsAreEvenAndTakenInTurn) {
  auto a = open(101);
  auto b = open(101);
  EXPECT_EQ(a->localPort() % 2, 0);
  EXPECT_EQ(b->localPort(), a->localPort() + 2);
  EXPECT_FALSE(parsePortRange("20000").has_value());
  EXPECT_FALSE(parsePortRange("30000-20000").has_value());
  EXPECT_FALSE(parsePortRange("80-90").has_value());
  auto range = parsePortRange("10001-10100");
  ASSERT_TRUE(range.has_value());
  EXPECT_EQ(range->min, 10002);
}

TEST_F(RtpStreamTest, PlaysTheQueueInPacedFramesToItsLastSampleThenSilence) {
  auto stream = open(101);
  auto clip = std::make_shared<Audio>();
  clip->samples.resize(8000 + 80);  // 1.01 s: the last frame is half audio, half silence
  for (std::size_t i = 0; i < clip->samples.size(); ++i) {
    clip->samples[i] = static_cast<std::int16_t>(8000 * std::sin(i * 2 * M_PI * 440 / 8000));
  }
  stream->enqueue({clip});
  stream->start();
  EXPECT_TRUE(stream->playing());
  runUntil(loop, [&] { return recorder.played > 0; });
  ASSERT_EQ(recorder.played, 1);
  EXPECT_FALSE(stream->playing());
  runUntil(loop, [&] { return stream->packetsSent() >= 60; });  // and a little silence after
  stream->close();

  std::vector<std::int16_t> heard;
  std::vector<RtpHeader> headers;
  std::array<std::uint8_t, 2048> buffer;
  boost::system::error_code ec;
  peer.non_blocking(true);
  for (;;) {
    std::size_t n = peer.receive(asio::buffer(buffer), 0, ec);
    if (ec) break;
    auto packet = parseRtp(std::span<const std::uint8_t>(buffer.data(), n));
    ASSERT_TRUE(packet.has_value());
    ASSERT_EQ(packet->payload.size(), kFrameSamples);
    headers.push_back(packet->header);
    std::array<std::int16_t, kFrameSamples> pcm;
    decode(Codec::kPcmu, packet->payload, pcm.data());
    heard.insert(heard.end(), pcm.begin(), pcm.end());
  }
  ASSERT_GE(headers.size(), 60u);
  EXPECT_TRUE(headers.front().marker);
  for (std::size_t i = 1; i < headers.size(); ++i) {
    EXPECT_EQ(static_cast<std::uint16_t>(headers[i].sequence - headers[i - 1].sequence), 1);
    EXPECT_EQ(headers[i].timestamp - headers[i - 1].timestamp, kFrameSamples);
    EXPECT_FALSE(headers[i].marker);
    EXPECT_EQ(headers[i].payload_type, 0);
  }
  // The clip comes back sample for sample (within µ-law's step), then silence.
  for (std::size_t i = 0; i < clip->samples.size(); ++i) {
    ASSERT_NEAR(heard[i], clip->samples[i], 300) << "sample " << i;
  }
  for (std::size_t i = clip->samples.size(); i < heard.size(); ++i) {
    ASSERT_NEAR(heard[i], 0, 8) << "sample " << i;
  }
}

TEST_F(RtpStreamTest, HoldLoopsWhileNothingIsQueuedAndStopsWhenCleared) {
  auto stream = open(101);
  auto clip = std::make_shared<Audio>();
  clip->samples.assign(400, 5000);  // 50 ms: loops
  stream->setHold({clip});
  stream->start();
  runUntil(loop, [&] { return stream->packetsSent() >= 10; });
  stream->clearHold();
  std::uint64_t at_clear = stream->packetsSent();
  runUntil(loop, [&] { return stream->packetsSent() >= at_clear + 5; });
  stream->close();
  std::array<std::uint8_t, 2048> buffer;
  boost::system::error_code ec;
  peer.non_blocking(true);
  std::vector<int> loud_frames;  // 1: the frame carries the hold audio
  for (;;) {
    std::size_t n = peer.receive(asio::buffer(buffer), 0, ec);
    if (ec) break;
    auto packet = parseRtp(std::span<const std::uint8_t>(buffer.data(), n));
    ASSERT_TRUE(packet.has_value());
    loud_frames.push_back(std::abs(decodeUlaw(packet->payload[10])) > 1000 ? 1 : 0);
  }
  ASSERT_GE(loud_frames.size(), 15u);
  for (std::size_t i = 0; i < 10; ++i) EXPECT_EQ(loud_frames[i], 1) << "frame " << i;
  EXPECT_EQ(loud_frames.back(), 0);
  EXPECT_EQ(recorder.played, 0);  // the hold loop is not the play queue
}

TEST_F(RtpStreamTest, OneDigitPerRfc4733EventWhateverTheRepeats) {
  auto stream = open(101);
  std::uint16_t seq = 1;
  auto event = [&](std::uint8_t key, std::uint32_t ts) {
    for (int i = 0; i < 6; ++i) {  // 3 updates, 3 end packets, one event timestamp
      std::uint8_t end = i >= 3 ? 0x80 : 0x00;
      std::array<std::uint8_t, 4> payload{key, static_cast<std::uint8_t>(end | 10), 0,
                                          static_cast<std::uint8_t>(160 * (i + 1) / 2)};
      sendTo(*stream, rtp(101, seq++, ts, payload));
    }
  };
  event(5, 1000);
  event(5, 3000);  // the same key again: a second press
  event(11, 5000);
  runUntil(loop, [&] { return recorder.digits.size() >= 3; });
  loop.run_for(std::chrono::milliseconds(50));  // nothing more arrives
  EXPECT_EQ(recorder.digits, "55#");
}

TEST_F(RtpStreamTest, InbandTonesAreHeardWhenTheCallerSendsNoEvents) {
  auto stream = open(-1);
  stream->setInbandDtmf(true);
  dtmf_tx_state_t* tones = dtmf_tx_init(nullptr);
  dtmf_tx_put(tones, "159#", -1);
  std::uint16_t seq = 1;
  for (std::uint32_t frame = 0; frame < 100; ++frame) {
    std::array<std::int16_t, kFrameSamples> pcm{};
    dtmf_tx(tones, pcm.data(), static_cast<int>(pcm.size()));
    std::array<std::uint8_t, kFrameSamples> payload;
    encode(Codec::kPcmu, pcm, payload.data());
    sendTo(*stream, rtp(0, seq++, frame * kFrameSamples, payload));
    loop.poll();
  }
  dtmf_tx_free(tones);
  runUntil(loop, [&] { return recorder.digits.size() >= 4; });
  EXPECT_EQ(recorder.digits, "159#");
}

TEST_F(RtpStreamTest, TonesAreIgnoredWithoutTheOptionAndMalformedPacketsAreDropped) {
  auto stream = open(-1);
  std::array<std::uint8_t, 3> junk{0xFF, 0x00, 0x01};
  peer.send_to(asio::buffer(junk),
               udp::endpoint(asio::ip::make_address("127.0.0.1"), stream->localPort()));
  dtmf_tx_state_t* tones = dtmf_tx_init(nullptr);
  dtmf_tx_put(tones, "1", -1);
  for (std::uint32_t frame = 0; frame < 20; ++frame) {
    std::array<std::int16_t, kFrameSamples> pcm{};
    dtmf_tx(tones, pcm.data(), static_cast<int>(pcm.size()));
    std::array<std::uint8_t, kFrameSamples> payload;
    encode(Codec::kPcmu, pcm, payload.data());
    sendTo(*stream, rtp(0, static_cast<std::uint16_t>(frame), frame * kFrameSamples, payload));
  }
  dtmf_tx_free(tones);
  loop.run_for(std::chrono::milliseconds(100));
  EXPECT_EQ(recorder.digits, "");
}

// R9 (RTP bleed): after the caller's own socket was heard, digits from another port of its
// address and from another address are dropped; the caller's next digit still counts.
TEST_F(RtpStreamTest, HearsOnlyTheLatchedSource) {
  auto stream = open(101);
  udp::socket other{loop, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0)};
  udp::socket far{loop, udp::endpoint(asio::ip::make_address("127.0.0.3"), 0)};
  auto to = udp::endpoint(asio::ip::make_address("127.0.0.1"), stream->localPort());
  auto event = [](std::uint8_t code) { return std::vector<std::uint8_t>{code, 0x8a, 0x03, 0x20}; };
  sendTo(*stream, rtp(101, 1, 1000, event(4)));
  runUntil(loop, [&] { return recorder.digits.size() == 1; });
  other.send_to(asio::buffer(rtp(101, 2, 2000, event(1))), to);
  far.send_to(asio::buffer(rtp(101, 3, 3000, event(1))), to);
  sendTo(*stream, rtp(101, 4, 4000, event(5)));
  runUntil(loop, [&] { return recorder.digits.size() >= 2; });
  EXPECT_EQ(recorder.digits, "45");
  EXPECT_EQ(stream->foreignPackets(), 2u);
}

// With no address in the SDP (port 0), the first source is latched.
TEST_F(RtpStreamTest, LatchesTheFirstSourceWhenTheSdpHasNone) {
  auto stream = open(101);
  StreamTarget target;
  target.telephone_event_pt = 101;
  stream->setTarget(target);
  udp::socket other{loop, udp::endpoint(asio::ip::make_address("127.0.0.2"), 0)};
  auto to = udp::endpoint(asio::ip::make_address("127.0.0.1"), stream->localPort());
  std::vector<std::uint8_t> seven{7, 0x8a, 0x03, 0x20}, eight{8, 0x8a, 0x03, 0x20};
  other.send_to(asio::buffer(rtp(101, 1, 1000, seven)), to);
  runUntil(loop, [&] { return recorder.digits.size() == 1; });
  sendTo(*stream, rtp(101, 2, 2000, eight));
  other.send_to(asio::buffer(rtp(101, 3, 3000, eight)), to);
  runUntil(loop, [&] { return recorder.digits.size() >= 2; });
  EXPECT_EQ(recorder.digits, "78");
}

}  // namespace
}  // namespace callflow::media
