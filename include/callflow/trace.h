// Trace: what happened in one call, step by step, for `callflow run`, tests and call records.
//
// Written by the Runner and the elements on the call's thread; read once the call has ended.
// Values may contain secrets: whoever shows or stores a trace passes it through redaction
// first (engine/secrets.h), which replaces every configured secret value with `***`.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace callflow {

enum class ExitKind : std::uint8_t {
  kOutput,
  kError,
  kNoMatch,
  kNoInput,
  kTimeout,
  kRoute,  // the element chose its successor itself (a Branch value, a Menu option)
  kEnd,    // the element ended the call (Hangup, a completed Transfer)
};
inline constexpr std::size_t kNamedExitCount = 5;  // output … timeout: the keys of `next`
const char* exitName(ExitKind exit);

enum class HungUpBy : std::uint8_t { kNone, kFlow, kCaller, kTransfer };
const char* hungUpByName(HungUpBy by);

struct TraceStep {
  int element = -1;
  ExitKind exit = ExitKind::kEnd;
  std::string label;  // the Branch value or Menu key taken, when exit is kRoute
  std::string note;   // why, in a few words ("source has no value", "3 digits, need 4")
  bool bug = false;   // the element failed in a way it should not (an escaped exception)
};

// One ApiRequest exchange as the element sent it (after retries: the last try). Bodies are kept
// up to kTraceBodyBytes each, so a large answer does not stay in memory with the call.
struct HttpExchange {
  static constexpr std::size_t kTraceBodyBytes = 64 << 10;

  std::string element;
  std::string method;
  std::string url;
  int status = 0;
  std::string error;
  double seconds = 0;
  int retries = 0;  // tries after the first
  bool timed_out = false;
  // The request's header fields as sent, except that the value of an `auth` header built from
  // a secret is "Basic ***" (its base64 would hide the secret from redaction).
  std::vector<std::pair<std::string, std::string>> request_headers;
  std::string request_body;  // its first kTraceBodyBytes
  std::size_t request_bytes = 0;
  std::string content_type;   // of the response
  std::string response_body;  // its first kTraceBodyBytes
  std::size_t response_bytes = 0;
};

struct Trace {
  // Whether HTTP exchanges keep their request headers and bodies and a response excerpt: only
  // for the designer's tests, shown to an admin at once; a live call's record keeps none of them
  // (an API's answer or a token fetched during the call is not a secret redaction knows).
  bool detail = false;
  std::size_t detail_budget = 1 << 20;  // bytes of bodies a detailed trace may still keep
  std::vector<TraceStep> steps;
  std::vector<std::string> said;
  std::vector<std::string> played;
  std::vector<HttpExchange> http;
  std::vector<std::string> transfers;

  // How the call ended.
  int ended_at = -1;
  HungUpBy hung_up_by = HungUpBy::kNone;
  std::string result_code;
  std::string error;  // set when the call was ended by a guard rather than by its flow
};

}  // namespace callflow
