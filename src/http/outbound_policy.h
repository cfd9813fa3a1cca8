// OutboundPolicy: where ApiRequest may connect. Rules are addresses or CIDR ranges
// ("10.0.0.0/8", "::1") and host names, with an optional port ("crm.example.com",
// "*.example.com", "localhost:8080"). Each request, and each redirect hop, is checked first by
// its URL's host: an allowed host is allowed whatever it resolves to; a denied host is refused.
// Otherwise the address a socket is about to connect to (after DNS) is checked: an address in
// an allowed range is allowed, else one in a denied range is refused, else it is allowed. The
// default denies the link-local ranges 169.254.0.0/16 (cloud metadata services) and fe80::/10.
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

struct HostRule {
  std::string host;         // lower case; without the "*." of a wildcard
  int port = 0;             // 0: any port
  bool subdomains = false;  // "*.example.com": the subdomains of example.com

  static Result<HostRule> parse(std::string_view text);
  bool matches(std::string_view host, int port) const;
};

struct OutboundPolicy {
  std::vector<Cidr> allow;
  std::vector<Cidr> deny;
  std::vector<HostRule> allow_hosts;
  std::vector<HostRule> deny_hosts;

  static OutboundPolicy defaults();
  // Adds a rule given as an address, a CIDR range or a host[:port].
  Result<void> add(std::string_view rule, bool allowed);

  enum class Verdict { kAllow, kDeny, kCheckAddress };
  Verdict checkHost(std::string_view host, int port) const;
  // `v6` false: `address` holds 4 bytes. IPv4-mapped IPv6 addresses are checked as IPv4.
  bool permits(bool v6, const std::uint8_t* address) const;
};

}  // namespace callflow
