#include "engine/runner.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <exception>
#include <variant>

#include "engine/line_ops.h"

namespace callflow {

Call makeCall(const Flow& flow, std::string from, std::string to) {
  Call call(flow.nodes.size(), flow.ivr_data_names.size(), flow.dynamic_names.size());
  call.setVariable(CallVariable::kPhoneNum, std::move(from));
  call.setVariable(CallVariable::kDnis, std::move(to));
  return call;
}

namespace {

// Runs the element; on a line where the caller may hang up meanwhile, races it against the
// hang-up, which cancels it. (Each awaitable is named first: GCC 12 mishandles temporaries
// in a co_await expression.)
boost::asio::awaitable<Exit> runElement(const Node& node, Call& call, Channel& line) {
  if (!line.hangsUpAsync()) co_return co_await node.element->run(call, line);
  using namespace boost::asio::experimental::awaitable_operators;
  auto element = node.element->run(call, line);
  auto hangup = line.untilHangup();
  auto race = std::move(element) || std::move(hangup);
  auto outcome = co_await std::move(race);
  if (outcome.index() == 0) co_return std::get<0>(std::move(outcome));
  co_return Exit{ExitKind::kError};  // the caller hung up; the Runner ends the call here
}

void endCall(const Flow& flow, Call& call, int element, HungUpBy by) {
  Trace& trace = call.trace();
  trace.ended_at = element;
  trace.hung_up_by = by;
  trace.result_code = flow.nodes[static_cast<std::size_t>(element)].result_code;
}

}  // namespace

boost::asio::awaitable<void> runCall(const Flow& flow, Call& call, Channel& line) {
  Trace& trace = call.trace();
  int current = flow.start;
  for (int visits = 1;; ++visits) {
    const Node& node = flow.nodes[static_cast<std::size_t>(current)];
    trace.steps.push_back(TraceStep{current});
    line.enter(node.name);
    if (line.hungUp()) {
      trace.steps.back().note = "the caller hung up";
      endCall(flow, call, current, HungUpBy::kCaller);
      co_return;
    }
    if (node.type->phrase == PhraseUse::kAtStart && !node.phrase.empty()) {
      co_await playFiles(call, line, node.phrase);
    }
    Exit exit{ExitKind::kError};
    bool bug = false;
    std::string bug_note;
    if (!line.hungUp()) {
      try {
        exit = co_await runElement(node, call, line);
      } catch (const std::exception& e) {
        bug = true;
        bug_note = std::string("internal error: ") + e.what();
      } catch (...) {
        bug = true;
        bug_note = "internal error";
      }
    }
    TraceStep& step = trace.steps.back();
    if (bug) {
      exit = Exit{ExitKind::kError};
      step.bug = true;
      step.note = std::move(bug_note);
    } else {
      step.note = std::string(exit.note);
    }
    step.exit = exit.kind;
    step.label = std::string(exit.label);
    if (line.hungUp()) {
      if (step.note.empty()) step.note = "the caller hung up";
      endCall(flow, call, current, HungUpBy::kCaller);
      co_return;
    }
    if (exit.kind == ExitKind::kEnd) {
      endCall(flow, call, current, trace.transfers.empty() ? HungUpBy::kFlow : HungUpBy::kTransfer);
      if (trace.hung_up_by == HungUpBy::kFlow) co_await line.hangup();
      co_return;
    }
    int next = exit.target;
    if (exit.kind != ExitKind::kRoute) {
      next = node.next[static_cast<std::size_t>(exit.kind)];
      if (next < 0 && exit.kind == ExitKind::kTimeout) {
        next = node.next[static_cast<std::size_t>(ExitKind::kError)];
      }
      if (next < 0 && exit.kind == ExitKind::kError && exit.or_output) {
        next = node.next[static_cast<std::size_t>(ExitKind::kOutput)];
      }
    }
    if (next < 0) {
      endCall(flow, call, current, HungUpBy::kFlow);
      co_await line.hangup();
      co_return;
    }
    if (visits == kMaxVisits) {
      trace.error = "the call visited " + std::to_string(kMaxVisits) +
                    " elements without ending; ended by the loop guard";
      endCall(flow, call, current, HungUpBy::kFlow);
      co_await line.hangup();
      co_return;
    }
    current = next;
  }
}

void runCallToEnd(const Flow& flow, Call& call, Channel& line, boost::asio::io_context* loop) {
  if (loop == nullptr) {
    boost::asio::io_context own(1);
    runCallToEnd(flow, call, line, &own);
    return;
  }
  boost::asio::co_spawn(*loop, runCall(flow, call, line), boost::asio::detached);
  loop->restart();
  loop->run();
}

}  // namespace callflow
