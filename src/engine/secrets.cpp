#include "engine/secrets.h"

#include <sys/stat.h>

#include <cstdlib>
#include <fstream>

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
  std::string out(text);
  if (secrets == nullptr) return out;
  for (const auto& [name, value] : *secrets) {
    if (value.empty()) continue;
    for (std::size_t at = out.find(value); at != std::string::npos;
         at = out.find(value, at + 3)) {
      out.replace(at, value.size(), "***");
    }
  }
  return out;
}

}  // namespace callflow
