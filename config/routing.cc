#include "config/routing.h"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace casewatch {

bool LabelMatcher::matches(const StringMap& labels) const {
  const std::string_view actual = labels.value_or_empty(label);
  if (regex) return RE2::FullMatch(actual, *regex);
  return actual == value;
}

std::shared_ptr<const RE2> compile_matcher_regex(const std::string& pattern) {
  RE2::Options options;
  options.set_log_errors(false);
  return std::make_shared<const RE2>(pattern, options);
}

bool DaySet::includes(Day day, const Calendar& calendar) const {
  if (working_days) return calendar.is_working_day(day);
  return (weekdays >> weekday(day)) & 1;
}

bool TimeWindow::contains(Day day, int minute, const Calendar& calendar) const {
  return days.includes(day, calendar) && minute >= start_minute && minute < end_minute;
}

namespace {

constexpr std::string_view kDayNames[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};

int day_index(std::string_view name) {
  for (int i = 0; i < 7; ++i)
    if (kDayNames[i] == name) return i;
  return -1;
}

// "working-days", "daily", "mon-fri", "sat,sun", "mon,wed-fri".
std::optional<DaySet> parse_days(std::string_view text, std::string& error) {
  DaySet set;
  if (text == "working-days") {
    set.working_days = true;
    return set;
  }
  if (text == "daily") return set;
  set.weekdays = 0;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t comma = text.find(',', pos);
    std::string_view part = text.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos);
    size_t dash = part.find('-');
    int from = day_index(part.substr(0, dash));
    int to = dash == std::string_view::npos ? from : day_index(part.substr(dash + 1));
    if (from < 0 || to < 0 || to < from) {
      error = "days '" + std::string(text) + "' must be working-days, daily, or days such as mon-fri or sat,sun";
      return std::nullopt;
    }
    for (int d = from; d <= to; ++d) set.weekdays |= static_cast<uint8_t>(1 << d);
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  return set;
}

// "08:30" -> 510; "24:00" allowed as an end.
std::optional<int> parse_clock(std::string_view text, bool allow_24) {
  if (text.size() != 5 || text[2] != ':') return std::nullopt;
  int h = 0, m = 0;
  if (std::from_chars(text.data(), text.data() + 2, h).ec != std::errc() ||
      std::from_chars(text.data() + 3, text.data() + 5, m).ec != std::errc())
    return std::nullopt;
  if (m > 59 || h > 24 || (h == 24 && (m != 0 || !allow_24))) return std::nullopt;
  return h * 60 + m;
}

}  // namespace

std::optional<TimeWindow> parse_time_window(std::string_view text, std::string& error) {
  size_t space = text.find(' ');
  if (space == std::string_view::npos) {
    error = "time window '" + std::string(text) + "' must be DAYS HH:MM-HH:MM, e.g. \"working-days 08:00-18:00\"";
    return std::nullopt;
  }
  auto days = parse_days(text.substr(0, space), error);
  if (!days) return std::nullopt;
  std::string_view times = text.substr(space + 1);
  size_t dash = times.find('-');
  auto start = parse_clock(times.substr(0, dash), false);
  auto end = dash == std::string_view::npos ? std::nullopt : parse_clock(times.substr(dash + 1), true);
  if (!start || !end || *end <= *start) {
    error = "time window '" + std::string(text) + "' needs HH:MM-HH:MM with the end after the start";
    return std::nullopt;
  }
  return TimeWindow{*days, *start, *end};
}

std::optional<DailySchedule> parse_daily_schedule(std::string_view text, std::string& error) {
  size_t space = text.find(' ');
  if (space == std::string_view::npos) {
    error = "schedule '" + std::string(text) + "' must be DAYS HH:MM, e.g. \"working-days 08:30\"";
    return std::nullopt;
  }
  auto days = parse_days(text.substr(0, space), error);
  if (!days) return std::nullopt;
  auto minute = parse_clock(text.substr(space + 1), false);
  if (!minute) {
    error = "schedule '" + std::string(text) + "' needs a time HH:MM";
    return std::nullopt;
  }
  return DailySchedule{*days, *minute};
}

}  // namespace casewatch
