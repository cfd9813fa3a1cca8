// Secrets: the secrets file, the environment fallback and redaction (engine/secrets.h).
#include "engine/secrets.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

namespace callflow {
namespace {

class SecretsFileTest : public ::testing::Test {
 protected:
  SecretsFileTest() {
    std::string pattern = ::testing::TempDir() + "callflow-secrets-XXXXXX";
    std::vector<char> buffer(pattern.begin(), pattern.end());
    buffer.push_back('\0');
    const char* made = ::mkdtemp(buffer.data());
    EXPECT_NE(made, nullptr);
    dir_ = made != nullptr ? made : "";
  }
  ~SecretsFileTest() override {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  std::string write(const std::string& text, mode_t mode = 0600) {
    std::string path = dir_ + "/secrets-" + std::to_string(++files_);
    {
      std::ofstream out(path, std::ios::binary);
      out << text;
    }
    EXPECT_EQ(::chmod(path.c_str(), mode), 0);
    return path;
  }

  std::string dir_;
  int files_ = 0;
};

TEST_F(SecretsFileTest, OwnerOnlyModesAreAccepted) {
  for (mode_t mode : {0600, 0400}) {
    auto secrets = loadSecretsFile(write("API_KEY=abc\n", mode));
    ASSERT_TRUE(secrets.has_value()) << std::oct << mode << ": " << secrets.error().message;
    EXPECT_EQ(secrets->at("API_KEY"), "abc");
  }
}

TEST_F(SecretsFileTest, OpenModesAreRefused) {
  for (mode_t mode : {0644, 0640, 0604, 0660, 0666, 0610}) {
    std::string path = write("API_KEY=abc\n", mode);
    auto secrets = loadSecretsFile(path);
    ASSERT_FALSE(secrets.has_value()) << std::oct << mode;
    EXPECT_EQ(secrets.error().code, ErrorCode::kFailedPrecondition);
    EXPECT_NE(secrets.error().message.find(path), std::string::npos);
    EXPECT_NE(secrets.error().message.find("chmod 600"), std::string::npos);
    EXPECT_EQ(secrets.error().message.find("abc"), std::string::npos);
  }
}

TEST_F(SecretsFileTest, MissingFile) {
  auto secrets = loadSecretsFile(dir_ + "/nope");
  ASSERT_FALSE(secrets.has_value());
  EXPECT_EQ(secrets.error().code, ErrorCode::kNotFound);
}

TEST_F(SecretsFileTest, CommentsBlankLinesAndValues) {
  auto secrets =
      loadSecretsFile(write("# API credentials\n"
                            "\n"
                            "   \n"
                            "  # indented comment\n"
                            "API_KEY=abc123\n"
                            "PASSWORD=p@ss=word#not-a-comment\r\n"
                            "  PADDED=x\n"
                            "EMPTY=\n"
                            "last-one=tail"));
  ASSERT_TRUE(secrets.has_value()) << secrets.error().message;
  EXPECT_EQ(*secrets, (SecretMap{{"API_KEY", "abc123"},
                                 {"PASSWORD", "p@ss=word#not-a-comment"},
                                 {"PADDED", "x"},
                                 {"EMPTY", ""},
                                 {"last-one", "tail"}}));
}

TEST_F(SecretsFileTest, EmptyFile) {
  auto secrets = loadSecretsFile(write(""));
  ASSERT_TRUE(secrets.has_value());
  EXPECT_TRUE(secrets->empty());
}

TEST_F(SecretsFileTest, BadLineNamesTheLineWithoutTheValue) {
  struct Case {
    const char* text;
    const char* line;
  };
  const Case cases[] = {
      {"API_KEY=abc\nsup3rsecret-no-equals\n", "line 2:"},
      {"# comment\n\nBAD NAME=sup3rsecret\n", "line 3:"},
      {"=sup3rsecret\n", "line 1:"},
      {"A=1\nB=2\nC=3\nsecret.X=sup3rsecret\n", "line 4:"},
  };
  for (const Case& c : cases) {
    std::string path = write(c.text);
    auto secrets = loadSecretsFile(path);
    ASSERT_FALSE(secrets.has_value()) << c.text;
    EXPECT_EQ(secrets.error().code, ErrorCode::kInvalidArgument);
    const std::string& message = secrets.error().message;
    EXPECT_NE(message.find(c.line), std::string::npos) << message;
    EXPECT_NE(message.find("expected NAME=value"), std::string::npos) << message;
    EXPECT_EQ(message.find("sup3rsecret"), std::string::npos) << message;
  }
}

TEST(SecretsEnvironmentTest, FallsBackToEnvironmentVariables) {
  ASSERT_EQ(::setenv("CALLFLOW_SECRET_UNIT_ENV_KEY", "from-env", 1), 0);
  ASSERT_EQ(::setenv("CALLFLOW_SECRET_UNIT_ENV_FILE", "env-loses", 1), 0);
  ::unsetenv("CALLFLOW_SECRET_UNIT_ENV_MISSING");

  SecretMap secrets{{"UNIT_ENV_FILE", "file-wins"}};
  std::set<std::string, std::less<>> names{"UNIT_ENV_KEY", "UNIT_ENV_FILE", "UNIT_ENV_MISSING"};
  addSecretsFromEnvironment(names, secrets);
  EXPECT_EQ(secrets, (SecretMap{{"UNIT_ENV_KEY", "from-env"}, {"UNIT_ENV_FILE", "file-wins"}}));

  EXPECT_EQ(secretFromEnvironment("UNIT_ENV_KEY"), "from-env");
  EXPECT_FALSE(secretFromEnvironment("UNIT_ENV_MISSING").has_value());
  // Only names asked for are read.
  SecretMap none;
  addSecretsFromEnvironment(std::vector<std::string>{}, none);
  EXPECT_TRUE(none.empty());

  ::unsetenv("CALLFLOW_SECRET_UNIT_ENV_KEY");
  ::unsetenv("CALLFLOW_SECRET_UNIT_ENV_FILE");
}

TEST(RedactTest, ReplacesEveryOccurrence) {
  SecretMap secrets{{"A", "hunter2"}, {"B", "k-999"}};
  EXPECT_EQ(redact("pw=hunter2&key=k-999&again=hunter2 hunter2", &secrets),
            "pw=***&key=***&again=*** ***");
  // Back to back: one mask, which tells nothing of how many.
  EXPECT_EQ(redact("hunter2hunter2k-999", &secrets), "***");
  EXPECT_EQ(redact("nothing here", &secrets), "nothing here");
  EXPECT_EQ(redact("", &secrets), "");
}

TEST(RedactTest, EncodedFormsToo) {
  SecretMap secrets{{"A", "p@ss word/1"}, {"B", "say \"hi\"\\"}};
  EXPECT_EQ(redact("https://h/?pw=p%40ss%20word%2F1&x=1", &secrets), "https://h/?pw=***&x=1");
  EXPECT_EQ(redact(R"({"b": "say \"hi\"\\"})", &secrets), R"({"b": "***"})");
  EXPECT_EQ(redact("raw p@ss word/1.", &secrets), "raw ***.");
}

TEST(RedactTest, NoSecretsOrEmptyValues) {
  EXPECT_EQ(redact("hunter2", nullptr), "hunter2");
  SecretMap empty_value{{"A", ""}};
  EXPECT_EQ(redact("abc", &empty_value), "abc");
}

TEST(RedactTest, ValuesThatLookLikeTheMask) {
  SecretMap secrets{{"A", "*"}, {"B", "a*"}};
  EXPECT_EQ(redact("x*y", &secrets), "x***y");
  SecretMap stars{{"A", "**"}};
  EXPECT_EQ(redact("a**b**", &stars), "a***b***");
}

TEST(RedactTest, NoPartOfAnOverlappingSecretSurvives) {
  // One secret is a prefix, suffix or middle of another: the longer is masked whole, whatever
  // the order of their names.
  for (const SecretMap& secrets :
       {SecretMap{{"A", "pass"}, {"B", "password1"}}, SecretMap{{"A", "password1"}, {"B", "pass"}},
        SecretMap{{"A", "word1"}, {"B", "password1"}},
        SecretMap{{"A", "sswo"}, {"B", "password1"}}}) {
    EXPECT_EQ(redact("user:password1.", &secrets), "user:***.");
  }
  SecretMap both{{"A", "pass"}, {"B", "password1"}};
  EXPECT_EQ(redact("pass password1 pass", &both), "*** *** ***");
  // Two secrets that overlap without either holding the other.
  SecretMap overlapping{{"A", "abcd"}, {"B", "cdef"}};
  EXPECT_EQ(redact("<abcdef>", &overlapping), "<***>");
  EXPECT_EQ(redact("<cdefab abcd>", &overlapping), "<***ab ***>");
  // Overlapping occurrences of one secret.
  SecretMap repeated{{"A", "aa"}};
  EXPECT_EQ(redact("baaab", &repeated), "b***b");
}

TEST(RedactTest, ASecretInsideBase64IsMasked) {
  SecretMap secrets{{"KEY", "hunter2-very-secret"}};
  // base64("ivr:hunter2-very-secret"), base64("hunter2-very-secret"), base64("ab:hunter2-…").
  for (std::string_view encoded :
       {"aXZyOmh1bnRlcjItdmVyeS1zZWNyZXQ=", "aHVudGVyMi12ZXJ5LXNlY3JldA==",
        "YWI6aHVudGVyMi12ZXJ5LXNlY3JldA=="}) {
    std::string shown = redact("Basic " + std::string(encoded), &secrets);
    EXPECT_NE(shown.find("***"), std::string::npos) << shown;
    EXPECT_LE(shown.size(), std::string("Basic ***").size() + 8) << shown;
  }
  EXPECT_EQ(redact("Basic aXZyOnB3", &secrets), "Basic aXZyOnB3");
}

TEST(RedactTest, AnExcerptCutInsideASecretHidesItsBeginning) {
  SecretMap secrets{{"KEY", "hunter2-secret"}};
  // Whole occurrences as redact() does; a cut one at the end is masked too, in any form.
  EXPECT_EQ(redactExcerpt("a hunter2-secret b hunter2-se", &secrets), "a *** b ***");
  SecretMap spaced{{"KEY", "two words"}};
  EXPECT_EQ(redactExcerpt("x=two%20wo", &spaced), "x=***");
  EXPECT_EQ(redactExcerpt("nothing of it", &secrets), "nothing of it");
  EXPECT_EQ(redactExcerpt("ends with h", &secrets), "ends with ***");
  EXPECT_EQ(redactExcerpt("text", nullptr), "text");
}

}  // namespace
}  // namespace callflow
