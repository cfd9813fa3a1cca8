#include "server/auth.h"

#include <sodium.h>

#include <array>

#include "server/router.h"

namespace callflow {
namespace {

constexpr auto kRememberFor = std::chrono::seconds(60);
constexpr std::size_t kMaxRemembered = 10000;

}  // namespace

std::string_view remoteHost(std::string_view remote) {
  if (!remote.empty() && remote.front() == '[') {
    auto end = remote.find(']');
    return end == std::string_view::npos ? remote : remote.substr(1, end - 1);
  }
  auto colon = remote.rfind(':');
  return colon == std::string_view::npos ? remote : remote.substr(0, colon);
}

Authenticator::Authenticator(DbWorker& checker, Database& reader)
    : checker_(checker), reader_(reader), key_(crypto_generichash_KEYBYTES, '\0') {
  randombytes_buf(key_.data(), key_.size());
}

std::string Authenticator::cacheKey(std::string_view authorization) const {
  std::array<unsigned char, crypto_generichash_BYTES> digest{};
  crypto_generichash(
      digest.data(), digest.size(), reinterpret_cast<const unsigned char*>(authorization.data()),
      authorization.size(), reinterpret_cast<const unsigned char*>(key_.data()), key_.size());
  return std::string(reinterpret_cast<const char*>(digest.data()), digest.size());
}

bool Authenticator::throttled(std::string_view host) {
  auto found = failures_.find(std::string(host));
  if (found == failures_.end()) return false;
  if (Clock::now() >= found->second.window_end) {
    failures_.erase(found);
    return false;
  }
  return found->second.count >= kMaxFailuresPerMinute;
}

bool Authenticator::failed(std::string_view host) {
  auto now = Clock::now();
  if (failures_.size() >= kMaxRemembered && failures_.find(std::string(host)) == failures_.end()) {
    std::erase_if(failures_, [&](const auto& entry) { return now >= entry.second.window_end; });
    if (failures_.size() >= kMaxRemembered) return false;
  }
  Failures& entry = failures_[std::string(host)];
  if (entry.count == 0 || now >= entry.window_end) {
    entry = Failures{0, now + std::chrono::seconds(60)};
  }
  ++entry.count;
  return true;
}

void Authenticator::forgive(std::string_view host) {
  auto found = failures_.find(std::string(host));
  if (found != failures_.end() && found->second.count > 0) --found->second.count;
}

boost::asio::awaitable<AuthResult> Authenticator::basic(std::string_view authorization,
                                                        std::string_view remote) {
  if (authorization.empty()) co_return AuthResult{AuthOutcome::kMissing};
  std::string host(remoteHost(remote));
  std::string key = cacheKey(authorization);
  if (auto found = remembered_.find(key); found != remembered_.end()) {
    if (Clock::now() < found->second.until)
      co_return AuthResult{AuthOutcome::kOk, found->second.user};
    remembered_.erase(found);
  }
  if (throttled(host)) co_return AuthResult{AuthOutcome::kThrottled};
  auto credentials = parseBasicAuth(authorization);
  if (!credentials) {
    co_return AuthResult{failed(host) ? AuthOutcome::kBad : AuthOutcome::kThrottled};
  }
  AuthResult result =
      co_await password(std::move(credentials->first), std::move(credentials->second), remote);
  if (result.outcome == AuthOutcome::kOk) {
    if (remembered_.size() >= kMaxRemembered) remembered_.clear();
    remembered_[key] = Remembered{result.user, Clock::now() + kRememberFor};
  }
  co_return result;
}

boost::asio::awaitable<AuthResult> Authenticator::password(std::string name, std::string password,
                                                           std::string_view remote) {
  std::string host(remoteHost(remote));
  if (throttled(host)) co_return AuthResult{AuthOutcome::kThrottled};
  if (checks_in_flight_ >= kMaxChecksInFlight) co_return AuthResult{AuthOutcome::kBusy};
  // Counted as a failure now, forgiven if it succeeds: parallel guesses cannot all get in
  // before the first one fails.
  if (!failed(host)) co_return AuthResult{AuthOutcome::kThrottled};
  ++checks_in_flight_;
  Result<std::optional<User>> user = std::optional<User>();
  co_await checker_.run([&](Database& db) { user = db.verifyUser(name, password); });
  --checks_in_flight_;
  if (!user) co_return AuthResult{AuthOutcome::kUnavailable};
  if (!*user) co_return AuthResult{AuthOutcome::kBad};
  forgive(host);
  co_return AuthResult{AuthOutcome::kOk, **user};
}

AuthResult Authenticator::bearer(std::string_view authorization, std::string_view remote) {
  if (authorization.empty()) return AuthResult{AuthOutcome::kMissing};
  std::string host(remoteHost(remote));
  if (throttled(host)) return AuthResult{AuthOutcome::kThrottled};
  auto token = parseBearer(authorization);
  if (!token) return AuthResult{failed(host) ? AuthOutcome::kBad : AuthOutcome::kThrottled};
  auto user = reader_.userForToken(*token);
  if (!user) return AuthResult{AuthOutcome::kUnavailable};
  if (!*user) return AuthResult{failed(host) ? AuthOutcome::kBad : AuthOutcome::kThrottled};
  return AuthResult{AuthOutcome::kOk, **user};
}

}  // namespace callflow
