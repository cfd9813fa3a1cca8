// Authenticator: who is asking, for the Lead Web API (HTTP Basic) and the admin API (Bearer).
//
// Basic credentials are checked against the users' Argon2id hashes on a thread of their own
// (a check costs tens of milliseconds by design, so it never runs on the HTTP loop or the
// database writer). A good Authorization value is then remembered for a minute, keyed by its
// keyed BLAKE2b hash (the password itself is not kept), so a client that sends the same header
// on every request pays for one check. A source with too many failures in a minute is refused
// without a check (429) until the minute is over. Used from one event-loop thread.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <unordered_map>

#include "store/database.h"
#include "store/db_worker.h"

namespace callflow {

enum class AuthOutcome { kOk, kMissing, kBad, kThrottled, kUnavailable };

struct AuthResult {
  AuthOutcome outcome = AuthOutcome::kMissing;
  User user;
};

class Authenticator {
 public:
  // checker: a worker on a read-only connection, for Argon2 checks; reader: a read-only
  // connection on the calling thread, for token look-ups.
  Authenticator(DbWorker& checker, Database& reader);

  boost::asio::awaitable<AuthResult> basic(std::string_view authorization, std::string_view remote);
  AuthResult bearer(std::string_view authorization, std::string_view remote);
  // A user name and password (the admin API's sign-in), checked like Basic credentials.
  boost::asio::awaitable<AuthResult> password(std::string name, std::string password,
                                              std::string_view remote);

  static constexpr int kMaxFailuresPerMinute = 20;

 private:
  using Clock = std::chrono::steady_clock;
  struct Remembered {
    User user;
    Clock::time_point until;
  };
  struct Failures {
    int count = 0;
    Clock::time_point window_end;
  };
  std::string cacheKey(std::string_view authorization) const;
  bool throttled(std::string_view host);
  void failed(std::string_view host);

  DbWorker& checker_;
  Database& reader_;
  std::string key_;  // random per process
  std::unordered_map<std::string, Remembered> remembered_;
  std::unordered_map<std::string, Failures> failures_;
};

// The host part of "127.0.0.1:53312" or "[::1]:53312".
std::string_view remoteHost(std::string_view remote);

}  // namespace callflow
