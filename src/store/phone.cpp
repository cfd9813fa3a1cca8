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
  std::size_t first = number.find_first_not_of(" \t");
  bool plus = first != std::string_view::npos && number[first] == '+';
  std::string digits = phoneDigits(number);
  if (digits.empty() || plus) return digits;
  if (digits.size() > 2 && digits[0] == '0' && digits[1] == '0') return digits.substr(2);
  if (digits.size() > 1 && digits[0] == '0') {
    return std::string(default_country) + digits.substr(1);
  }
  if (default_country == "1" && digits.size() == 10) return "1" + digits;
  return digits;
}

}  // namespace callflow
