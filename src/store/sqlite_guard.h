// sqliteGuard: runs SQLiteCpp calls and turns its exceptions into Result errors, so nothing
// thrown by the database crosses the store's boundary. For the store's .cpp files only.
#pragma once

#include <SQLiteCpp/Exception.h>
#include <sqlite3.h>

#include <string>
#include <type_traits>

#include "callflow/result.h"

namespace callflow {

inline Error sqliteError(const std::string& what, const SQLite::Exception& e) {
  int code = e.getErrorCode() & 0xff;  // the primary result code
  ErrorCode kind = ErrorCode::kInternal;
  switch (code) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_FULL:
    case SQLITE_IOERR:
    case SQLITE_READONLY:
    case SQLITE_CANTOPEN:
      kind = ErrorCode::kUnavailable;
      break;
    case SQLITE_CONSTRAINT:
      kind = ErrorCode::kFailedPrecondition;
      break;
    default:
      break;
  }
  return fail(kind, what + ": " + e.what());
}

template <typename T>
struct IsResult : std::false_type {};
template <typename T>
struct IsResult<Result<T>> : std::true_type {};

// fn may return a plain value, void or a Result; the guard returns the matching Result.
template <typename F, typename R = std::invoke_result_t<F>,
          typename Out = std::conditional_t<IsResult<R>::value, R, Result<R>>>
Out sqliteGuard(const std::string& what, F&& fn) {
  try {
    if constexpr (std::is_void_v<R>) {
      fn();
      return Out();
    } else {
      return Out(fn());
    }
  } catch (const SQLite::Exception& e) {
    return Out(sqliteError(what, e));
  }
}

}  // namespace callflow
