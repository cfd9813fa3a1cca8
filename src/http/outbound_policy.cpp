#include "http/outbound_policy.h"

#include <arpa/inet.h>

#include <cstring>

namespace callflow {

namespace {

// The port of "ADDRESS:PORT" or "[V6]:PORT": true with `address` and `port` set when `text` has
// that shape (a bare IPv6 address has colons but no brackets, and no port).
bool splitPort(std::string_view text, std::string_view& address, int& port) {
  std::size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return false;
  std::string_view head = text.substr(0, colon);
  if (head.size() >= 2 && head.front() == '[' && head.back() == ']') {
    head = head.substr(1, head.size() - 2);
  } else if (head.find(':') != std::string_view::npos) {
    return false;
  }
  std::string_view digits = text.substr(colon + 1);
  if (digits.empty() || digits.size() > 5) return false;
  int value = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + (c - '0');
  }
  if (value == 0 || value > 65535) return false;
  address = head;
  port = value;
  return true;
}

}  // namespace

Result<Cidr> Cidr::parse(std::string_view text) {
  Cidr cidr;
  std::string_view without_port;
  if (splitPort(text, without_port, cidr.port)) {
    if (without_port.find('/') != std::string_view::npos) {
      return fail(ErrorCode::kInvalidArgument,
                  "\"" + std::string(text) + "\": a port goes with one address, not a range");
    }
    text = without_port;
  }
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

bool Cidr::contains(bool is_v6, const std::uint8_t* bytes, int to_port) const {
  if (is_v6 != v6) return false;
  if (port != 0 && port != to_port) return false;
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
  // Every range that is not the public Internet (RFC 6890's special-purpose registries), so a
  // flow cannot reach the server's own ports, the office network or a metadata service unless
  // the operator allows it.
  static constexpr const char* kNotPublic[] = {
      "0.0.0.0/8",       "10.0.0.0/8",     "100.64.0.0/10", "127.0.0.0/8",    "169.254.0.0/16",
      "172.16.0.0/12",   "192.0.0.0/24",   "192.0.2.0/24",  "192.168.0.0/16", "198.18.0.0/15",
      "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4",   "240.0.0.0/4",    "::/96",
      "100::/64",        "2001:db8::/32",  "fc00::/7",      "fe80::/10",      "fec0::/10",
      "ff00::/8"};
  OutboundPolicy policy;
  for (const char* range : kNotPublic) policy.deny.push_back(*Cidr::parse(range));
  return policy;
}

Result<OutboundPolicy> OutboundPolicy::configured(const std::vector<std::string>& allow,
                                                  const std::vector<std::string>& deny,
                                                  std::string_view environment) {
  OutboundPolicy policy = defaults();
  for (const std::string& rule : allow) {
    if (auto added = policy.add(rule, true); !added) {
      return fail(ErrorCode::kInvalidArgument, "--allow: " + added.error().message);
    }
  }
  for (const std::string& rule : deny) {
    if (auto added = policy.add(rule, false); !added) {
      return fail(ErrorCode::kInvalidArgument, "--deny: " + added.error().message);
    }
  }
  while (!environment.empty()) {
    std::size_t comma = environment.find(',');
    std::string_view rule = environment.substr(0, comma);
    environment =
        comma == std::string_view::npos ? std::string_view() : environment.substr(comma + 1);
    while (!rule.empty() && rule.front() == ' ') rule.remove_prefix(1);
    while (!rule.empty() && rule.back() == ' ') rule.remove_suffix(1);
    if (rule.empty()) continue;
    if (auto added = policy.add(rule, true); !added) {
      return fail(ErrorCode::kInvalidArgument, "CALLFLOW_ALLOW: " + added.error().message);
    }
  }
  return policy;
}

bool OutboundPolicy::permits(bool v6, const std::uint8_t* bytes, int port) const {
  static constexpr std::uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
  static constexpr std::uint8_t kNat64[12] = {0, 0x64, 0xFF, 0x9B, 0, 0, 0, 0, 0, 0, 0, 0};
  if (v6 && (std::memcmp(bytes, kMapped, sizeof kMapped) == 0 ||
             std::memcmp(bytes, kNat64, sizeof kNat64) == 0)) {
    v6 = false;
    bytes += 12;
  }
  for (const Cidr& cidr : allow) {
    if (cidr.contains(v6, bytes, port)) return true;
  }
  for (const Cidr& cidr : deny) {
    if (cidr.contains(v6, bytes, port)) return false;
  }
  return true;
}

}  // namespace callflow
