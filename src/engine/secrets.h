// Secrets: values flows use as `{{secret.NAME}}` (API keys, passwords), kept out of flows.
//
// They come from a file of `NAME=value` lines that only its owner may read (mode 0600 or
// stricter; anything more open is refused), or from `CALLFLOW_SECRET_NAME` variables. Every
// trace, log line and stored record passes through redact(), which replaces each secret value
// with `***`, also where it appears percent-encoded (a URL), JSON-escaped (a body) or inside
// base64 (Basic credentials an API echoes back).
#pragma once

#include <string>
#include <string_view>

#include "callflow/call.h"
#include "callflow/result.h"

namespace callflow {

Result<SecretMap> loadSecretsFile(const std::string& path);
// Adds `CALLFLOW_SECRET_<NAME>` for each name not already in `secrets`.
template <typename Names>
void addSecretsFromEnvironment(const Names& names, SecretMap& secrets);
std::string redact(std::string_view text, const SecretMap* secrets);
// redact() for the first part of a longer text (a body cut to an excerpt): a secret the cut went
// through leaves only its beginning at the end, which redact() cannot recognise; that is
// masked too.
std::string redactExcerpt(std::string_view text, const SecretMap* secrets);

// --- implementation of the template -----------------------------------------------------------
std::optional<std::string> secretFromEnvironment(std::string_view name);
template <typename Names>
void addSecretsFromEnvironment(const Names& names, SecretMap& secrets) {
  for (const auto& name : names) {
    if (secrets.find(name) != secrets.end()) continue;
    if (auto value = secretFromEnvironment(name)) secrets.emplace(std::string(name), *value);
  }
}

}  // namespace callflow
