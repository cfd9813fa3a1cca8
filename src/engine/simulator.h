// The simulator: one call through a flow with a scripted caller, start to end, on a private
// event loop. Used by `callflow run`, the flow-case tests and the benchmarks.
#pragma once

#include <string>

#include "callflow/call.h"
#include "engine/script_channel.h"
#include "flow/flow.h"

namespace boost::asio {
class io_context;
}

namespace callflow {

struct Simulation {
  std::string from;
  std::string to;
  CallerScript caller;
  const SecretMap* secrets = nullptr;
  Services services;
  // The loop to run on, when services (an HTTP client) live on it; else a private one.
  boost::asio::io_context* loop = nullptr;
  bool trace_detail = false;  // keep the HTTP exchanges' headers and bodies (Trace::detail)
};

Call simulate(const Flow& flow, const Simulation& simulation);

}  // namespace callflow
