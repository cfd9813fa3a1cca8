// Phone numbers as the store matches them: one key per subscriber, whatever the caller's
// carrier or the CSV's author wrote ("+44 20 7946 0000", "0044 20 7946 0000" and, with the
// default country 44, "020 7946 0000" all give "442079460000").
#pragma once

#include <string>
#include <string_view>

namespace callflow {

// The digits 0-9 of a number, in order; everything else dropped.
std::string phoneDigits(std::string_view number);

// The matching key of a number: its international digits without "+".
//   "+CC…" and "00CC…"  → the digits after the prefix
//   "0…" (national)      → default_country + the digits after the trunk 0
//   10 digits, country 1 → "1" + the digits (North American numbers have no trunk 0)
//   anything else        → the digits as written (taken to be international already)
// A "sip:"/"tel:" prefix, an "@host" suffix, ";parameters" and a bracketed trunk "(0)"
// ("+44 (0)20 …") are ignored. No digits → "".
std::string phoneKey(std::string_view number, std::string_view default_country);

// The default country code when none is configured (the seed product is British).
inline constexpr std::string_view kDefaultCountry = "44";

}  // namespace callflow
