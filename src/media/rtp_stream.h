// RtpStream and Pacer: a call's audio on the call's worker loop, with no thread per call.
//
// Each call has one RtpStream: a UDP socket bound to an even port of the configured range,
// a queue of clips to play (shared, immutable 8 kHz audio: a prompt or a piece of speech is
// never copied per call), an optional hold loop (ApiRequest's phrase while it waits), and the
// RFC 4733 digits it receives (or, with setInbandDtmf, the tones it hears). One Pacer per
// worker wakes against absolute deadlines and sends the next frame of the streams whose turn it
// is: the queued audio, else the hold loop, else silence, so the far end sees one steady stream.
// Everything here runs on the worker's thread; nothing is locked.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "callflow/result.h"
#include "media/audio.h"
#include "media/digit_reader.h"
#include "media/g711.h"
#include "media/rtp.h"

namespace callflow::media {

// Even ports from `min` to `max` (RTP's convention; RTCP would take the odd one above).
struct PortRange {
  std::uint16_t min = 16384;
  std::uint16_t max = 32767;
  std::uint16_t next = 0;  // where the search for a free port starts
};
// "10000-20000" → a range; an error names the text.
Result<PortRange> parsePortRange(std::string_view text);

struct StreamTarget {
  boost::asio::ip::udp::endpoint remote;  // where RTP goes
  Codec codec = Codec::kPcmu;
  int telephone_event_pt = -1;  // -1: the far end sends no RFC 4733 events
  bool send = true;             // false while the far end holds the call
};

// What a stream tells its call, on the worker.
class StreamListener {
 public:
  virtual ~StreamListener() = default;
  virtual void onDigit(char digit) = 0;
  virtual void onPlayed() = 0;  // the queue has been sent to its last sample
};

class Pacer;

class RtpStream : public std::enable_shared_from_this<RtpStream> {
 public:
  // Binds on `local_ip`, on the first free even port of `ports` from its `next`.
  static Result<std::shared_ptr<RtpStream>> open(Pacer& pacer, const std::string& local_ip,
                                                 PortRange& ports);
  explicit RtpStream(Pacer& pacer);
  ~RtpStream();

  std::uint16_t localPort() const { return port_; }
  void setTarget(const StreamTarget& target);
  void setListener(StreamListener* listener) { listener_ = listener; }
  // Listens for DTMF tones in the audio when the far end sends no RFC 4733 events.
  void setInbandDtmf(bool on);
  // Starts sending (the call is answered): the stream joins its pacer.
  void start();
  // Stops sending and receiving; the listener is not called again.
  void close();

  void enqueue(const std::vector<AudioPtr>& clips);
  void stopPlayback();  // barge-in: drops what is queued
  bool playing() const { return !queue_.empty(); }
  void setHold(std::vector<AudioPtr> clips);  // loops when nothing is queued, until clearHold
  void clearHold();

  std::uint64_t packetsSent() const { return packets_sent_; }
  // Datagrams dropped: from another source than the caller's, and not parseable as RTP.
  std::uint64_t foreignPackets() const { return foreign_packets_; }
  std::uint64_t garbagePackets() const { return garbage_packets_; }
  // When the caller was last heard (an RTP packet from its latched source), or when the stream
  // started; for the media timeout. Whether the caller holds the call (it may send nothing).
  std::chrono::steady_clock::time_point lastHeard() const { return last_heard_; }
  bool callerHolds() const { return !target_.send; }

 private:
  friend class Pacer;
  void tick();  // one 20 ms frame
  void fill(std::int16_t* out);
  void receive();
  void onPacket(std::size_t size);
  // Whether the datagram in rx_ came from the caller (RTP bleed, CVE-2017-14099): the first
  // datagram from the SDP's address (any port: a NAT or a sender that does not send from the
  // port it receives on) is latched, and only that source is heard from then on; with no
  // address in the SDP, the first source is latched. A new address in the SDP unlatches.
  bool fromCaller();

  Pacer& pacer_;
  StreamListener* listener_ = nullptr;
  boost::asio::ip::udp::socket socket_;
  boost::asio::ip::udp::endpoint sender_;
  std::optional<boost::asio::ip::udp::endpoint> latched_;
  std::uint64_t foreign_packets_ = 0;
  std::uint64_t garbage_packets_ = 0;
  std::chrono::steady_clock::time_point last_heard_{};
  StreamTarget target_;
  std::uint16_t port_ = 0;
  bool started_ = false;
  bool closed_ = false;
  std::size_t pacer_group_ = 0;  // the pacer's group, while started
  std::size_t pacer_slot_ = 0;   // index in that group

  std::deque<AudioPtr> queue_;
  std::size_t offset_ = 0;  // next sample of queue_.front()
  std::vector<AudioPtr> hold_;
  std::size_t hold_clip_ = 0;
  std::size_t hold_offset_ = 0;

  std::uint32_t ssrc_ = 0;
  std::uint16_t seq_ = 0;
  std::uint32_t timestamp_ = 0;
  bool marker_ = true;
  std::uint64_t packets_sent_ = 0;

  DigitReader digits_;
  std::array<std::uint8_t, 512> rx_{};
};

// The 20 ms clock of one worker loop. Streams are spread over kGroups groups, and the pacer
// wakes every 20 ms / kGroups to send one group's frames: each stream still sends every 20 ms,
// but one wake-up sends a tenth of the frames, so the time a stream waits behind the others of
// its wake-up (a few microseconds per send) stays small and steady.
class Pacer {
 public:
  static constexpr std::size_t kGroups = 10;

  explicit Pacer(boost::asio::io_context& loop);
  boost::asio::io_context& loop() { return loop_; }

  void add(RtpStream* stream);
  void remove(RtpStream* stream);
  std::size_t streams() const { return count_; }
  // Late wake-ups so far: one that ran more than 2 ms after its deadline.
  std::uint64_t lateTicks() const { return late_ticks_; }

 private:
  void arm();
  void onTick();

  boost::asio::io_context& loop_;
  boost::asio::steady_timer timer_;
  std::array<std::vector<RtpStream*>, kGroups> groups_;
  std::size_t count_ = 0;
  std::size_t next_group_ = 0;  // the group the next wake-up sends
  std::chrono::steady_clock::time_point deadline_{};
  bool running_ = false;
  std::uint64_t late_ticks_ = 0;
};

}  // namespace callflow::media
