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

}  // namespace callflow
