#include "store/phone.h"

namespace callflow {

std::string phoneDigits(std::string_view number) {
  std::string digits;
  for (char c : number) {
    if (c >= '0' && c <= '9') digits += c;
  }
  return digits;
}

std::string phoneKey(std::string_view number, std::string_view default_country) {
  for (std::string_view scheme : {"sip:", "sips:", "tel:"}) {
    if (number.substr(0, scheme.size()) == scheme) number.remove_prefix(scheme.size());
  }
  if (auto at = number.find('@'); at != std::string_view::npos) number = number.substr(0, at);
  // tel: parameters (";ext=456", ";phone-context=…") are not part of the number.
  if (auto semicolon = number.find(';'); semicolon != std::string_view::npos) {
    number = number.substr(0, semicolon);
  }
  std::size_t first = number.find_first_not_of(" \t");
  bool plus = first != std::string_view::npos && number[first] == '+';
  // "+44 (0)20 7946 0000": the bracketed trunk 0 is dialled only from inside the country.
  std::string digits = phoneDigits(number);
  if (plus || digits.rfind("00", 0) == 0) {
    std::string without_trunk(number);
    if (auto trunk = without_trunk.find("(0)"); trunk != std::string::npos) {
      without_trunk.erase(trunk, 3);
      digits = phoneDigits(without_trunk);
    }
  }
  if (digits.empty() || plus) return digits;
  if (digits.size() > 2 && digits[0] == '0' && digits[1] == '0') return digits.substr(2);
  if (digits.size() > 1 && digits[0] == '0') {
    return std::string(default_country) + digits.substr(1);
  }
  if (default_country == "1" && digits.size() == 10) return "1" + digits;
  return digits;
}

}  // namespace callflow
