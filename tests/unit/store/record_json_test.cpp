// parseTime (store/record_json.h): the times the call record filters take, and isoTime back.
#include "store/record_json.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

namespace callflow {
namespace {

constexpr std::int64_t kMay1 = 1714521600000;  // 2024-05-01T00:00:00Z
constexpr std::int64_t kDay = 86400000;

TEST(ParseTimeTest, AcceptedForms) {
  struct Case {
    const char* text;
    bool ends_day;
    std::int64_t want;
  };
  const Case cases[] = {
      {"2024-05-01", false, kMay1},
      {"2024-05-01", true, kMay1 + kDay - 1},  // a date as an upper bound: its whole day
      {"2024-05-01T10:30", false, kMay1 + 37800000},
      {"2024-05-01T10:30", true, kMay1 + 37800000},  // a time is that instant either way
      {"2024-05-01T10:30:15Z", false, kMay1 + 37815000},
      {"2024-05-01t10:30:15z", false, kMay1 + 37815000},
      {"2024-05-01 10:30:15", false, kMay1 + 37815000},
      {"2024-05-01T10:30:15.5Z", false, kMay1 + 37815500},
      {"2024-05-01T10:30:15.123456Z", false, kMay1 + 37815123},
      {"2024-05-01T12:30:15+02:00", false, kMay1 + 37815000},
      {"2024-05-01T08:00:15-0230", false, kMay1 + 37815000},
      {"2024-02-29", false, 1709164800000},
      {"1970-01-01", false, 0},
      {"1714521600000", false, kMay1},  // Unix milliseconds
      {"0", false, 0},
  };
  for (const Case& c : cases) {
    auto got = parseTime(c.text, c.ends_day);
    ASSERT_TRUE(got.has_value()) << c.text << ": " << got.error().message;
    EXPECT_EQ(*got, c.want) << c.text;
  }
  EXPECT_EQ(isoTime(*parseTime("2024-05-01T10:30:15.123Z", false)), "2024-05-01T10:30:15.123Z");
}

TEST(ParseTimeTest, RefusedForms) {
  for (const char* text :
       {"", "yesterday", "2024-5-1", "2024-13-01", "2023-02-29", "2024-04-31", "2024-05-01T",
        "2024-05-01T24:00", "2024-05-01T10:60", "2024-05-01T10:30:61", "2024-05-01T10:30:15.",
        "2024-05-01T10:30:15+2", "2024-05-01T10:30:15 UTC", "2024/05/01", "-1000", "1.5e12",
        "99999999999999999999", "2024-05-01x"}) {
    auto got = parseTime(text, false);
    ASSERT_FALSE(got.has_value()) << text;
    EXPECT_EQ(got.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(got.error().message.find(std::string("\"") + text + "\""), std::string::npos)
        << got.error().message;
  }
}

}  // namespace
}  // namespace callflow
