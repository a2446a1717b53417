#include "tools/gen/workdays.h"

#include <algorithm>

namespace casewatch::gen {

// Howard Hinnant's civil-calendar algorithms.
Day days_from_civil(int y, int m, int d) {
  y -= m <= 2;
  const int era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int>(doe) - 719468;
}

Civil civil_from_days(Day z0) {
  const int z = z0 + 719468;
  const int era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int y = static_cast<int>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const int d = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  const int m = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  return {y + (m <= 2), m, d};
}

int days_in_month(int year, int month) {
  static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month == 2) {
    const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return leap ? 29 : 28;
  }
  return kDays[month - 1];
}

Day add_months(Day day, int months) {
  const Civil c = civil_from_days(day);
  int index = c.year * 12 + (c.month - 1) + months;
  const int year = index >= 0 ? index / 12 : -((-index + 11) / 12);
  const int month = index - year * 12 + 1;
  return days_from_civil(year, month, std::min(c.day, days_in_month(year, month)));
}

int age_years(Day birth, Day on) {
  const Civil b = civil_from_days(birth), o = civil_from_days(on);
  int years = o.year - b.year;
  if (o.month < b.month || (o.month == b.month && o.day < b.day)) --years;
  return years;
}

std::optional<Day> parse_iso(std::string_view t) {
  if (t.size() != 10 || t[4] != '-' || t[7] != '-') return std::nullopt;
  auto digits = [&](size_t at, size_t n) {
    int v = 0;
    for (size_t i = at; i < at + n; ++i) {
      if (t[i] < '0' || t[i] > '9') return -1;
      v = v * 10 + (t[i] - '0');
    }
    return v;
  };
  const int y = digits(0, 4), m = digits(5, 2), d = digits(8, 2);
  if (y < 1900 || m < 1 || m > 12 || d < 1 || d > days_in_month(y, m)) return std::nullopt;
  return days_from_civil(y, m, d);
}

namespace {

Day easter_sunday(int y) {  // anonymous Gregorian algorithm
  const int a = y % 19, b = y / 100, c = y % 100, d = b / 4, e = b % 4;
  const int f = (b + 8) / 25, g = (b - f + 1) / 3, h = (19 * a + b - d - g + 15) % 30;
  const int i = c / 4, k = c % 4, l = (32 + 2 * e + 2 * i - h - k) % 7;
  const int m = (a + 11 * h + 22 * l) / 451;
  const int month = (h + l - 7 * m + 114) / 31, day = (h + l - 7 * m + 114) % 31 + 1;
  return days_from_civil(y, month, day);
}

Day first_monday(int y, int m) {
  Day d = days_from_civil(y, m, 1);
  while (weekday(d) != 0) ++d;
  return d;
}

Day last_monday(int y, int m) {
  Day d = days_from_civil(y, m, days_in_month(y, m));
  while (weekday(d) != 0) --d;
  return d;
}

}  // namespace

std::vector<Day> bank_holidays(int y) {
  std::vector<Day> out;
  auto taken = [&](Day d) { return std::find(out.begin(), out.end(), d) != out.end(); };
  // A fixed-date holiday on a weekend (or on a day already taken) moves to the next free weekday.
  auto add_fixed = [&](int m, int d) {
    Day day = days_from_civil(y, m, d);
    while (is_weekend(day) || taken(day)) ++day;
    out.push_back(day);
  };
  add_fixed(1, 1);
  const Day easter = easter_sunday(y);
  out.push_back(easter - 2);
  out.push_back(easter + 1);
  out.push_back(y == 2020 ? days_from_civil(2020, 5, 8) : first_monday(y, 5));
  if (y == 2002 || y == 2012) {
    out.push_back(days_from_civil(y, 6, 4));
    out.push_back(days_from_civil(y, 6, y == 2002 ? 3 : 5));
  } else if (y == 2022) {
    out.push_back(days_from_civil(2022, 6, 2));
    out.push_back(days_from_civil(2022, 6, 3));
  } else {
    out.push_back(last_monday(y, 5));
  }
  if (y == 2011) out.push_back(days_from_civil(2011, 4, 29));
  if (y == 2022) out.push_back(days_from_civil(2022, 9, 19));
  if (y == 2023) out.push_back(days_from_civil(2023, 5, 8));
  out.push_back(last_monday(y, 8));
  add_fixed(12, 25);
  add_fixed(12, 26);
  std::sort(out.begin(), out.end());
  return out;
}

WorkCalendar::WorkCalendar(Day from, Day to) : from_(from), to_(to) {
  const int first_year = civil_from_days(from).year - 1, last_year = civil_from_days(to).year + 1;
  for (int y = first_year; y <= last_year; ++y) {
    for (Day d : bank_holidays(y)) holidays_.push_back(d);
  }
  std::sort(holidays_.begin(), holidays_.end());
  prefix_.assign(static_cast<size_t>(to_ - from_) + 1, 0);
  for (Day d = from_; d < to_; ++d) {
    const bool w = slow_is_working(d);
    prefix_[d - from_ + 1] = prefix_[d - from_] + (w ? 1 : 0);
    if (w) working_.push_back(d);
  }
}

bool WorkCalendar::slow_is_working(Day day) const {
  return !is_weekend(day) && !std::binary_search(holidays_.begin(), holidays_.end(), day);
}

bool WorkCalendar::is_working(Day day) const {
  if (day >= from_ && day < to_) return prefix_[day - from_ + 1] != prefix_[day - from_];
  return slow_is_working(day);
}

int WorkCalendar::between(Day a, Day b) const {
  if (a == b) return 0;
  if (a >= from_ && b >= from_ && a < to_ && b < to_) {
    return prefix_[b - from_ + 1] - prefix_[a - from_ + 1];
  }
  int n = 0;
  if (a < b) {
    for (Day d = a + 1; d <= b; ++d) n += slow_is_working(d);
    return n;
  }
  for (Day d = b + 1; d <= a; ++d) n += slow_is_working(d);
  return -n;
}

Day WorkCalendar::add(Day day, int n) const {
  if (n == 0) return day;
  if (day >= from_ && day < to_) {
    if (n > 0) {
      const int64_t index = static_cast<int64_t>(prefix_[day - from_ + 1]) + n - 1;
      if (index < static_cast<int64_t>(working_.size())) return working_[index];
    } else {
      const int64_t index = static_cast<int64_t>(prefix_[day - from_]) + n;
      if (index >= 0) return working_[index];
    }
  }
  Day d = day;
  const int step = n > 0 ? 1 : -1;
  for (int left = n > 0 ? n : -n; left > 0;) {
    d += step;
    if (slow_is_working(d)) --left;
  }
  return d;
}

}  // namespace casewatch::gen
