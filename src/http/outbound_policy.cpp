#include "http/outbound_policy.h"

#include <arpa/inet.h>

#include <cstring>

namespace callflow {

Result<Cidr> Cidr::parse(std::string_view text) {
  Cidr cidr;
  std::string address(text.substr(0, text.find('/')));
  if (inet_pton(AF_INET, address.c_str(), cidr.address.data()) == 1) {
    cidr.prefix = 32;
  } else if (inet_pton(AF_INET6, address.c_str(), cidr.address.data()) == 1) {
    cidr.v6 = true;
    cidr.prefix = 128;
  } else {
    return fail(ErrorCode::kInvalidArgument, "\"" + std::string(text) + "\" is not an address");
  }
  if (auto slash = text.find('/'); slash != std::string_view::npos) {
    std::string_view bits = text.substr(slash + 1);
    int prefix = 0;
    if (bits.empty() || bits.size() > 3) {
      return fail(ErrorCode::kInvalidArgument, "\"" + std::string(text) + "\": bad prefix");
    }
    for (char c : bits) {
      if (c < '0' || c > '9') {
        return fail(ErrorCode::kInvalidArgument, "\"" + std::string(text) + "\": bad prefix");
      }
      prefix = prefix * 10 + (c - '0');
    }
    if (prefix > cidr.prefix) {
      return fail(ErrorCode::kInvalidArgument, "\"" + std::string(text) + "\": prefix too long");
    }
    cidr.prefix = prefix;
  }
  return cidr;
}

bool Cidr::contains(bool is_v6, const std::uint8_t* bytes) const {
  if (is_v6 != v6) return false;
  int full = prefix / 8;
  if (std::memcmp(address.data(), bytes, static_cast<std::size_t>(full)) != 0) return false;
  int rest = prefix % 8;
  if (rest == 0) return true;
  auto mask = static_cast<std::uint8_t>(0xFF << (8 - rest));
  return (address[static_cast<std::size_t>(full)] & mask) == (bytes[full] & mask);
}

OutboundPolicy OutboundPolicy::defaults() {
  OutboundPolicy policy;
  policy.deny.push_back(*Cidr::parse("169.254.0.0/16"));
  policy.deny.push_back(*Cidr::parse("fe80::/10"));
  return policy;
}

bool OutboundPolicy::permits(bool v6, const std::uint8_t* bytes) const {
  static constexpr std::uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
  if (v6 && std::memcmp(bytes, kMapped, sizeof kMapped) == 0) {
    v6 = false;
    bytes += 12;
  }
  for (const Cidr& cidr : allow) {
    if (cidr.contains(v6, bytes)) return true;
  }
  for (const Cidr& cidr : deny) {
    if (cidr.contains(v6, bytes)) return false;
  }
  return true;
}

}  // namespace callflow
