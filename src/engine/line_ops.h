// The caller-facing steps elements share, each recorded in the call's trace as it happens:
// say text, play files, and ask for digits with a prompt.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <span>
#include <string>

#include "callflow/call.h"
#include "callflow/channel.h"
#include "callflow/element.h"
#include "flow/fillpoint.h"

namespace callflow {

boost::asio::awaitable<LineStatus> sayText(Call& call, Channel& line, std::string text,
                                           std::string_view voice = {});
// The same, for a text cut into fixed parts and values (Template::renderParts).
boost::asio::awaitable<LineStatus> sayParts(Call& call, Channel& line, std::string text,
                                            std::span<const Template::Part> pieces,
                                            std::string_view voice = {});
boost::asio::awaitable<LineStatus> playFiles(Call& call, Channel& line,
                                             std::span<const std::string> files);
// Records the prompt (text said, files played), then collects.
boost::asio::awaitable<DigitResult> askForDigits(Call& call, Channel& line, DigitRequest request);

// The exit of an element whose `what` ("speech", "audio") the line could not give: `error`, or
// `output` when the flow leaves error unwired; `result.error` and the note say why.
Exit lineFailure(ElementResult& result, const Channel& line, std::string_view what);

}  // namespace callflow
