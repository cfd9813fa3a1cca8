// Fuzz target 2: fillpoint templates, parsed and rendered. The input is one byte choosing the
// encoding (text, URL, header, JSON body), then the template, a NUL, and the value every
// fillpoint of the template gets (it may hold more NULs). Each template is rendered twice: with
// no value (its defaults, `null` in JSON) and with the value. Invariants, when the rendering
// without the value is well formed:
//   URL     (one checkUrl lets through) the scheme and authority (http[s]://host:port) stay what
//           the template wrote, and libcurl finds the same host in both URLs;
//   header  (one whose text has no CR or LF) rendering fails exactly when the value holds CR, LF
//           or NUL; a rendering has none;
//   JSON    the body with the value parses as JSON as the one without, and is UTF-8 (RFC 8259 8.1)
//           when the template's text is (a flow file's always is);
//   text    renderParts gives the same text as render, cut into ordered, adjacent parts.
#include <curl/curl.h>

#include <boost/json/parse.hpp>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "callflow/call.h"
#include "callflow/utf8.h"
#include "flow/fillpoint.h"
#include "fuzz_check.h"

namespace {

using namespace callflow;

// Every path reads the one dynamic property the value goes to.
class OneSlot : public PathBinder {
 public:
  std::string bind(DataPath& path) override {
    path.scope = DataPath::Scope::kDynamic;
    path.slot = 0;
    return {};
  }
};

// Valid JSON; with `any_bytes`, bytes that are not UTF-8 inside strings are let through.
bool validJson(const std::string& text, bool any_bytes = false) {
  boost::system::error_code ec;
  boost::json::parse_options options;
  options.allow_invalid_utf8 = any_bytes;
  (void)boost::json::parse(text, ec, {}, options);
  return !ec;
}

// CALLFLOW_FUZZ_SET_ASIDE=json-utf8 skips the UTF-8 part of the JSON check, so a run can look for
// other failures while that known one (regressions/fillpoint/json-invalid-utf8) is open.
bool setAside(const char* name) {
  const char* list = std::getenv("CALLFLOW_FUZZ_SET_ASIDE");
  return list != nullptr && std::string_view(list).find(name) != std::string_view::npos;
}

bool hasLineBreakOrNul(std::string_view text) {
  return text.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos;
}

// `http://host:port` of a URL as checkUrl (elements/api_request.cpp) cuts it; nullopt when
// it does not start with http:// or https://.
std::optional<std::string_view> schemeAndAuthority(std::string_view url) {
  std::string lower;
  for (char c : url.substr(0, 8)) lower += static_cast<char>(std::tolower(c));
  std::size_t start = lower.rfind("https://", 0) == 0 ? 8 : lower.rfind("http://", 0) == 0 ? 7 : 0;
  if (start == 0) return std::nullopt;
  return url.substr(0, std::min(url.find_first_of("/?#", start), url.size()));
}

// The host libcurl would connect to; nullopt when libcurl refuses the URL.
std::optional<std::string> curlHost(const std::string& url) {
  CURLU* handle = curl_url();
  std::optional<std::string> host;
  char* part = nullptr;
  if (curl_url_set(handle, CURLUPART_URL, url.c_str(), 0) == CURLUE_OK &&
      curl_url_get(handle, CURLUPART_HOST, &part, 0) == CURLUE_OK) {
    host = part;
  }
  curl_free(part);
  curl_url_cleanup(handle);
  return host;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  constexpr Encoding kEncodings[] = {Encoding::kText, Encoding::kUrl, Encoding::kHeader,
                                     Encoding::kJson};
  const Encoding encoding = kEncodings[data[0] & 3];
  std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  std::size_t nul = rest.find('\0');
  std::string_view source = rest.substr(0, nul);
  std::string value(nul == std::string_view::npos ? std::string_view() : rest.substr(nul + 1));

  OneSlot binder;
  auto parsed = Template::parse(source, encoding, binder);
  if (!parsed) return 0;
  const Template& fill = *parsed;
  (void)fill.paths();

  Call without(0, 0, 1);
  Call with(0, 0, 1);
  with.setDynamic(0, value);

  std::string plain;
  std::string valued;
  Result<void> plain_ok = fill.renderTo(without, plain);
  Result<void> valued_ok = fill.renderTo(with, valued);

  switch (encoding) {
    case Encoding::kText: {
      std::vector<Template::Part> parts;
      std::string text = fill.renderParts(with, parts);
      FUZZ_CHECK(valued_ok && text == valued);
      std::size_t at = 0;
      for (const Template::Part& part : parts) {
        FUZZ_CHECK(part.begin == at && part.end > part.begin && part.end <= text.size());
        at = part.end;
      }
      FUZZ_CHECK(at == text.size());
      break;
    }
    case Encoding::kUrl: {
      FUZZ_CHECK(plain_ok && valued_ok);
      auto literal = schemeAndAuthority(fill.source());
      if (!literal || fill.source().find("{{") < literal->size()) break;  // checkUrl refuses
      std::string_view authority = literal->substr(literal->find("//") + 2);
      if (authority.empty() || authority.find_first_of("@ \t\r\n\\") != std::string_view::npos) {
        break;  // so does it: no host (`http:///{{p}}`, where libcurl takes the path's first
                // segment as the host), a user part, a space or a backslash
      }
      FUZZ_CHECK(valued.compare(0, literal->size(), *literal) == 0);
      FUZZ_CHECK(schemeAndAuthority(valued)->size() == literal->size());
      if (auto host = curlHost(plain)) FUZZ_CHECK(curlHost(valued) == host);
      break;
    }
    case Encoding::kHeader: {
      // A header whose own text holds CR or LF, a default's included, is the loader's concern:
      // api_request.cpp refuses it before it gets here.
      if (hasLineBreakOrNul(fill.source())) break;
      FUZZ_CHECK(plain_ok && !hasLineBreakOrNul(plain));
      if (valued_ok) FUZZ_CHECK(!hasLineBreakOrNul(valued));
      if (fill.hasFillpoints()) FUZZ_CHECK(!valued_ok == hasLineBreakOrNul(value));
      break;
    }
    case Encoding::kJson: {
      FUZZ_CHECK(plain_ok && valued_ok);
      static const bool skip_utf8 = setAside("json-utf8");
      if (validJson(plain)) {
        FUZZ_CHECK(validJson(valued, true));
        // Only a template that is UTF-8 itself, as every flow file's text is (a fillpoint
        // between the two bytes of one character, "\xD7{{x}}\x8E", is not a flow's body).
        FUZZ_CHECK(skip_utf8 || !isValidUtf8(fill.source()) || validJson(valued));
      }
      break;
    }
  }
  return 0;
}
