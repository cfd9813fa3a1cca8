// Authenticator: who is asking, for the Lead Web API (HTTP Basic) and the admin API (Bearer).
//
// Basic credentials are checked against the users' Argon2id hashes on a thread of their own
// (a check costs tens of milliseconds by design, so it never runs on the HTTP loop or the
// database writer). A good Authorization value is then remembered for a minute, keyed by its
// keyed BLAKE2b hash (the password itself is not kept), so a client that sends the same header
// on every request pays for one check. Every check counts as a failure of its source until it
// succeeds, so a burst of parallel guesses is throttled too: a source with 20 within a minute is
// refused without a check (429) until the minute is over; past 32 checks in progress in all, new
// ones are refused (503) rather than queued. Used from one event-loop thread.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <unordered_map>

#include "store/database.h"
#include "store/db_worker.h"

namespace callflow {

enum class AuthOutcome { kOk, kMissing, kBad, kThrottled, kBusy, kUnavailable };

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
  static constexpr int kMaxChecksInFlight = 32;

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
  bool failed(std::string_view host);  // false: too many sources tracked to take another
  void forgive(std::string_view host);

  DbWorker& checker_;
  Database& reader_;
  std::string key_;  // random per process
  std::unordered_map<std::string, Remembered> remembered_;
  std::unordered_map<std::string, Failures> failures_;
  int checks_in_flight_ = 0;
};

// The host part of "127.0.0.1:53312" or "[::1]:53312".
std::string_view remoteHost(std::string_view remote);

}  // namespace callflow
