// TransferPolicy: where a Transfer may send a call (toll-fraud guard). The operator lists
// patterns (--transfer-allow, repeatable): a phone number or SIP URI where `*` stands for any
// run of characters and `?` for one, e.g. "+44163296????", "sip:*@pbx.example.com". A target
// rendered from caller digits or an API result is dialled only when a pattern matches it as a
// whole; with no pattern, no transfer is allowed. A wildcard stands only for letters, digits
// and + - . _ ~ * # !, never for the characters that give a SIP URI its structure (@ : ; ? < >
// % and the like), so "sip:*@pbx.example.com" cannot be stretched to another host.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace callflow {

struct TransferPolicy {
  std::vector<std::string> patterns;

  bool permits(std::string_view target) const {
    for (const std::string& pattern : patterns) {
      if (matches(pattern, target)) return true;
    }
    return false;
  }

  // What a wildcard may stand for.
  static bool wild(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           std::string_view("+-._~*#!").find(c) != std::string_view::npos;
  }

  // Glob match of the whole text: `*` any run (also empty), `?` one character, of wild() ones.
  static bool matches(std::string_view pattern, std::string_view text) {
    std::size_t p = 0, t = 0, star = std::string_view::npos, resume = 0;
    while (t < text.size()) {
      if (p < pattern.size() && pattern[p] != '*' &&
          ((pattern[p] == '?' && wild(text[t])) || pattern[p] == text[t])) {
        ++p;
        ++t;
      } else if (p < pattern.size() && pattern[p] == '*') {
        star = p++;
        resume = t;
      } else if (star != std::string_view::npos && wild(text[resume])) {
        p = star + 1;
        t = ++resume;
      } else {
        return false;
      }
    }
    while (p < pattern.size() && pattern[p] == '*') ++p;
    return p == pattern.size();
  }
};

}  // namespace callflow
