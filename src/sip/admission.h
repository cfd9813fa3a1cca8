// Admission: which new SIP requests the server takes, decided before anything is allocated for
// them. Three limits, each off when zero:
//   max_calls    calls at once; a new INVITE past it gets 503 with Retry-After;
//   max_cps      new calls per second (a token bucket of that rate, one second of burst);
//                past it, 503 with Retry-After;
//   per source   out-of-dialog requests (INVITE, OPTIONS, REGISTER, …) one address may send in
//                a window (Kamailio's pike: 16 per 2 s); a source past it is banned, and every
//                request from it is dropped without an answer until the ban ends. Trusted
//                sources (the carrier's SBC) are never counted.
// While draining (SIGTERM), every new INVITE gets 503. Owned and used by the SIP thread only;
// the counters are atomics read by /metrics from any thread. Time comes from the caller (the
// monotonic clock), so tests drive it.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "callflow/result.h"

namespace callflow::sip {

struct AdmissionLimits {
  int max_calls = 500;
  double max_cps = 0;                // 0: no rate limit
  int source_requests = 0;           // per source and window; 0: no per-source limit
  double source_window_s = 2;        // the window of source_requests
  double ban_s = 60;                 // how long a source past its limit is ignored
  std::vector<std::string> trusted;  // addresses or CIDR ranges never limited per source

  // "16/2" (requests per seconds) into source_requests and source_window_s.
  Result<void> setPerSource(std::string_view text);
};

enum class Verdict {
  kAdmit,
  kDrop,          // a banned source: no answer at all
  kBusyCalls,     // 503: max_calls reached
  kBusyRate,      // 503: max_cps exceeded
  kBusyDraining,  // 503: the server is shutting down
};

// What /metrics shows of admission.
struct AdmissionCounters {
  std::atomic<std::uint64_t> rejected_calls{0};     // 503 for max_calls
  std::atomic<std::uint64_t> rejected_rate{0};      // 503 for max_cps
  std::atomic<std::uint64_t> rejected_draining{0};  // 503 while draining
  std::atomic<std::uint64_t> dropped_banned{0};     // requests dropped from banned sources
  std::atomic<std::uint64_t> bans{0};               // sources banned so far
  std::atomic<std::int64_t> banned_now{0};          // sources banned at the last check
};

class Admission {
 public:
  using Clock = std::chrono::steady_clock;

  static Result<Admission> make(AdmissionLimits limits);

  // Every out-of-dialog request from `source` (an address, no port): kDrop when the source is
  // banned or this request takes it past its limit, else kAdmit.
  Verdict request(std::string_view source, Clock::time_point now);
  // A new INVITE that request() admitted, with `active` calls in progress.
  Verdict invite(int active, bool draining, Clock::time_point now);

  const AdmissionLimits& limits() const { return limits_; }
  AdmissionCounters& counters() { return *counters_; }
  std::size_t trackedSources() const { return sources_.size(); }

  // Seconds a client should wait before trying again, for Retry-After.
  int retryAfter(Verdict verdict) const;

 private:
  struct Source {
    Clock::time_point window_start{};
    int count = 0;
    Clock::time_point banned_until{};
  };
  struct Range {
    bool v6 = false;
    std::uint8_t bytes[16] = {};
    int prefix = 0;
  };

  explicit Admission(AdmissionLimits limits);
  bool trusted(std::string_view source) const;
  void forgetIdle(Clock::time_point now);

  AdmissionLimits limits_;
  std::vector<Range> trusted_;
  std::unordered_map<std::string, Source> sources_;
  Clock::time_point next_sweep_{};
  double tokens_ = 0;
  Clock::time_point refilled_{};
  std::unique_ptr<AdmissionCounters> counters_ = std::make_unique<AdmissionCounters>();
};

}  // namespace callflow::sip
