// Element: one step of a flow (ApiRequest, Menu, Branch, …).
//
// An element type is a loader plus a class, in one file under src/elements/, registered by one
// row in src/elements/registry.cpp. The loader reads and checks every setting once, when the
// flow is loaded, reporting each problem with the element's name and the key; the loaded
// element is immutable and shared by every call that runs the flow, on any thread.
//
// run() executes the element for one call on that call's worker. It never blocks the thread
// and never throws on purpose (the Runner still catches, ends the element through `error` and
// marks the step as a bug). Timeouts, HTTP failures and a caller who says nothing are exits,
// not errors.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <memory>
#include <span>
#include <string_view>

#include "callflow/trace.h"

namespace callflow {

class Call;
class Channel;
class Settings;  // src/flow/settings.h: typed, checked access to an element's JSON settings

// The exit an element leaves by. For kRoute, `target` is the element index chosen and `label`
// the value or key that chose it (owned by the element, so it outlives the call).
struct Exit {
  ExitKind kind = ExitKind::kOutput;
  int target = -1;
  std::string_view label;
  std::string_view note;
  // kError only: a failure the flow may leave unwired (a sentence that could not be spoken).
  // Without an `error` entry in `next` the call goes on by `output` rather than ending.
  bool or_output = false;
};

class Element {
 public:
  virtual ~Element() = default;
  virtual boost::asio::awaitable<Exit> run(Call& call, Channel& line) const = 0;
};

using ElementPtr = std::unique_ptr<const Element>;

// Reads an element's type-specific settings. Returns null when any setting is wrong; every
// problem has been reported through `settings` by then.
using ElementLoader = ElementPtr (*)(Settings& settings);

// Which parts of `NAME.…` an element type leaves for later elements.
enum ResultFields : unsigned {
  kNoResult = 0,
  kResultText = 1,  // NAME.Result
  kResultJson = 2,  // NAME.Result.<path>
  kStatusCode = 4,  // NAME.StatusCode
  kErrorText = 8,   // NAME.Error
};

// When the element-level `phrase` plays: at the element's start (the Runner plays it), or
// under the element's own control (ApiRequest loops it while it waits; Play, Menu and
// CaptureDigits use it as their prompt).
enum class PhraseUse { kAtStart, kOwn };

// One row of the element registry.
struct ElementType {
  std::string_view name;  // the `type` in the flow
  ElementLoader load;
  std::span<const ExitKind> exits;  // the named exits it may leave by
  unsigned result_fields = kNoResult;
  PhraseUse phrase = PhraseUse::kAtStart;
  bool waits_for_caller = false;  // it takes the caller's time (plays, listens, waits)
};

}  // namespace callflow
