#include "engine/secrets.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <vector>

#include "flow/fillpoint.h"
#include "flow/settings.h"

namespace callflow {

Result<SecretMap> loadSecretsFile(const std::string& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) {
    return fail(ErrorCode::kNotFound, "secrets file \"" + path + "\": cannot be read");
  }
  if ((info.st_mode & 077) != 0) {
    return fail(ErrorCode::kFailedPrecondition,
                "secrets file \"" + path + "\": others may read it; run chmod 600 on it");
  }
  std::ifstream in(path);
  if (!in) return fail(ErrorCode::kNotFound, "secrets file \"" + path + "\": cannot be read");
  SecretMap secrets;
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    std::size_t first = line.find_first_not_of(" \t");
    if (first == std::string::npos || line[first] == '#') continue;
    std::size_t equals = line.find('=');
    std::string name = equals == std::string::npos ? line : line.substr(0, equals);
    while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.pop_back();
    name.erase(0, name.find_first_not_of(" \t"));
    if (equals == std::string::npos || !Settings::isName(name)) {
      // The line is not echoed: it may hold a secret.
      return fail(ErrorCode::kInvalidArgument, "secrets file \"" + path + "\": line " +
                                                   std::to_string(number) +
                                                   ": expected NAME=value");
    }
    secrets[name] = line.substr(equals + 1);
  }
  return secrets;
}

std::optional<std::string> secretFromEnvironment(std::string_view name) {
  std::string variable = "CALLFLOW_SECRET_" + std::string(name);
  const char* value = std::getenv(variable.c_str());
  if (value == nullptr) return std::nullopt;
  return std::string(value);
}

namespace {

// The base64 characters that encode only `value`'s bytes when it starts `align` bytes into a
// longer base64-encoded text (as a password does in HTTP Basic's "user:password"): the ones
// mixed with the bytes before or after it are left out.
std::string base64Core(std::string_view value, std::size_t align) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string bytes(align, '\0');
  bytes.append(value);
  std::string out;
  std::size_t whole = bytes.size() / 3 * 3;
  for (std::size_t i = 0; i < whole; i += 3) {
    unsigned n = (static_cast<unsigned char>(bytes[i]) << 16) |
                 (static_cast<unsigned char>(bytes[i + 1]) << 8) |
                 static_cast<unsigned char>(bytes[i + 2]);
    for (int shift = 18; shift >= 0; shift -= 6) out += kAlphabet[(n >> shift) & 63];
  }
  std::size_t rest = bytes.size() - whole;  // 1 or 2 bytes: 1 or 2 characters of theirs alone
  if (rest > 0) {
    unsigned n = static_cast<unsigned char>(bytes[whole]) << 16;
    if (rest == 2) n |= static_cast<unsigned char>(bytes[whole + 1]) << 8;
    out += kAlphabet[(n >> 18) & 63];
    if (rest == 2) out += kAlphabet[(n >> 12) & 63];
  }
  std::size_t skip = (align * 8 + 5) / 6;  // characters holding bits of the bytes before
  return skip < out.size() ? out.substr(skip) : std::string();
}

}  // namespace

std::string redact(std::string_view text, const SecretMap* secrets) {
  if (secrets == nullptr) return std::string(text);
  // Marks every byte that an occurrence of a secret covers in the original text, then masks
  // each marked run once. (Replacing one secret after another would leave the rest of a longer
  // or overlapping secret in clear once a shorter one had been replaced inside it.)
  std::vector<bool> covered(text.size(), false);
  bool any = false;
  auto mark = [&](std::string_view value) {
    for (std::size_t at = text.find(value); at != std::string_view::npos;
         at = text.find(value, at + 1)) {
      std::fill_n(covered.begin() + static_cast<std::ptrdiff_t>(at), value.size(), true);
      any = true;
    }
  };
  std::string encoded;
  for (const auto& [name, value] : *secrets) {
    if (value.empty()) continue;
    mark(value);
    // The forms fillpoints give the value: percent-encoded in a URL, escaped in a JSON string.
    encoded.clear();
    appendPercentEncoded(value, encoded);
    if (encoded != value) mark(encoded);
    encoded.clear();
    appendJsonEscaped(value, encoded);
    if (encoded != value) mark(encoded);
    // Inside base64, e.g. an API echoing the Basic credentials it was sent; too short a core
    // would match by chance.
    for (std::size_t align = 0; align < 3; ++align) {
      std::string core = base64Core(value, align);
      if (core.size() >= 6) mark(core);
    }
  }
  if (!any) return std::string(text);
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (!covered[i]) {
      out += text[i];
    } else if (i == 0 || !covered[i - 1]) {
      out += "***";
    }
  }
  return out;
}

std::string redactExcerpt(std::string_view text, const SecretMap* secrets) {
  std::string out = redact(text, secrets);
  if (secrets == nullptr) return out;
  std::size_t longest = 0;  // the longest end of `out` that begins a secret (in any form)
  auto check = [&](std::string_view value) {
    for (std::size_t n = std::min(value.size() - 1, out.size()); n > longest; --n) {
      if (std::string_view(out).substr(out.size() - n) == value.substr(0, n)) {
        longest = n;
        break;
      }
    }
  };
  std::string encoded;
  for (const auto& [name, value] : *secrets) {
    if (value.empty()) continue;
    check(value);
    encoded.clear();
    appendPercentEncoded(value, encoded);
    check(encoded);
    encoded.clear();
    appendJsonEscaped(value, encoded);
    check(encoded);
  }
  if (longest > 0) out.replace(out.size() - longest, longest, "***");
  return out;
}

}  // namespace callflow
