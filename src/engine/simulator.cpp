#include "engine/simulator.h"

#include "engine/runner.h"

namespace callflow {

Call simulate(const Flow& flow, const Simulation& simulation) {
  Call call = makeCall(flow, simulation.from, simulation.to);
  call.setSecrets(simulation.secrets);
  call.trace().detail = simulation.trace_detail;
  call.services() = simulation.services;
  ScriptChannel line(simulation.caller);
  runCallToEnd(flow, call, line, simulation.loop);
  return call;
}

}  // namespace callflow
