#include "sip/admission.h"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cstring>

namespace callflow::sip {
namespace {

constexpr std::size_t kMaxSources = 100000;  // sources tracked at once (a spoofed flood)

bool parseNumber(std::string_view text, double& out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

}  // namespace

Result<void> AdmissionLimits::setPerSource(std::string_view text) {
  auto bad = [&] {
    return fail(ErrorCode::kInvalidArgument,
                "\"" + std::string(text) + "\": give REQUESTS/SECONDS, e.g. 16/2, or 0 (off)");
  };
  if (text == "0" || text == "off") {
    source_requests = 0;
    return {};
  }
  auto slash = text.find('/');
  if (slash == std::string_view::npos) return bad();
  double requests = 0, seconds = 0;
  if (!parseNumber(text.substr(0, slash), requests) ||
      !parseNumber(text.substr(slash + 1), seconds) || requests < 1 || requests > 1e6 ||
      requests != static_cast<int>(requests) || !(seconds > 0) || seconds > 3600) {
    return bad();
  }
  source_requests = static_cast<int>(requests);
  source_window_s = seconds;
  return {};
}

Admission::Admission(AdmissionLimits limits) : limits_(std::move(limits)) {
  tokens_ = std::max(1.0, limits_.max_cps);
}

Result<Admission> Admission::make(AdmissionLimits limits) {
  if (limits.max_calls < 1) {
    return fail(ErrorCode::kInvalidArgument, "max_concurrent_calls: at least 1");
  }
  if (!(limits.max_cps >= 0) || limits.max_cps > 1e6) {
    return fail(ErrorCode::kInvalidArgument, "max_cps: 0 (no limit) to 1000000");
  }
  if (!(limits.ban_s >= 0) || limits.ban_s > 86400) {
    return fail(ErrorCode::kInvalidArgument, "ban_seconds: 0 to 86400");
  }
  Admission admission(limits);
  for (const std::string& text : limits.trusted) {
    Range range;
    std::string address = text.substr(0, text.find('/'));
    if (inet_pton(AF_INET, address.c_str(), range.bytes) == 1) {
      range.prefix = 32;
    } else if (inet_pton(AF_INET6, address.c_str(), range.bytes) == 1) {
      range.v6 = true;
      range.prefix = 128;
    } else {
      return fail(ErrorCode::kInvalidArgument,
                  "trusted source \"" + text + "\": not an address or CIDR range");
    }
    if (auto slash = text.find('/'); slash != std::string::npos) {
      double bits = -1;
      if (!parseNumber(std::string_view(text).substr(slash + 1), bits) || bits < 0 ||
          bits > range.prefix || bits != static_cast<int>(bits)) {
        return fail(ErrorCode::kInvalidArgument, "trusted source \"" + text + "\": bad prefix");
      }
      range.prefix = static_cast<int>(bits);
    }
    admission.trusted_.push_back(range);
  }
  return admission;
}

bool Admission::trusted(std::string_view source) const {
  if (trusted_.empty()) return false;
  std::uint8_t bytes[16] = {};
  std::string text(source);
  bool v6 = false;
  if (inet_pton(AF_INET, text.c_str(), bytes) != 1) {
    if (inet_pton(AF_INET6, text.c_str(), bytes) != 1) return false;
    v6 = true;
  }
  for (const Range& range : trusted_) {
    if (range.v6 != v6) continue;
    int full = range.prefix / 8, rest = range.prefix % 8;
    if (std::memcmp(range.bytes, bytes, static_cast<std::size_t>(full)) != 0) continue;
    if (rest == 0) return true;
    auto mask = static_cast<std::uint8_t>(0xFF << (8 - rest));
    if ((range.bytes[full] & mask) == (bytes[full] & mask)) return true;
  }
  return false;
}

void Admission::forgetIdle(Clock::time_point now) {
  if (now < next_sweep_ && sources_.size() < kMaxSources) return;
  auto window = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(limits_.source_window_s));
  std::int64_t banned = 0;
  for (auto it = sources_.begin(); it != sources_.end();) {
    bool idle = it->second.banned_until <= now && now - it->second.window_start >= window;
    if (idle) {
      it = sources_.erase(it);
    } else {
      if (it->second.banned_until > now) ++banned;
      ++it;
    }
  }
  counters_->banned_now.store(banned);
  next_sweep_ = now + std::max<Clock::duration>(window, std::chrono::seconds(1));
}

Verdict Admission::request(std::string_view source, Clock::time_point now) {
  if (limits_.source_requests <= 0 || trusted(source)) return Verdict::kAdmit;
  forgetIdle(now);
  auto it = sources_.find(std::string(source));
  if (it == sources_.end()) {
    if (sources_.size() >= kMaxSources) return Verdict::kAdmit;  // too many to track: no limit
    it = sources_.emplace(std::string(source), Source{now, 0, {}}).first;
  }
  Source& entry = it->second;
  if (entry.banned_until > now) {
    counters_->dropped_banned.fetch_add(1);
    return Verdict::kDrop;
  }
  auto window = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(limits_.source_window_s));
  if (now - entry.window_start >= window) {
    entry.window_start = now;
    entry.count = 0;
  }
  if (++entry.count <= limits_.source_requests) return Verdict::kAdmit;
  entry.banned_until = now + std::chrono::duration_cast<Clock::duration>(
                                 std::chrono::duration<double>(limits_.ban_s));
  entry.count = 0;
  counters_->bans.fetch_add(1);
  counters_->banned_now.fetch_add(1);
  counters_->dropped_banned.fetch_add(1);
  return Verdict::kDrop;
}

Verdict Admission::invite(int active, bool draining, Clock::time_point now) {
  if (draining) {
    counters_->rejected_draining.fetch_add(1);
    return Verdict::kBusyDraining;
  }
  if (active >= limits_.max_calls) {
    counters_->rejected_calls.fetch_add(1);
    return Verdict::kBusyCalls;
  }
  if (limits_.max_cps > 0) {
    if (refilled_ != Clock::time_point{}) {
      double elapsed = std::chrono::duration<double>(now - refilled_).count();
      tokens_ = std::min(std::max(1.0, limits_.max_cps), tokens_ + elapsed * limits_.max_cps);
    }
    refilled_ = now;
    if (tokens_ < 1) {
      counters_->rejected_rate.fetch_add(1);
      return Verdict::kBusyRate;
    }
    tokens_ -= 1;
  }
  return Verdict::kAdmit;
}

int Admission::retryAfter(Verdict verdict) const {
  switch (verdict) {
    case Verdict::kBusyRate:
      return 1;
    case Verdict::kBusyCalls:
      return 5;
    case Verdict::kBusyDraining:
      return 30;
    default:
      return 0;
  }
}

}  // namespace callflow::sip
