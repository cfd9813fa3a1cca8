// OutboundPolicy: which addresses ApiRequest may connect to. Checked on the address a socket
// is about to connect to, after DNS and at every redirect hop. An address in an allowed range
// is allowed; else one in a denied range is refused; else it is allowed. The default denies
// the link-local range 169.254.0.0/16 (cloud metadata services) and fe80::/10.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "callflow/result.h"

namespace callflow {

struct Cidr {
  bool v6 = false;
  std::array<std::uint8_t, 16> address{};  // v4 in the first 4 bytes
  int prefix = 0;

  static Result<Cidr> parse(std::string_view text);  // "10.0.0.0/8", "::1/128", "127.0.0.1"
  bool contains(bool v6, const std::uint8_t* address) const;
};

struct OutboundPolicy {
  std::vector<Cidr> allow;
  std::vector<Cidr> deny;

  static OutboundPolicy defaults();
  // `v6` false: `address` holds 4 bytes. IPv4-mapped IPv6 addresses are checked as IPv4.
  bool permits(bool v6, const std::uint8_t* address) const;
};

}  // namespace callflow
