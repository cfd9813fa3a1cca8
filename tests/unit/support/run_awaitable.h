// Runs one awaitable to completion on a private event loop, for unit tests of coroutine APIs
// (channels, lead stores, elements). Exceptions escaping the awaitable are rethrown.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <exception>
#include <optional>
#include <utility>

namespace callflow::test_support {

namespace internal {

template <typename T>
boost::asio::awaitable<void> storeInto(boost::asio::awaitable<T> work, std::optional<T>* out) {
  out->emplace(co_await std::move(work));
}

inline void rethrow(std::exception_ptr error) {
  if (error) std::rethrow_exception(error);
}

}  // namespace internal

template <typename T>
T runAwaitable(boost::asio::awaitable<T> work) {
  boost::asio::io_context loop(1);
  std::optional<T> out;
  boost::asio::co_spawn(loop, internal::storeInto(std::move(work), &out), internal::rethrow);
  loop.run();
  return std::move(*out);
}

inline void runAwaitable(boost::asio::awaitable<void> work) {
  boost::asio::io_context loop(1);
  boost::asio::co_spawn(loop, std::move(work), internal::rethrow);
  loop.run();
}

}  // namespace callflow::test_support
