// Runner: walks one call through a flow, element by element, on the call's worker.
//
// It records each step in the call's trace, plays an element's `phrase` at its start (unless
// the element uses the phrase itself), follows exits through `next` (a missing `timeout`
// falls back to `error`; an exit with no entry ends the call there), and ends the call:
// in the element where the flow stops, where the caller hung up, or after kMaxVisits elements.
// The call's result code is that element's `resultCode` (`default` resolved at load).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <memory>

#include "callflow/call.h"
#include "callflow/channel.h"
#include "flow/flow.h"

namespace boost::asio {
class io_context;
}

namespace callflow {

inline constexpr int kMaxVisits = 1000;

// A Call sized for `flow`, with the caller's numbers set.
Call makeCall(const Flow& flow, std::string from, std::string to);

boost::asio::awaitable<void> runCall(const Flow& flow, Call& call, Channel& line);

// Runs the call to its end on `loop` (or a private one when null) and returns when the loop has
// no more work: the simulator, tests, benchmarks.
void runCallToEnd(const Flow& flow, Call& call, Channel& line,
                  boost::asio::io_context* loop = nullptr);

}  // namespace callflow
