// Result<T>: a value or an Error, for every fallible call that crosses a module boundary
// (loading a flow, rendering a fillpoint, an HTTP exchange, a store write).
//
// Mirrors std::expected's names so a move to C++23 changes this file, not its callers.
// Errors are made with fail(code, message); the message names where, in the user's words:
//   element "GETAPI": key "timeout": must be at most 120
//
// Choosing an ErrorCode (after abseil's canonical codes):
//   kInvalidArgument    the input is wrong whatever the state of the system (bad flow, bad setting)
//   kNotFound           a named thing does not exist (file, lead, element)
//   kDeadlineExceeded   the operation ran out of time
//   kUnavailable        a peer is down or unreachable; retrying later may help
//   kFailedPrecondition the system is not in a state that allows this (e.g. file mode too open)
//   kPermissionDenied   policy forbids it (outbound policy, role)
//   kInternal           a bug: an invariant did not hold
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace callflow {

enum class ErrorCode {
  kInvalidArgument,
  kNotFound,
  kDeadlineExceeded,
  kUnavailable,
  kFailedPrecondition,
  kPermissionDenied,
  kInternal,
};

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;
};

// The one way to make an Error (plays the part of std::unexpected).
inline Error fail(ErrorCode code, std::string message) { return Error{code, std::move(message)}; }

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::move(value)) {}      // NOLINT(google-explicit-constructor)
  Result(Error error) : state_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool has_value() const { return state_.index() == 0; }
  explicit operator bool() const { return has_value(); }

  T& value() & { return std::get<0>(state_); }
  const T& value() const& { return std::get<0>(state_); }
  T&& value() && { return std::get<0>(std::move(state_)); }
  const Error& error() const { return std::get<1>(state_); }

  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Error> state_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error)
      : error_(std::move(error)), ok_(false) {}  // NOLINT(google-explicit-constructor)

  bool has_value() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { return error_; }

 private:
  Error error_;
  bool ok_ = true;
};

}  // namespace callflow
