// Pieces of ApiRequest that tests check directly.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace callflow {

// Splits the seed's header form, "Name: value, Name2: value2": a comma separates headers only
// where a header name and ':' follow it, so "Accept: text/html, application/json" stays whole.
// Commas inside fillpoints never split.
std::vector<std::string> splitHeaders(std::string_view text);
std::string base64(std::string_view input);

}  // namespace callflow
