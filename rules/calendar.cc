#include "rules/calendar.h"

#include <algorithm>
#include <limits>

namespace casewatch {
namespace {

// The range of the O(1) tables: every date a case record plausibly holds, for about 380 KB.
constexpr int kTableFirstYear = 1950;
constexpr int kTableLastYear = 2100;

constexpr int kFirstHolidayYear = 2015;
constexpr int kLastHolidayYear = 2030;

// Easter Sunday by the anonymous Gregorian computus (Meeus/Jones/Butcher).
Day easter_sunday(int y) {
  const int a = y % 19, b = y / 100, c = y % 100, d = b / 4, e = b % 4;
  const int f = (b + 8) / 25, g = (b - f + 1) / 3;
  const int h = (19 * a + b - d - g + 15) % 30;
  const int i = c / 4, k = c % 4;
  const int l = (32 + 2 * e + 2 * i - h - k) % 7;
  const int m = (a + 11 * h + 22 * l) / 451;
  const int n = h + l - 7 * m + 114;
  return days_from_civil(y, n / 31, n % 31 + 1);
}

// The day itself if a weekday, else the Monday after: how substitute days fall.
Day weekday_on_or_after(Day day) { return weekday(day) < 5 ? day : day + (7 - weekday(day)); }

Day first_monday(int year, unsigned month) {
  const Day first = days_from_civil(year, month, 1);
  return first + (7 - weekday(first)) % 7;
}

Day last_monday(int year, unsigned month) {
  const Day last = days_from_civil(year, month, days_in_month(year, month));
  return last - weekday(last);
}

// Mondays to Fridays in [M, x) minus those in [x, M), M being the Monday 1970-01-05.
int64_t weekdays_before(int64_t x) {
  const int64_t offset = x - 4;
  const int64_t weeks = offset / 7 - (offset % 7 < 0);
  return 5 * weeks + std::min<int64_t>(offset - 7 * weeks, 5);
}

}  // namespace

std::vector<Day> Calendar::england_and_wales_bank_holidays() {
  std::vector<Day> days;
  for (int year = kFirstHolidayYear; year <= kLastHolidayYear; ++year) {
    const Day easter = easter_sunday(year);
    // Christmas and Boxing Day take the first two weekdays from 25 December.
    const Day christmas = weekday_on_or_after(days_from_civil(year, 12, 25));
    days.insert(days.end(), {weekday_on_or_after(days_from_civil(year, 1, 1)), easter - 2, easter + 1,
                             first_monday(year, 5), last_monday(year, 5), last_monday(year, 8), christmas,
                             weekday_on_or_after(christmas + 1)});
  }
  // One-off changes by proclamation: {removed, added}; a zero year when nothing is removed.
  static constexpr struct { int from[3]; int to[3]; } kChanges[] = {
      {{2020, 5, 4}, {2020, 5, 8}},     // VE Day anniversary moved the early May holiday
      {{2022, 5, 30}, {2022, 6, 2}},    // Platinum Jubilee moved the spring holiday...
      {{0, 0, 0}, {2022, 6, 3}},        // ...and added a day
      {{0, 0, 0}, {2022, 9, 19}},       // State funeral of Queen Elizabeth II
      {{0, 0, 0}, {2023, 5, 8}},        // Coronation of King Charles III
  };
  for (const auto& change : kChanges) {
    if (change.from[0]) {
      const Day removed = days_from_civil(change.from[0], change.from[1], change.from[2]);
      days.erase(std::remove(days.begin(), days.end(), removed), days.end());
    }
    days.push_back(days_from_civil(change.to[0], change.to[1], change.to[2]));
  }
  std::sort(days.begin(), days.end());
  days.erase(std::unique(days.begin(), days.end()), days.end());
  return days;
}

Calendar::Calendar(std::vector<Day> non_working_days) : non_working_days_(std::move(non_working_days)) {
  std::sort(non_working_days_.begin(), non_working_days_.end());
  non_working_days_.erase(std::unique(non_working_days_.begin(), non_working_days_.end()),
                          non_working_days_.end());
  table_start_ = days_from_civil(kTableFirstYear, 1, 1);
  const Day table_end = days_from_civil(kTableLastYear + 1, 1, 1);
  prefix_.assign(static_cast<size_t>(table_end - table_start_) + 1, 0);
  working_.reserve(prefix_.size() * 5 / 7 + 1);
  auto closed = std::lower_bound(non_working_days_.begin(), non_working_days_.end(), table_start_);
  for (Day day = table_start_; day < table_end; ++day) {
    const bool is_closed = closed != non_working_days_.end() && *closed == day;
    if (is_closed) ++closed;
    const bool working = weekday(day) < 5 && !is_closed;
    if (working) working_.push_back(day);
    prefix_[day - table_start_ + 1] = prefix_[day - table_start_] + working;
  }
}

bool Calendar::is_working_day(Day day) const {
  const int64_t i = int64_t{day} - table_start_;
  if (i >= 0 && i + 1 < static_cast<int64_t>(prefix_.size())) return prefix_[i + 1] != prefix_[i];
  return weekday(day) < 5 && !std::binary_search(non_working_days_.begin(), non_working_days_.end(), day);
}

int64_t Calendar::working_before(int64_t x) const {
  const auto last = static_cast<int64_t>(prefix_.size()) - 1;
  const int64_t i = x - table_start_;
  if (i >= 0 && i <= last) return prefix_[i];
  // Outside the table: count weekdays arithmetically, less the closed weekdays in between.
  const int64_t lo = std::min<int64_t>(x, table_start_ + last), hi = std::max<int64_t>(x, table_start_);
  int64_t count = weekdays_before(hi) - weekdays_before(lo);
  for (auto it = std::lower_bound(non_working_days_.begin(), non_working_days_.end(), lo);
       it != non_working_days_.end() && *it < hi; ++it)
    count -= weekday(*it) < 5;
  return i < 0 ? -count : prefix_[last] + count;
}

int64_t Calendar::nth_working_day(int64_t j) const {
  if (j >= 0 && j < static_cast<int64_t>(working_.size())) return working_[j];
  // Outside the table: the smallest x with working_before(x + 1) > j, by galloping then bisecting.
  const auto past = [&](int64_t x) { return working_before(x + 1) > j; };
  int64_t lo, hi;  // !past(lo), past(hi)
  if (j < 0) {
    hi = int64_t{table_start_} - 1;
    for (int64_t step = 8;; step *= 2)
      if (!past(lo = hi - step)) break;
  } else {
    lo = int64_t{table_start_} + static_cast<int64_t>(prefix_.size()) - 2;
    for (int64_t step = 8;; step *= 2)
      if (past(hi = lo + step)) break;
  }
  while (hi - lo > 1) {
    const int64_t mid = lo + (hi - lo) / 2;
    (past(mid) ? hi : lo) = mid;
  }
  return hi;
}

int Calendar::working_days_between(Day a, Day b) const {
  const int64_t count = working_before(int64_t{b} + 1) - working_before(int64_t{a} + 1);
  return static_cast<int>(std::clamp<int64_t>(count, std::numeric_limits<int>::min(), std::numeric_limits<int>::max()));
}

Day Calendar::add_working_days(Day day, int n) const {
  if (n == 0 || day == kNullDay) return day;
  // The j-th working day of the table (counted from 0) is the one with j working days before it.
  const int64_t j = n > 0 ? working_before(int64_t{day} + 1) + n - 1 : working_before(day) + n;
  const int64_t result = nth_working_day(j);
  // Beyond what a Day can hold (|n| in the hundreds of millions): no date.
  if (result <= std::numeric_limits<Day>::min() || result > std::numeric_limits<Day>::max()) return kNullDay;
  return static_cast<Day>(result);
}

}  // namespace casewatch
