// The working-day calendar: weekends, bank holidays and local closure days.
// Immutable after construction; safe to share between threads.
#pragma once

#include <string_view>
#include <vector>

#include "rules/date.h"

namespace casewatch {

class Calendar {
 public:
  // Every England and Wales bank holiday from 2015 to 2030 inclusive, substitute days and the
  // one-off changes (2020, 2022, 2023) included, sorted.
  static std::vector<Day> england_and_wales_bank_holidays();

  // Weekends (Saturday, Sunday) are never working days; `non_working_days` adds to them.
  explicit Calendar(std::vector<Day> non_working_days = {});

  bool is_working_day(Day day) const;
  // The number of working days d with a < d <= b; negative (-(count of b < d <= a)) when b < a.
  int working_days_between(Day a, Day b) const;
  // Steps n working days from `day`: the first working day after `day` is step 1; a negative n
  // steps back (the first working day before `day` is step -1); n == 0 returns `day`.
  Day add_working_days(Day day, int n) const;

  const std::vector<Day>& non_working_days() const { return non_working_days_; }

 private:
  // Both work on any date: from the tables inside their range, by weekday arithmetic outside it.
  int64_t working_before(int64_t x) const;   // working days in [table_start_, x); negative before
  int64_t nth_working_day(int64_t j) const;  // the working day with j working days before it

  // Working days in [kTableStart, d) for every d in the table's range, so that counting and
  // stepping are O(1); outside the range (far past or future) they fall back to arithmetic.
  std::vector<Day> non_working_days_;  // sorted, unique
  std::vector<int32_t> prefix_;        // prefix_[i] = working days in [table_start_, table_start_ + i)
  std::vector<Day> working_;           // working_[k] = the k-th working day in the table's range
  Day table_start_ = 0;
};

}  // namespace casewatch
