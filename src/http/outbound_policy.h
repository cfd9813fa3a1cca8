// OutboundPolicy: where ApiRequest may connect. Rules are addresses with an optional port
// ("127.0.0.1:8081", "[::1]:8081"), CIDR ranges ("10.0.0.0/8") and host names, with an optional
// port ("crm.example.com", "*.example.com", "localhost:8080"). Each request, and each redirect
// hop, is checked first by its URL's host: an allowed host name is allowed whatever it resolves
// to; a denied one is refused. Otherwise the address and port a socket is about to connect to
// (after DNS) are checked: one an allow rule covers is allowed, else one in a denied range is
// refused, else it is allowed. The defaults deny every address that is not public: loopback,
// private, shared, link-local (cloud metadata services), multicast, reserved, and the IPv6
// forms of them (IPv4-mapped and NAT64 addresses are judged as the IPv4 address they carry).
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
  int port = 0;  // 0: any port

  // "10.0.0.0/8", "::1/128", "127.0.0.1", "127.0.0.1:8081", "[::1]:8081"
  static Result<Cidr> parse(std::string_view text);
  bool contains(bool v6, const std::uint8_t* address, int port = 0) const;
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
  // The defaults plus the operator's rules: `allow` and `deny` (each an address[:port], a CIDR
  // range or a host[:port]; `allow_source`/`deny_source` name where they came from in errors),
  // and `environment`, the comma-separated allow rules of CALLFLOW_ALLOW.
  static Result<OutboundPolicy> configured(const std::vector<std::string>& allow,
                                           const std::vector<std::string>& deny,
                                           std::string_view environment);
  // Adds a rule given as an address[:port], a CIDR range or a host[:port].
  Result<void> add(std::string_view rule, bool allowed);

  enum class Verdict { kAllow, kDeny, kCheckAddress };
  Verdict checkHost(std::string_view host, int port) const;
  // `v6` false: `address` holds 4 bytes. IPv4-mapped and NAT64 (64:ff9b::/96) addresses are
  // checked as the IPv4 address they carry. `port` 0: only rules for any port apply.
  bool permits(bool v6, const std::uint8_t* address, int port = 0) const;
};

}  // namespace callflow
