// Calendar dates as day numbers, and the parsing and formatting of date text.
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace casewatch {

// Days since 1970-01-01 (proleptic Gregorian). Dates are compared and subtracted as integers.
using Day = int32_t;
inline constexpr Day kNullDay = std::numeric_limits<int32_t>::min();
// Every date the language works with lies in 0001-01-01 .. 9999-12-31; an operation that would
// make another (add_days(d, 1e9)) gives null rather than a date nobody can read.
inline constexpr Day kFirstDay = -719162;  // 0001-01-01
inline constexpr Day kLastDay = 2932896;   // 9999-12-31
inline constexpr bool is_representable(int64_t day) { return day >= kFirstDay && day <= kLastDay; }

struct CivilDate {
  int year;
  unsigned month;  // 1-12
  unsigned day;    // 1-31
};

Day days_from_civil(int year, unsigned month, unsigned day);
CivilDate civil_from_days(Day day);
bool is_valid_civil(int year, unsigned month, unsigned day);
// 0 = Monday ... 6 = Sunday.
int weekday(Day day);
// Keeps the day of the month, clamped to the target month's last day (31 Jan + 1 month = 28/29 Feb).
Day add_months(Day day, int months);
unsigned days_in_month(int year, unsigned month);

// "YYYY-MM-DD".
std::string format_iso(Day day);
// strftime-like: %d %m %Y %y %e %b %B %a %A %j %%; anything else is copied.
std::string format_date(Day day, std::string_view format);

// The dates a feed's cells may hold (engine.valid_dates); anything outside is a bad cell. A
// placeholder such as 01/01/1900 or 01/01/0000 for "not known" must not load as a date and
// close a deadline.
struct DateRange {
  Day from = -25202;  // 1901-01-01
  Day until = 47481;  // 2099-12-31, inclusive
  bool contains(Day day) const { return day >= from && day <= until; }
};

// Strict "YYYY-MM-DD" and nothing else.
std::optional<Day> parse_iso_date(std::string_view text);

// Parses date cells: text in `format` (strptime-like subset: %d %e %m %Y %y %b %B %%, and literal
// characters) or ISO "YYYY-MM-DD". Either may be followed by a time of day, which is dropped:
// " 14:30", " 14:30:00", "T14:30:00Z", "T14:30:00.123+01:00". Surrounding spaces are ignored.
// Invalid dates (31/02/2017) are rejected. An empty format means ISO only.
class DateParser {
 public:
  explicit DateParser(std::string format = "");
  std::optional<Day> parse(std::string_view text) const;
  const std::string& format() const { return format_; }

 private:
  // The format compiled once into tokens, so that parse() neither allocates nor re-reads it.
  struct Token {
    char kind;     // 'd', 'e', 'm', 'b' (also %B), 'Y', 'y'; ' ' = a run of spaces; 0 = literal
    char literal;  // the character to match when kind == 0
  };
  // Returns an error message, or "" and the tokens (none for an empty format: ISO only).
  static std::string compile(std::string_view format, std::vector<Token>* tokens);
  friend std::string validate_date_format(std::string_view format);

  std::string format_;
  std::vector<Token> tokens_;  // empty: ISO only (no format, or an invalid one)
  // For a format of the shape %d/%m/%Y (any one-character separators): its separators, so that
  // the usual ten-character cell is read at fixed places. Anything else takes the general path.
  bool day_month_year_ = false;
  char separators_[2] = {0, 0};
};

// Checks that a date_format is one DateParser understands; returns an error message or "".
std::string validate_date_format(std::string_view format);

// Without the spaces, tabs and line ends around it. Inline: every mapped cell of a feed is trimmed.
inline std::string_view trim(std::string_view text) {
  auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  size_t begin = 0, end = text.size();
  while (begin < end && blank(text[begin])) ++begin;
  while (end > begin && blank(text[end - 1])) --end;
  return text.substr(begin, end - begin);
}

}  // namespace casewatch
