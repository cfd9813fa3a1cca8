#include "store/record_json.h"

#include <boost/json.hpp>
#include <charconv>
#include <chrono>
#include <ctime>

namespace callflow {

std::string isoTime(std::int64_t unix_ms) {
  if (unix_ms <= 0) return "";
  std::time_t seconds = static_cast<std::time_t>(unix_ms / 1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[64];
  std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900,
                utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                static_cast<int>(unix_ms % 1000));
  return text;
}

namespace {

// Reads exactly `count` digits at `at` (advancing it); false if they are not all there.
bool readDigits(std::string_view text, std::size_t& at, std::size_t count, int& out) {
  if (at + count > text.size()) return false;
  out = 0;
  for (std::size_t i = 0; i < count; ++i) {
    char c = text[at + i];
    if (c < '0' || c > '9') return false;
    out = out * 10 + (c - '0');
  }
  at += count;
  return true;
}

}  // namespace

Result<std::int64_t> parseTime(std::string_view text, bool date_ends_day) {
  auto bad = [&] {
    return fail(ErrorCode::kInvalidArgument,
                "\"" + std::string(text) +
                    "\" is not a date (2024-05-01), a UTC date-time (2024-05-01T10:30:00Z) or "
                    "Unix milliseconds");
  };
  constexpr std::int64_t kDayMs = 86'400'000;
  if (!text.empty() && text.find_first_not_of("0123456789") == std::string_view::npos) {
    std::int64_t ms = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), ms);
    if (ec != std::errc() || end != text.data() + text.size()) return bad();
    return ms;
  }
  std::size_t at = 0;
  int year = 0, month = 0, day = 0;
  if (!readDigits(text, at, 4, year) || at >= text.size() || text[at++] != '-' ||
      !readDigits(text, at, 2, month) || at >= text.size() || text[at++] != '-' ||
      !readDigits(text, at, 2, day)) {
    return bad();
  }
  std::chrono::year_month_day date{std::chrono::year(year), std::chrono::month(month),
                                   std::chrono::day(day)};
  if (!date.ok()) return bad();
  std::int64_t ms = std::chrono::sys_days(date).time_since_epoch().count() * kDayMs;
  if (at == text.size()) return date_ends_day ? ms + kDayMs - 1 : ms;

  int hour = 0, minute = 0, second = 0, millis = 0;
  if ((text[at] != 'T' && text[at] != 't' && text[at] != ' ') || !readDigits(text, ++at, 2, hour) ||
      at >= text.size() || text[at++] != ':' || !readDigits(text, at, 2, minute) || hour > 23 ||
      minute > 59) {
    return bad();
  }
  if (at < text.size() && text[at] == ':') {
    if (!readDigits(text, ++at, 2, second) || second > 59) return bad();
    if (at < text.size() && text[at] == '.') {
      std::size_t first = ++at;
      while (at < text.size() && text[at] >= '0' && text[at] <= '9') {
        if (at - first < 3) millis = millis * 10 + (text[at] - '0');
        ++at;
      }
      if (at == first || at - first > 9) return bad();
      for (std::size_t n = at - first; n < 3; ++n) millis *= 10;
    }
  }
  std::int64_t offset_minutes = 0;
  if (at < text.size() && (text[at] == 'Z' || text[at] == 'z')) {
    ++at;
  } else if (at < text.size() && (text[at] == '+' || text[at] == '-')) {
    int sign = text[at++] == '+' ? 1 : -1;
    int offset_hours = 0, offset_mins = 0;
    if (!readDigits(text, at, 2, offset_hours)) return bad();
    if (at < text.size() && text[at] == ':') ++at;
    if (!readDigits(text, at, 2, offset_mins) || offset_hours > 23 || offset_mins > 59) {
      return bad();
    }
    offset_minutes = sign * (offset_hours * 60 + offset_mins);
  }
  if (at != text.size()) return bad();
  return ms + ((hour * 60 + minute - offset_minutes) * 60 + second) * 1000 + millis;
}

boost::json::object callRecordToJson(const CallRecord& record, bool with_trace) {
  boost::json::array path;
  for (const std::string& name : record.path) path.emplace_back(name);
  boost::json::object out{{"uuid", record.uuid},
                          {"startedAt", isoTime(record.started_ms)},
                          {"endedAt", isoTime(record.ended_ms)},
                          {"status", record.status},
                          {"from", record.from},
                          {"to", record.to},
                          {"flow", record.flow},
                          {"flowVersion", record.flow_version},
                          {"resultCode", record.result_code},
                          {"hungUpBy", record.hung_up_by},
                          {"path", std::move(path)}};
  if (with_trace) {
    boost::system::error_code ec;
    boost::json::value trace = boost::json::parse(record.trace_json, ec);
    out["trace"] = ec ? boost::json::value(nullptr) : std::move(trace);
  }
  return out;
}

}  // namespace callflow
