// The one list of element types. Add a row here (and the loader to elements.h).
#include "elements/elements.h"

namespace callflow {
namespace {

using enum ExitKind;

constexpr ExitKind kApiRequestExits[] = {kOutput, kTimeout, kError};
constexpr ExitKind kOutputError[] = {kOutput, kError};
constexpr ExitKind kBranchExits[] = {kNoMatch, kError};
constexpr ExitKind kDigitExits[] = {kOutput, kNoInput, kError};
constexpr ExitKind kMenuExits[] = {kNoMatch, kNoInput, kError};
constexpr ExitKind kLookupExits[] = {kOutput, kNoMatch, kError};
constexpr ExitKind kErrorOnly[] = {kError};

const ElementType kElementTypes[] = {
    {.name = "ApiRequest",
     .load = loadApiRequest,
     .exits = kApiRequestExits,
     .result_fields = kResultText | kResultJson | kStatusCode | kErrorText,
     .phrase = PhraseUse::kOwn,
     .waits_for_caller = true},
    {.name = "SetProperty", .load = loadSetProperty, .exits = kOutputError},
    {.name = "Branch", .load = loadBranch, .exits = kBranchExits},
    {.name = "TextToSpeech",
     .load = loadTextToSpeech,
     .exits = kOutputError,
     .waits_for_caller = true},
    {.name = "Play",
     .load = loadPlay,
     .exits = kOutputError,
     .phrase = PhraseUse::kOwn,
     .waits_for_caller = true},
    {.name = "CaptureDigits",
     .load = loadCaptureDigits,
     .exits = kDigitExits,
     .result_fields = kResultText,
     .phrase = PhraseUse::kOwn,
     .waits_for_caller = true},
    {.name = "Menu",
     .load = loadMenu,
     .exits = kMenuExits,
     .result_fields = kResultText,
     .phrase = PhraseUse::kOwn,
     .waits_for_caller = true},
    {.name = "LookupLead",
     .load = loadLookupLead,
     .exits = kLookupExits,
     .result_fields = kResultText | kErrorText},
    {.name = "CreateLead",
     .load = loadCreateLead,
     .exits = kOutputError,
     .result_fields = kResultText | kErrorText},
    {.name = "AddToDnc", .load = loadAddToDnc, .exits = kOutputError, .result_fields = kErrorText},
    {.name = "Transfer",
     .load = loadTransfer,
     .exits = kErrorOnly,
     .result_fields = kErrorText,
     .waits_for_caller = true},
    {.name = "Hangup", .load = loadHangup, .exits = {}},
};

}  // namespace

std::span<const ElementType> elementTypes() { return kElementTypes; }

}  // namespace callflow
