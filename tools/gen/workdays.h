// Dates and England and Wales working days for casewatch-gen. Self-contained on purpose: the
// generator must not share code (or bugs) with the engine whose input it makes. Immutable after
// construction; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace casewatch::gen {

// Days since 1970-01-01, proleptic Gregorian.
using Day = int32_t;
inline constexpr Day kNoDay = INT32_MIN;

struct Civil {
  int year;
  int month;  // 1-12
  int day;    // 1-31
};

Day days_from_civil(int year, int month, int day);
Civil civil_from_days(Day day);
int days_in_month(int year, int month);
// 0 = Monday ... 6 = Sunday.
inline int weekday(Day day) { return static_cast<int>(((static_cast<int64_t>(day) + 3) % 7 + 7) % 7); }
inline bool is_weekend(Day day) { return weekday(day) >= 5; }
// Keeps the day of the month, clamped to the target month's last day.
Day add_months(Day day, int months);
// Whole years from `birth` to `on`.
int age_years(Day birth, Day on);
// Strict YYYY-MM-DD.
std::optional<Day> parse_iso(std::string_view text);

// England and Wales bank holidays of one year, by the usual rules (substitute days included) and
// the known one-off changes from 2002 on.
std::vector<Day> bank_holidays(int year);

// Working days (Monday to Friday, not a bank holiday) with O(1) counting and stepping inside a
// table range, and a slow loop outside it.
class WorkCalendar {
 public:
  WorkCalendar(Day from, Day to);

  bool is_working(Day day) const;
  // Working days d with a < d <= b; negative when b < a.
  int between(Day a, Day b) const;
  // The first working day after `day` is step 1; negative steps go back; 0 returns `day`.
  Day add(Day day, int n) const;
  // `day` if it is a working day, else the next one.
  Day on_or_after(Day day) const { return is_working(day) ? day : add(day, 1); }
  // `day` if it is a working day, else the one before.
  Day on_or_before(Day day) const { return is_working(day) ? day : add(day, -1); }

 private:
  bool slow_is_working(Day day) const;
  Day from_, to_;                  // table covers [from_, to_)
  std::vector<int32_t> prefix_;    // prefix_[i] = working days in [from_, from_ + i)
  std::vector<Day> working_;       // working_[k] = the k-th working day of the range
  std::vector<Day> holidays_;      // sorted, for days outside the table
};

}  // namespace casewatch::gen
