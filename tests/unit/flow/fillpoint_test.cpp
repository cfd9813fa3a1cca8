// Fillpoints: parsing `{{path}}` templates, binding their paths, and rendering them per call in
// each encoding (flow/fillpoint.h).
#include "flow/fillpoint.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <cmath>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "callflow/utf8.h"
#include "elements/elements.h"
#include "flow/diagnostics.h"
#include "flow/settings.h"

namespace callflow {
namespace {

using namespace std::string_literals;

const ElementType* typeNamed(std::string_view name) {
  for (const ElementType& type : elementTypes()) {
    if (type.name == name) return &type;
  }
  return nullptr;
}

// Decodes %XX escapes; any other character is kept. Fails the test on a malformed escape.
std::string percentDecode(std::string_view text) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    if (i + 2 >= text.size()) {
      ADD_FAILURE() << "truncated escape in " << text;
      return out;
    }
    int high = hex(text[i + 1]);
    int low = hex(text[i + 2]);
    if (high < 0 || low < 0) {
      ADD_FAILURE() << "bad escape in " << text;
      return out;
    }
    out += static_cast<char>(high * 16 + low);
    i += 2;
  }
  return out;
}

bool isValidUtf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    std::size_t length;
    std::uint32_t code;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      length = 2;
      code = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      length = 3;
      code = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      length = 4;
      code = c & 0x07;
    } else {
      return false;
    }
    if (i + length > s.size()) return false;
    for (std::size_t k = 1; k < length; ++k) {
      auto next = static_cast<unsigned char>(s[i + k]);
      if ((next & 0xC0) != 0x80) return false;
      code = (code << 6) | (next & 0x3F);
    }
    if ((length == 2 && code < 0x80) || (length == 3 && code < 0x800) ||
        (length == 4 && (code < 0x10000 || code > 0x10FFFF)) ||
        (code >= 0xD800 && code <= 0xDFFF)) {
      return false;
    }
    i += length;
  }
  return true;
}

void appendUtf8(std::uint32_t code, std::string& out) {
  if (code < 0x80) {
    out += static_cast<char>(code);
  } else if (code < 0x800) {
    out += static_cast<char>(0xC0 | (code >> 6));
    out += static_cast<char>(0x80 | (code & 0x3F));
  } else if (code < 0x10000) {
    out += static_cast<char>(0xE0 | (code >> 12));
    out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (code >> 18));
    out += static_cast<char>(0x80 | ((code >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code & 0x3F));
  }
}

// A flow's view of the world for binding: two elements, GETAPI (ApiRequest, index 0) and Ask
// (CaptureDigits, index 1); every other single name is an IvrData property.
class FillpointTest : public ::testing::Test {
 protected:
  static constexpr int kGetApi = 0;
  static constexpr int kAsk = 1;
  static constexpr std::size_t kSlots = 32;

  FillpointTest() : context_(diagnostics_, elementTypes()) {
    context_.setElements({"GETAPI", "Ask"}, {typeNamed("ApiRequest"), typeNamed("CaptureDigits")});
    call_.setSecrets(&secrets_);
  }

  Template parse(std::string_view text, Encoding encoding = Encoding::kText) {
    auto parsed = Template::parse(text, encoding, context_);
    EXPECT_TRUE(parsed.has_value()) << text << ": " << parsed.error().message;
    if (!parsed) return {};
    return std::move(*parsed);
  }

  // The parse error message; fails the test if `text` parses.
  std::string parseError(std::string_view text, Encoding encoding = Encoding::kText) {
    auto parsed = Template::parse(text, encoding, context_);
    EXPECT_FALSE(parsed.has_value()) << text << " parsed";
    if (parsed) return {};
    EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidArgument);
    return parsed.error().message;
  }

  std::string render(std::string_view text, Encoding encoding = Encoding::kText) {
    Template t = parse(text, encoding);
    std::string out;
    auto rendered = t.renderTo(call_, out);
    EXPECT_TRUE(rendered.has_value()) << text << ": " << rendered.error().message;
    return out;
  }

  void setIvr(std::string_view name, std::string value) {
    call_.setIvrData(context_.ivrDataSlot(name, true), std::move(value));
  }

  // GETAPI ran and answered `body` (parsed as JSON when it is JSON).
  void setApiResult(std::string body, int status = 200) {
    ElementResult& result = call_.result(kGetApi);
    result = ElementResult{};
    result.ran = true;
    result.status_code = status;
    boost::system::error_code ec;
    auto parsed = boost::json::parse(body, ec);
    if (!ec) result.json = std::make_shared<const boost::json::value>(std::move(parsed));
    result.text = std::move(body);
  }

  Diagnostics diagnostics_;
  LoadContext context_;
  Call call_{2, kSlots, kSlots};
  SecretMap secrets_;
};

// --- Parsing and plain rendering ---------------------------------------------------------------

TEST_F(FillpointTest, PlainTextHasNoFillpoints) {
  for (std::string_view text : {"Hello world", "", "a } b { c", "}} then {", "100% {x} {y}"}) {
    Template t = parse(text);
    EXPECT_FALSE(t.hasFillpoints()) << text;
    EXPECT_EQ(t.render(call_), text);
    EXPECT_EQ(t.source(), text);
    EXPECT_TRUE(t.paths().empty());
  }
  EXPECT_TRUE(parse("").empty());
}

TEST_F(FillpointTest, RendersValuesBetweenLiterals) {
  setIvr("Tier", "Gold");
  call_.setVariable(CallVariable::kName, "Ann");
  Template t = parse("Hello {{call.name}}, you are {{Tier}}.");
  EXPECT_TRUE(t.hasFillpoints());
  ASSERT_EQ(t.paths().size(), 2u);
  EXPECT_EQ(t.paths()[0]->text, "call.name");
  EXPECT_EQ(t.paths()[1]->text, "Tier");
  EXPECT_EQ(t.render(call_), "Hello Ann, you are Gold.");
  EXPECT_EQ(render("{{Tier}}{{Tier}}"), "GoldGold");
}

TEST_F(FillpointTest, MissingValuesRenderEmpty) {
  EXPECT_EQ(render("[{{Unset}}]"), "[]");
  EXPECT_EQ(render("[{{call.city}}]"), "[]");
  EXPECT_EQ(render("[{{dynamic.Tier}}]"), "[]");
  EXPECT_EQ(render("[{{secret.NOPE}}]"), "[]");
  EXPECT_EQ(render("[{{GETAPI.Result}}]"), "[]");  // has not run
  EXPECT_EQ(render("[{{GETAPI.StatusCode}}]"), "[]");
}

TEST_F(FillpointTest, Defaults) {
  struct Case {
    const char* text;
    const char* want;
  };
  setIvr("Empty", "");
  setIvr("Set", "value");
  const Case cases[] = {
      {R"({{Missing | default: "none"}})", "none"},
      {R"({{Empty | default: "none"}})", "none"},
      {R"({{Set | default: "none"}})", "value"},
      {R"({{call.name | default: "caller"}})", "caller"},
      {R"({{Missing|default:"tight"}})", "tight"},
      {R"({{ Missing | default : "spaced" }})", "spaced"},
      {R"({{Missing | default: 'single'}})", "single"},
      {R"({{Missing | default: ""}})", ""},
      {R"({{Missing | default: "say \"hi\""}})", R"(say "hi")"},
      {R"({{Missing | default: "a | b"}})", "a | b"},
      {R"(<{{Missing | default: "x"}}{{Set | default: "y"}}>)", "<xvalue>"},
  };
  for (const Case& c : cases) EXPECT_EQ(render(c.text), c.want) << c.text;
}

TEST_F(FillpointTest, SpacesInsideBracesAreIgnored) {
  setIvr("Tier", "Gold");
  for (std::string_view text : {"{{Tier}}", "{{ Tier }}", "{{   Tier}}", "{{Tier   }}",
                                "{{\tTier\t}}", "{{ \n Tier \n }}"}) {
    EXPECT_EQ(render(text), "Gold") << text;
  }
}

TEST_F(FillpointTest, SyntaxErrorsNamePositions) {
  struct Case {
    std::string text;
    std::string want;  // a prefix of the message
  };
  const Case cases[] = {
      {"{{", "at character 1: \"{{\" is never closed"},
      {"Hello {{", "at character 7: \"{{\" is never closed"},
      {"ab {{ a.b", "at character 4: \"{{\" is never closed"},
      {"{{}}", "at character 1: empty fillpoint"},
      {"x {{   }}", "at character 3: empty fillpoint"},
      {"{{a..b}}", "at character 1: fillpoint \"a..b\": expected a name at character 3"},
      {"{{a.}}", "at character 1: fillpoint \"a.\": ends with '.'"},
      {"{{.a}}", "at character 1: fillpoint \".a\": expected a name at character 1"},
      {"{{{{x}}}}", "at character 1: \"{{\" inside a fillpoint"},
      {"ok {{{x}}}", "at character 4: \"{{\" inside a fillpoint"},
      {"{{a b}}", "at character 1: fillpoint \"a b\": unexpected ' ' at character 2"},
      {"{{a[x]}}", "at character 1: fillpoint \"a[x]\": array index must be a number"},
      {"{{a[1}}", "at character 1: fillpoint \"a[1\": '[' without ']'"},
      {"{{a[]}}", "at character 1: fillpoint \"a[]\": array index must be 0 to 999999"},
      {"{{[0]}}", "at character 1: fillpoint \"[0]\": expected a name"},
      {"{{" + std::string(10000, 'a') + "}}",
       "at character 1: fillpoint data path longer than 256 characters"},
      {"{{a | upper}}", "at character 1: unknown filter"},
      {"{{a | defaults: \"x\"}}", "at character 1: expected ':' after default"},
      {"{{a | default \"x\"}}", "at character 1: expected ':' after default"},
      {"{{a | default: x}}", "at character 1: the default must be quoted text"},
      {"{{a | default: \"x}}", "at character 1: the default must be quoted text"},
      {"{{a | default: \"x'}}", "at character 1: the default must be quoted text"},
      {"{{a | default: \"x\"y\"}}", "at character 1: unescaped quote inside the default text"},
      {"{{a | default: \"" + std::string(2000, 'd') + "\"}}",
       "at character 1: default text too long"},
      {"{{ | default: \"x\"}}", "at character 1: empty fillpoint"},
  };
  for (const Case& c : cases) {
    std::string message = parseError(c.text);
    EXPECT_EQ(message.substr(0, c.want.size()), c.want) << c.text.substr(0, 60);
  }
}

TEST_F(FillpointTest, LongPathErrorDoesNotEchoThePath) {
  std::string message = parseError("{{" + std::string(10000, 'a') + "}}");
  EXPECT_LT(message.size(), 200u);
}

TEST_F(FillpointTest, BindingErrors) {
  struct Case {
    const char* text;
    const char* want;  // a substring of the message
  };
  const Case cases[] = {
      {"{{Nope.Result}}", "no element named \"Nope\""},
      {"{{GETAPI}}", "name a part of element \"GETAPI\""},
      {"{{GETAPI.Body}}", "unknown part \"Body\""},
      {"{{GETAPI.StatusCode.x}}", "StatusCode has no parts"},
      {"{{Ask.Result.x}}", "leaves a Result with no parts"},
      {"{{Ask.StatusCode}}", "leaves no StatusCode"},
      {"{{call.nope}}", "unknown call variable"},
      {"{{call.name.first}}", "unknown call variable"},
      {"{{secret.A.B}}", "expected secret.NAME"},
      {"{{dynamic}}", "expected dynamic.NAME"},
  };
  for (const Case& c : cases) {
    std::string message = parseError(c.text);
    EXPECT_NE(message.find(c.want), std::string::npos) << c.text << ": " << message;
    EXPECT_EQ(message.rfind("at character 1: ", 0), 0u) << message;
  }
}

TEST_F(FillpointTest, SecretsRenderFromTheCallsMap) {
  secrets_["API_KEY"] = "k-123";
  EXPECT_EQ(render("Bearer {{secret.API_KEY}}"), "Bearer k-123");
  call_.setSecrets(nullptr);
  EXPECT_EQ(render("Bearer {{secret.API_KEY}}"), "Bearer ");
}

TEST_F(FillpointTest, DynamicProperties) {
  Template t = parse("{{dynamic.Tier}}");
  ASSERT_EQ(t.paths().size(), 1u);
  call_.setDynamic(t.paths()[0]->slot, "Silver");
  EXPECT_EQ(t.render(call_), "Silver");
}

TEST_F(FillpointTest, ParseDataPath) {
  auto path = parseDataPath("GETAPI.Result.orders[12].id");
  ASSERT_TRUE(path.has_value());
  EXPECT_EQ(path->name, "GETAPI");
  EXPECT_EQ(path->text, "GETAPI.Result.orders[12].id");
  ASSERT_EQ(path->steps.size(), 5u);
  EXPECT_EQ(path->steps[2].key, "orders");
  EXPECT_EQ(path->steps[3].index, 12);
  EXPECT_EQ(path->steps[3].key, "");
  EXPECT_EQ(path->steps[4].key, "id");
  EXPECT_FALSE(parseDataPath("").has_value());
  EXPECT_FALSE(parseDataPath("a[1234567]").has_value());
  EXPECT_TRUE(parseDataPath("a[999999]").has_value());
  EXPECT_TRUE(parseDataPath("a[0][1]").has_value());
  EXPECT_FALSE(parseDataPath("a]").has_value());
}

// --- URL encoding ------------------------------------------------------------------------------

TEST_F(FillpointTest, UrlValuesArePercentEncoded) {
  struct Case {
    std::string value;
    const char* encoded;
  };
  const Case cases[] = {
      {"12345", "12345"},
      {"AZaz09-._~", "AZaz09-._~"},
      {"a#b", "a%23b"},
      {"a/b", "a%2Fb"},
      {"a?b", "a%3Fb"},
      {"a&b=c", "a%26b%3Dc"},
      {"a b", "a%20b"},
      {"100%", "100%25"},
      {"+", "%2B"},
      {"caf\xC3\xA9", "caf%C3%A9"},
      {"\xE6\x97\xA5", "%E6%97%A5"},
      {"\r\n", "%0D%0A"},
      {"a\0b"s, "a%00b"},
      {"\x7F\xFF", "%7F%FF"},
      {"../..", "..%2F.."},
      {"@:", "%40%3A"},
  };
  for (const Case& c : cases) {
    setIvr("V", c.value);
    EXPECT_EQ(render("https://api.example.com/x/{{V}}?q={{V}}#f", Encoding::kUrl),
              std::string("https://api.example.com/x/") + c.encoded + "?q=" + c.encoded + "#f")
        << c.value;
  }
}

TEST_F(FillpointTest, UrlLiteralPartsAreUntouched) {
  setIvr("V", "x");
  EXPECT_EQ(render("https://h.example/a b/%2F?x=1&y=[2]#frag/{{V}}", Encoding::kUrl),
            "https://h.example/a b/%2F?x=1&y=[2]#frag/x");
}

TEST_F(FillpointTest, UrlDefaultsAreEncodedToo) {
  EXPECT_EQ(render("https://h/?q={{Missing | default: \"a b\"}}", Encoding::kUrl),
            "https://h/?q=a%20b");
}

TEST(PercentEncodingTest, EncodesEveryByteButUnreserved) {
  for (int b = 0; b < 256; ++b) {
    char c = static_cast<char>(b);
    std::string out;
    appendPercentEncoded(std::string_view(&c, 1), out);
    bool unreserved = (b >= 'A' && b <= 'Z') || (b >= 'a' && b <= 'z') || (b >= '0' && b <= '9') ||
                      b == '-' || b == '.' || b == '_' || b == '~';
    if (unreserved) {
      EXPECT_EQ(out, std::string(1, c)) << b;
    } else {
      ASSERT_EQ(out.size(), 3u) << b;
      EXPECT_EQ(out[0], '%');
      EXPECT_EQ(std::stoi(out.substr(1), nullptr, 16), b);
    }
  }
}

// --- JSON encoding -----------------------------------------------------------------------------

TEST_F(FillpointTest, JsonStringValuesAreEscapedAndRoundTrip) {
  struct Case {
    std::string value;
    const char* escaped;  // as it appears between the quotes
  };
  const Case cases[] = {
      {"plain", "plain"},
      {"he said \"hi\"", R"(he said \"hi\")"},
      {"back\\slash", R"(back\\slash)"},
      {"line1\nline2\r", R"(line1\nline2\r)"},
      {"tab\there", R"(tab\there)"},
      {"\b\f", R"(\b\f)"},
      {"\x01\x1F\x7F", R"(\u0001\u001f\u007f)"},
      {"nul\0byte"s, R"(nul\u0000byte)"},
      {"caf\xC3\xA9 \xF0\x9F\x98\x80", "caf\xC3\xA9 \xF0\x9F\x98\x80"},
      {"\xE2\x80\xA8", "\xE2\x80\xA8"},
      {"</script>", "</script>"},
      {"\"}, \"admin\": true, \"x\": {\"", R"(\"}, \"admin\": true, \"x\": {\")"},
      {"", ""},
  };
  for (const Case& c : cases) {
    setIvr("V", c.value);
    std::string body = render(R"({"name": "{{V}}", "n": 1})", Encoding::kJson);
    EXPECT_EQ(body, std::string(R"({"name": ")") + c.escaped + R"(", "n": 1})") << c.value;
    boost::system::error_code ec;
    boost::json::value parsed = boost::json::parse(body, ec);
    ASSERT_FALSE(ec) << body;
    ASSERT_TRUE(parsed.is_object());
    EXPECT_EQ(parsed.get_object().size(), 2u) << body;
    EXPECT_EQ(std::string(parsed.at("name").as_string()), c.value);
  }
}

// F-1 (fuzz regression fillpoint/json-invalid-utf8): a value that is not UTF-8 still makes a
// valid JSON body; each byte that starts no well-formed sequence becomes U+FFFD.
TEST_F(FillpointTest, F1JsonValuesThatAreNotUtf8BecomeReplacementCharacters) {
  const std::string kBad = "\xEF\xBF\xBD";
  struct Case {
    std::string value;
    std::string escaped;
  };
  const Case cases[] = {
      {"\xFC", kBad},
      {"\x00\xFC"s, "\\u0000" + kBad},
      {"caf\xE9", "caf" + kBad},                        // Latin-1
      {"\xC3", kBad},                                   // cut short
      {"\xC0\xAF", kBad + kBad},                        // overlong '/'
      {"\xED\xA0\x80", kBad + kBad + kBad},             // a surrogate
      {"\xF4\x90\x80\x80", kBad + kBad + kBad + kBad},  // past U+10FFFF
      {"a\x80"
       "b\xC3\xA9",
       "a" + kBad + "b\xC3\xA9"},  // good UTF-8 is kept
      {"\xF0\x9F\x98\x80\xFF", "\xF0\x9F\x98\x80" + kBad},
  };
  for (const Case& c : cases) {
    setIvr("V", c.value);
    std::string body = render(R"({"name": "{{V}}", "raw": {{V}}})", Encoding::kJson);
    EXPECT_EQ(body, R"({"name": ")" + c.escaped + R"(", "raw": ")" + c.escaped + R"("})");
    boost::system::error_code ec;
    boost::json::value parsed = boost::json::parse(body, ec);
    ASSERT_FALSE(ec) << body;
    EXPECT_EQ(std::string(parsed.at("name").as_string()), callflow::toValidUtf8(c.value));
  }
}

TEST_F(FillpointTest, JsonStringStateFollowsEscapesInLiterals) {
  setIvr("V", "a\"b");
  // The fillpoint sits after an escaped quote: still inside the string.
  EXPECT_EQ(render(R"({"k": "x\"{{V}}"})", Encoding::kJson), R"({"k": "x\"a\"b"})");
  // After a string with an escaped backslash ends: outside, so the value is quoted.
  EXPECT_EQ(render(R"({"k": "x\\", "v": {{V}}})", Encoding::kJson), R"({"k": "x\\", "v": "a\"b"})");
  // Two fillpoints in one string, and one in a key.
  EXPECT_EQ(render(R"({"{{V}}": "{{V}}-{{V}}"})", Encoding::kJson), R"({"a\"b": "a\"b-a\"b"})");
}

TEST_F(FillpointTest, JsonFillpointInsideAnEscapeSequenceIsRefused) {
  // Found by fuzz_fillpoint: `"\{{V}}"` renders as `"\a"`, which no escaping of the value can
  // make JSON; so does a fillpoint among the four hex digits of \u.
  for (std::string_view text :
       {R"({"k": "\{{V}}"})", R"({"k": "\u{{V}}"})", R"({"k": "\u00{{V}}41"})"}) {
    EXPECT_NE(parseError(text, Encoding::kJson).find(": fillpoint inside a JSON escape sequence"),
              std::string::npos)
        << text;
  }
  // After a complete escape, the fillpoint is in the string again.
  setIvr("V", "a");
  EXPECT_EQ(render(R"({"k": "\u0041{{V}}\\{{V}}"})", Encoding::kJson), R"({"k": "\u0041a\\a"})");
  // The text and URL encodings know no JSON escapes.
  EXPECT_EQ(render(R"(\{{V}})"), R"(\a)");
}

TEST_F(FillpointTest, JsonFillpointOutsideAStringMustBeAWholeValue) {
  // Found by fuzz_fillpoint: `[{{x}},-{{y | default: "7"}}]` is `[null,-7]` without values and
  // `[null,-"-1r."]` with one; a value written whole cannot be joined to other text.
  struct Case {
    std::string_view text;
    std::string_view want;
  };
  const Case cases[] = {
      {R"([1,-{{V}}])", "at character 5: fillpoint outside a JSON string after \"-\""},
      {R"({"n": {{V}}0})", "at character 7: fillpoint outside a JSON string followed by \"0\""},
      {R"({"n": {{V}}.5})", "at character 7: fillpoint outside a JSON string followed by \".\""},
      {R"([{{V}} {{V}}])", "at character 8: two fillpoints side by side outside a JSON string"},
      {R"([{{V}}{{V}}])", "at character 7: two fillpoints side by side"},
      {R"({"a": "x"{{V}}})", "at character 10: fillpoint outside a JSON string after \"\"\""},
      {R"({ {{V}}: 1})", "at character 3: fillpoint as a JSON key: put it inside quotes"},
      {R"({"a": [1], {{V}}: 1})", "at character 12: fillpoint as a JSON key"},
      {"[{{V}}\x01]", "at character 2: fillpoint outside a JSON string followed by byte 0x01"},
  };
  for (const Case& c : cases) {
    std::string message = parseError(c.text, Encoding::kJson);
    EXPECT_EQ(message.substr(0, c.want.size()), c.want) << c.text << " -> " << message;
  }
  // Whole values: in objects, in arrays (also after a comma, and nested), and a body of one.
  setIvr("V", "-1r.");
  EXPECT_EQ(render(R"({"a": {{V}}, "b": [ {{V}} , [{{V}}] ],"c":{{V}} })", Encoding::kJson),
            R"({"a": "-1r.", "b": [ "-1r." , ["-1r."] ],"c":"-1r." })");
  EXPECT_EQ(render("{{V}}", Encoding::kJson), R"("-1r.")");
}

TEST_F(FillpointTest, JsonValuesOutsideStrings) {
  struct Case {
    std::string value;
    const char* rendered;
  };
  const Case cases[] = {
      {"42", "42"},
      {"-7", "-7"},
      {"0", "0"},
      {"1.5", "1.5"},
      {"-0.25e-3", "-0.25e-3"},
      {"1E+9", "1E+9"},
      {"true", "true"},
      {"false", "false"},
      {"null", "null"},
      {"Gold", R"("Gold")"},
      {"007", R"("007")"},  // leading zeros: not a JSON number, kept as text
      {"1.", R"("1.")"},
      {".5", R"(".5")"},
      {"+1", R"("+1")"},
      {"1e", R"("1e")"},
      {"NaN", R"("NaN")"},
      {"Infinity", R"("Infinity")"},
      {"True", R"("True")"},
      {" 1", R"(" 1")"},
      {"1 ", R"("1 ")"},
      {"", R"("")"},
      {"[1]", R"("[1]")"},
      {"{}", R"("{}")"},
      {"1, \"admin\": true", R"("1, \"admin\": true")"},
      {"a\"b\\c\n", R"("a\"b\\c\n")"},
      {std::string(41, '1'), "\"11111111111111111111111111111111111111111\""},
  };
  for (const Case& c : cases) {
    setIvr("V", c.value);
    std::string body = render(R"({"v": {{V}}, "list": [{{V}}]})", Encoding::kJson);
    EXPECT_EQ(body, std::string(R"({"v": )") + c.rendered + R"(, "list": [)" + c.rendered + "]}")
        << c.value;
    boost::system::error_code ec;
    boost::json::value parsed = boost::json::parse(body, ec);
    ASSERT_FALSE(ec) << body;
    EXPECT_EQ(parsed.as_object().size(), 2u) << body;
  }
}

TEST_F(FillpointTest, JsonMissingValueIsNullOutsideStringsAndEmptyInside) {
  EXPECT_EQ(render(R"({"v": {{Missing}}, "s": "{{Missing}}"})", Encoding::kJson),
            R"({"v": null, "s": ""})");
  EXPECT_EQ(render(R"({"v": {{Missing | default: "7"}}, "w": {{Missing | default: "x"}}})",
                   Encoding::kJson),
            R"({"v": 7, "w": "x"})");
  EXPECT_EQ(render(R"({"s": "{{Missing | default: "a\"b"}}"})", Encoding::kJson),
            R"({"s": "a\"b"})");
}

TEST_F(FillpointTest, JsonEncodingOnlyAppliesToJsonTemplates) {
  setIvr("V", "a\"b");
  EXPECT_EQ(render(R"({"v": "{{V}}"})", Encoding::kText), R"({"v": "a"b"})");
}

TEST(JsonEscapeTest, ScalarLiterals) {
  for (std::string_view yes :
       {"0", "-0", "12", "1.0", "1e5", "1E-5", "-1.25e+10", "true", "false", "null"}) {
    EXPECT_TRUE(isJsonScalarLiteral(yes)) << yes;
  }
  for (std::string_view no :
       {"", "-", "01", "1.", ".1", "1e", "1e+", "--1", "0x10", "tru", "nulls", "1_000", "١"}) {
    EXPECT_FALSE(isJsonScalarLiteral(no)) << no;
  }
}

// --- Header encoding ---------------------------------------------------------------------------

TEST_F(FillpointTest, HeaderValuesWithLineBreaksOrNulFail) {
  Template t = parse("Bearer {{Token}}", Encoding::kHeader);
  setIvr("Token", "abc.def");
  std::string out;
  ASSERT_TRUE(t.renderTo(call_, out).has_value());
  EXPECT_EQ(out, "Bearer abc.def");

  for (std::string bad : {"a\r\nX-Evil: 1"s, "a\rX-Evil: 1"s, "a\nX-Evil: 1"s, "a\0X-Evil"s}) {
    setIvr("Token", bad);
    out.clear();
    auto rendered = t.renderTo(call_, out);
    ASSERT_FALSE(rendered.has_value()) << bad;
    EXPECT_EQ(rendered.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(rendered.error().message.find("{{Token}}"), std::string::npos);
    EXPECT_EQ(rendered.error().message.find("X-Evil"), std::string::npos)
        << "the value is echoed: " << rendered.error().message;
  }
}

TEST_F(FillpointTest, HeaderDefaultsAreCheckedToo) {
  Template t = parse("{{Missing | default: \"a\nb\"}}", Encoding::kHeader);
  std::string out;
  EXPECT_FALSE(t.renderTo(call_, out).has_value());
}

TEST_F(FillpointTest, HeaderValuesAreNotOtherwiseEncoded) {
  setIvr("Token", "a b/c?d&e%\"'\t");
  EXPECT_EQ(render("X {{Token}}", Encoding::kHeader), "X a b/c?d&e%\"'\t");
}

// --- Single pass -------------------------------------------------------------------------------

TEST_F(FillpointTest, ValuesAreNotExpandedAgain) {
  secrets_["KEY"] = "hunter2";
  setIvr("Tier", "Gold");
  setIvr("V", "{{secret.KEY}} {{Tier}}");
  EXPECT_EQ(render("x{{V}}"), "x{{secret.KEY}} {{Tier}}");
  EXPECT_EQ(render("https://h/?q={{V}}", Encoding::kUrl),
            "https://h/?q=%7B%7Bsecret.KEY%7D%7D%20%7B%7BTier%7D%7D");
  EXPECT_EQ(render(R"({"a": "{{V}}"})", Encoding::kJson), R"({"a": "{{secret.KEY}} {{Tier}}"})");
  EXPECT_EQ(render("{{V}}", Encoding::kHeader), "{{secret.KEY}} {{Tier}}");
}

// --- Element results and JSON paths ------------------------------------------------------------

TEST_F(FillpointTest, ElementResultPaths) {
  setApiResult(R"({"a": {"b": "deep"}, "list": [{"id": 1}, {"id": "two"}],
                   "s": "str", "n": null, "t": true, "f": false, "e": "",
                   "weird key": "w", "nested": [[1, 2], [3, [4, 5]]]})",
               201);
  struct Case {
    const char* text;
    const char* want;
  };
  const Case cases[] = {
      {"{{GETAPI.Result.a.b}}", "deep"},
      {"{{GETAPI.Result.list[1].id}}", "two"},
      {"{{GETAPI.Result.list[0].id}}", "1"},
      {"{{GETAPI.Result.s}}", "str"},
      {"{{GETAPI.Result.t}}", "true"},
      {"{{GETAPI.Result.f}}", "false"},
      {"{{GETAPI.Result.nested[1][1][0]}}", "4"},
      {"{{GETAPI.Result.a}}", R"({"b":"deep"})"},
      {"{{GETAPI.Result.list[0]}}", R"({"id":1})"},
      {"{{GETAPI.Result.nested[0]}}", "[1,2]"},
      {"{{GETAPI.StatusCode}}", "201"},
      {"{{GETAPI.Error}}", ""},
      // Missing key, index out of range, wrong type: empty.
      {"{{GETAPI.Result.zz}}", ""},
      {"{{GETAPI.Result.a.zz}}", ""},
      {"{{GETAPI.Result.list[2].id}}", ""},
      {"{{GETAPI.Result.list[999999]}}", ""},
      {"{{GETAPI.Result.list[0].zz}}", ""},
      {"{{GETAPI.Result.s.x}}", ""},
      {"{{GETAPI.Result.s[0]}}", ""},
      {"{{GETAPI.Result.a[0]}}", ""},
      {"{{GETAPI.Result.list.id}}", ""},
      {"{{GETAPI.Result.n}}", ""},
      {"{{GETAPI.Result.n.x}}", ""},
      {"{{GETAPI.Result.e}}", ""},
      {"{{GETAPI.Result.zz | default: \"none\"}}", "none"},
      {"{{GETAPI.Result.n | default: \"none\"}}", "none"},
      {"{{GETAPI.Result.e | default: \"none\"}}", "none"},
  };
  for (const Case& c : cases) EXPECT_EQ(render(c.text), c.want) << c.text;
  EXPECT_EQ(render("{{GETAPI.Result}}"), call_.result(kGetApi).text);
}

TEST_F(FillpointTest, ElementResultPathsIntoAnArrayBody) {
  setApiResult("[10, [20, 30]]");
  EXPECT_EQ(render("{{GETAPI.Result[0]}}"), "10");
  EXPECT_EQ(render("{{GETAPI.Result[1][1]}}"), "30");
  EXPECT_EQ(render("{{GETAPI.Result[2]}}"), "");
  EXPECT_EQ(render("{{GETAPI.Result.x}}"), "");
}

TEST_F(FillpointTest, ResultPathsOfANonJsonBodyAreEmpty) {
  setApiResult("<html>oops</html>", 500);
  call_.result(kGetApi).error = "HTTP status 500";
  EXPECT_EQ(render("{{GETAPI.Result}}"), "<html>oops</html>");
  EXPECT_EQ(render("[{{GETAPI.Result.a}}]"), "[]");
  EXPECT_EQ(render("{{GETAPI.StatusCode}} {{GETAPI.Error}}"), "500 HTTP status 500");
}

TEST_F(FillpointTest, DigitsResult) {
  ElementResult& result = call_.result(kAsk);
  result.ran = true;
  result.text = "1234";
  EXPECT_EQ(render("{{Ask.Result}}"), "1234");
  EXPECT_EQ(render("{{Ask.Digits}}"), "1234");
}

TEST_F(FillpointTest, NumbersAreFormattedDeterministically) {
  setApiResult(R"({"max": 1e308, "p63": 9223372036854775808, "p64": 18446744073709551616,
                   "negzero": -0, "negzerod": -0.0, "half": 1.5, "int": 42, "neg": -7,
                   "hundred": 100.0, "tenth": 0.1, "big": 1e21, "small": 1e-7,
                   "min": -9223372036854775808, "third": 0.3333333333333333,
                   "sci": 3.0e2, "huge": 123456789012345678901234567890})");
  struct Case {
    const char* path;
    const char* want;
  };
  const Case cases[] = {
      {"max", "1e+308"},
      {"p63", "9223372036854775808"},
      {"p64", "18446744073709551616"},  // a double, exactly 2^64
      {"negzero", "0"},
      {"negzerod", "0"},
      {"half", "1.5"},
      {"int", "42"},
      {"neg", "-7"},
      {"hundred", "100"},
      {"tenth", "0.1"},
      {"big", "1e+21"},
      {"small", "1e-07"},
      {"min", "-9223372036854775808"},
      {"third", "0.3333333333333333"},
      {"sci", "300"},
      {"huge", "1.2345678901234568e+29"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(render("{{GETAPI.Result." + std::string(c.path) + "}}"), c.want) << c.path;
  }
  // The same numbers, written into a JSON body outside strings, stay JSON numbers.
  std::string body =
      render(R"({"a": {{GETAPI.Result.max}}, "b": {{GETAPI.Result.small}}})", Encoding::kJson);
  EXPECT_EQ(body, R"({"a": 1e+308, "b": 1e-07})");
}

// --- Properties --------------------------------------------------------------------------------

TEST_F(FillpointTest, RandomValuesNeverChangeTheUrlOrBreakTheJsonBody) {
  Template url = parse("https://api.example.com/v1/lookup?q={{V}}&x=1", Encoding::kUrl);
  Template body = parse(R"({"field": "{{V}}", "other": {{V}}, "n": 1})", Encoding::kJson);
  std::mt19937 random(20240611);
  std::uniform_int_distribution<int> length_of(0, 48);
  std::uniform_int_distribution<int> byte_of(0, 255);
  std::uniform_int_distribution<int> kind_of(0, 3);
  int json_checked = 0;
  for (int round = 0; round < 2000; ++round) {
    std::string value;
    int length = length_of(random);
    if (round % 2 == 0) {  // arbitrary bytes
      for (int i = 0; i < length; ++i) value += static_cast<char>(byte_of(random));
    } else {  // valid UTF-8, heavy on the characters that matter
      for (int i = 0; i < length; ++i) {
        switch (kind_of(random)) {
          case 0:
            value +=
                "\"\\/\0\n\r\t\b\f{}[]:,#?&% "s[static_cast<std::size_t>(byte_of(random) % 20)];
            break;
          case 1:
            appendUtf8(static_cast<std::uint32_t>(byte_of(random) % 0x80), value);
            break;
          case 2:
            appendUtf8(static_cast<std::uint32_t>(0x80 + byte_of(random) * 100), value);
            break;
          default: {
            std::uint32_t code = 0x10000 + static_cast<std::uint32_t>(byte_of(random)) * 4000;
            appendUtf8(code, value);
          }
        }
      }
      ASSERT_TRUE(isValidUtf8(value));
    }
    setIvr("V", value);

    std::string rendered = url.render(call_);
    constexpr std::string_view kPrefix = "https://api.example.com/v1/lookup?q=";
    ASSERT_EQ(rendered.substr(0, kPrefix.size()), kPrefix);
    std::size_t host_end = rendered.find_first_of("/?#", 8);
    EXPECT_EQ(rendered.substr(8, host_end - 8), "api.example.com");
    std::size_t query = rendered.find('?');
    EXPECT_EQ(rendered.find('?', query + 1), std::string::npos);
    EXPECT_EQ(rendered.find('#'), std::string::npos);
    std::size_t value_end = rendered.find('&', kPrefix.size());
    ASSERT_NE(value_end, std::string::npos);
    EXPECT_EQ(rendered.substr(value_end), "&x=1");
    std::string encoded = rendered.substr(kPrefix.size(), value_end - kPrefix.size());
    EXPECT_EQ(encoded.find_first_not_of(
                  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~%"),
              std::string::npos)
        << encoded;
    EXPECT_EQ(percentDecode(encoded), value);

    {
      // A value that is not UTF-8 is sent with U+FFFD in place of its bad bytes (F-1).
      std::string sent = callflow::toValidUtf8(value);
      json_checked += sent == value ? 1 : 0;
      std::string json = body.render(call_);
      boost::system::error_code ec;
      boost::json::value parsed = boost::json::parse(json, ec);
      ASSERT_FALSE(ec) << json;
      ASSERT_TRUE(parsed.is_object());
      EXPECT_EQ(parsed.as_object().size(), 3u) << json;
      EXPECT_EQ(std::string(parsed.at("field").as_string()), sent);
      EXPECT_EQ(parsed.at("n"), boost::json::value(1));
      const boost::json::value& other = parsed.at("other");
      if (other.is_string()) {
        EXPECT_EQ(std::string(other.as_string()), sent);
      } else {
        EXPECT_TRUE(isJsonScalarLiteral(value)) << value;
      }
    }
  }
  EXPECT_GE(json_checked, 1000);
}

// F-2 (fuzz regression result_path/json-document-huge-number): Boost.JSON reads a number past
// the double range as infinity; it is written as 1e999 (-1e999), a JSON number that reads back
// as the same infinity, never "inf". The same text in a spoken text and a URL every time (V9).
TEST_F(FillpointTest, F2NumbersPastTheDoubleRangeStayJsonNumbers) {
  setApiResult(R"({"account": {"": [1e340]}, "up": 1e400, "down": -1e400})");
  EXPECT_EQ(render("{{GETAPI.Result.up}}"), "1e999");
  EXPECT_EQ(render("{{GETAPI.Result.down}}"), "-1e999");
  EXPECT_EQ(render("{{GETAPI.Result.up}}", Encoding::kUrl), "1e999");
  std::string document = render("{{GETAPI.Result.account}}");
  EXPECT_EQ(document, R"({"":[1e999]})");
  boost::system::error_code ec;
  boost::json::value again = boost::json::parse(document, ec);
  ASSERT_FALSE(ec) << document;
  EXPECT_EQ(again.at("").at(0), boost::json::value(HUGE_VAL));
  std::string body =
      render(R"({"a": {{GETAPI.Result.up}}, "b": {{GETAPI.Result.down}}})", Encoding::kJson);
  EXPECT_EQ(body, R"({"a": 1e999, "b": -1e999})");
  EXPECT_FALSE(boost::json::parse(body, ec).is_null());
  EXPECT_FALSE(ec) << body;
}

TEST(AppendNumberTest, ReadsAsAPersonWouldSayIt) {
  const std::pair<double, const char*> cases[] = {
      {100000.0, "100000"}, {42.5, "42.5"},      {-0.0, "0"},           {0.1, "0.1"},
      {1e15, "1e+15"},      {-12.0, "-12"},      {1e308, "1e+308"},     {123456789.0, "123456789"},
      {2.5e-7, "2.5e-07"},  {HUGE_VAL, "1e999"}, {-HUGE_VAL, "-1e999"}, {NAN, "null"}};
  for (const auto& [value, expected] : cases) {
    std::string out;
    appendNumber(value, out);
    EXPECT_EQ(out, expected) << value;
  }
}

}  // namespace
}  // namespace callflow
