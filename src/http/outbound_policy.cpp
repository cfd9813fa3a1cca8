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

Result<HostRule> HostRule::parse(std::string_view text) {
  HostRule rule;
  auto bad = [&](const char* why) {
    return fail(ErrorCode::kInvalidArgument, "\"" + std::string(text) + "\": " + why);
  };
  std::string_view host = text;
  if (auto colon = text.rfind(':'); colon != std::string_view::npos) {
    std::string_view port = text.substr(colon + 1);
    host = text.substr(0, colon);
    if (port.empty() || port.size() > 5) return bad("bad port");
    for (char c : port) {
      if (c < '0' || c > '9') return bad("bad port");
      rule.port = rule.port * 10 + (c - '0');
    }
    if (rule.port == 0 || rule.port > 65535) return bad("bad port");
  }
  if (host.substr(0, 2) == "*.") {
    rule.subdomains = true;
    host.remove_prefix(2);
  }
  if (host.empty() || host.size() > 253) return bad("not a host name");
  for (char c : host) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '.';
    if (!ok) return bad("not a host name, address or CIDR range");
    rule.host += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  }
  while (!rule.host.empty() && rule.host.back() == '.') rule.host.pop_back();  // "localhost."
  return rule;
}

bool HostRule::matches(std::string_view name, int name_port) const {
  if (port != 0 && port != name_port) return false;
  std::string lower;
  for (char c : name) lower += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  while (!lower.empty() && lower.back() == '.') lower.pop_back();
  if (!subdomains) return lower == host;
  return lower.size() > host.size() + 1 &&
         lower.compare(lower.size() - host.size(), host.size(), host) == 0 &&
         lower[lower.size() - host.size() - 1] == '.';
}

Result<void> OutboundPolicy::add(std::string_view rule, bool allowed) {
  if (auto cidr = Cidr::parse(rule)) {
    (allowed ? allow : deny).push_back(*cidr);
    return {};
  }
  auto host = HostRule::parse(rule);
  if (!host) return host.error();
  (allowed ? allow_hosts : deny_hosts).push_back(std::move(*host));
  return {};
}

OutboundPolicy::Verdict OutboundPolicy::checkHost(std::string_view host, int port) const {
  // A literal address in the URL is judged by the address rules at connect time.
  for (const HostRule& rule : allow_hosts) {
    if (rule.matches(host, port)) return Verdict::kAllow;
  }
  for (const HostRule& rule : deny_hosts) {
    if (rule.matches(host, port)) return Verdict::kDeny;
  }
  return Verdict::kCheckAddress;
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
