// The element types: one loader per type, each defined in its own file, and the registry
// that lists them (registry.cpp). To add a type: write its file, declare its loader here, add
// its row to the registry.
#pragma once

#include <span>

#include "callflow/element.h"

namespace callflow {

ElementPtr loadApiRequest(Settings& settings);
ElementPtr loadSetProperty(Settings& settings);
ElementPtr loadBranch(Settings& settings);
ElementPtr loadTextToSpeech(Settings& settings);
ElementPtr loadPlay(Settings& settings);
ElementPtr loadCaptureDigits(Settings& settings);
ElementPtr loadMenu(Settings& settings);
ElementPtr loadLookupLead(Settings& settings);
ElementPtr loadCreateLead(Settings& settings);
ElementPtr loadAddToDnc(Settings& settings);
ElementPtr loadTransfer(Settings& settings);
ElementPtr loadHangup(Settings& settings);

// Every element type, in the order `callflow check` lists them.
std::span<const ElementType> elementTypes();

}  // namespace callflow
