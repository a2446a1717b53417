#include "rules/calendar.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <map>
#include <set>
#include <string>

namespace casewatch {
namespace {

Day ymd(int y, unsigned m, unsigned d) { return days_from_civil(y, m, d); }

// domain.md's published table (2016-2027), with 2015 and 2028-2030 worked out by hand from the
// rules: Easter 2015-04-05, 2028-04-16, 2029-04-01, 2030-04-21; 1 Jan 2028 is a Saturday.
const std::map<int, std::set<std::string>> kExpected = {
    {2015, {"01-01", "04-03", "04-06", "05-04", "05-25", "08-31", "12-25", "12-28"}},
    {2016, {"01-01", "03-25", "03-28", "05-02", "05-30", "08-29", "12-26", "12-27"}},
    {2017, {"01-02", "04-14", "04-17", "05-01", "05-29", "08-28", "12-25", "12-26"}},
    {2018, {"01-01", "03-30", "04-02", "05-07", "05-28", "08-27", "12-25", "12-26"}},
    {2019, {"01-01", "04-19", "04-22", "05-06", "05-27", "08-26", "12-25", "12-26"}},
    {2020, {"01-01", "04-10", "04-13", "05-08", "05-25", "08-31", "12-25", "12-28"}},
    {2021, {"01-01", "04-02", "04-05", "05-03", "05-31", "08-30", "12-27", "12-28"}},
    {2022, {"01-03", "04-15", "04-18", "05-02", "06-02", "06-03", "08-29", "09-19", "12-26", "12-27"}},
    {2023, {"01-02", "04-07", "04-10", "05-01", "05-08", "05-29", "08-28", "12-25", "12-26"}},
    {2024, {"01-01", "03-29", "04-01", "05-06", "05-27", "08-26", "12-25", "12-26"}},
    {2025, {"01-01", "04-18", "04-21", "05-05", "05-26", "08-25", "12-25", "12-26"}},
    {2026, {"01-01", "04-03", "04-06", "05-04", "05-25", "08-31", "12-25", "12-28"}},
    {2027, {"01-01", "03-26", "03-29", "05-03", "05-31", "08-30", "12-27", "12-28"}},
    {2028, {"01-03", "04-14", "04-17", "05-01", "05-29", "08-28", "12-25", "12-26"}},
    {2029, {"01-01", "03-30", "04-02", "05-07", "05-28", "08-27", "12-25", "12-26"}},
    {2030, {"01-01", "04-19", "04-22", "05-06", "05-27", "08-26", "12-25", "12-26"}},
};

TEST(BankHolidays, EveryYearMatchesThePublishedTable) {
  const std::vector<Day> days = Calendar::england_and_wales_bank_holidays();
  EXPECT_TRUE(std::is_sorted(days.begin(), days.end()));
  EXPECT_EQ(std::adjacent_find(days.begin(), days.end()), days.end());
  std::map<int, std::set<std::string>> actual;
  for (Day day : days) {
    EXPECT_LT(weekday(day), 5) << format_iso(day);
    actual[civil_from_days(day).year].insert(format_date(day, "%m-%d"));
  }
  EXPECT_EQ(actual.size(), kExpected.size());
  for (const auto& [year, expected] : kExpected) EXPECT_EQ(actual[year], expected) << year;
}

TEST(BankHolidays, SubstituteDays) {
  const Calendar calendar(Calendar::england_and_wales_bank_holidays());
  EXPECT_FALSE(calendar.is_working_day(ymd(2015, 12, 28)));  // Boxing Day on a Saturday
  EXPECT_FALSE(calendar.is_working_day(ymd(2027, 12, 27)));  // Christmas on a Saturday
  EXPECT_FALSE(calendar.is_working_day(ymd(2027, 12, 28)));
  EXPECT_FALSE(calendar.is_working_day(ymd(2028, 1, 3)));    // New Year's Day on a Saturday
  EXPECT_TRUE(calendar.is_working_day(ymd(2020, 5, 4)));     // moved to 8 May
  EXPECT_TRUE(calendar.is_working_day(ymd(2022, 5, 30)));    // moved to 2 June
}

class WorkingDays : public ::testing::Test {
 protected:
  const Calendar calendar{Calendar::england_and_wales_bank_holidays()};
};

TEST_F(WorkingDays, IsWorkingDay) {
  EXPECT_TRUE(calendar.is_working_day(ymd(2017, 8, 25)));   // Friday
  EXPECT_FALSE(calendar.is_working_day(ymd(2017, 8, 26)));  // Saturday
  EXPECT_FALSE(calendar.is_working_day(ymd(2017, 8, 27)));  // Sunday
  EXPECT_FALSE(calendar.is_working_day(ymd(2017, 8, 28)));  // summer bank holiday
  EXPECT_TRUE(calendar.is_working_day(ymd(2017, 8, 29)));
  EXPECT_TRUE(calendar.is_working_day(ymd(1900, 1, 1)));    // a Monday outside the table
  EXPECT_FALSE(calendar.is_working_day(ymd(2200, 1, 4)));   // a Saturday outside the table
}

TEST_F(WorkingDays, AcrossABankHolidayWeekend) {
  const Day friday = ymd(2017, 8, 25), tuesday = ymd(2017, 8, 29);
  EXPECT_EQ(calendar.add_working_days(friday, 1), tuesday);
  EXPECT_EQ(calendar.add_working_days(friday, 2), ymd(2017, 8, 30));
  EXPECT_EQ(calendar.add_working_days(tuesday, -1), friday);
  EXPECT_EQ(calendar.working_days_between(friday, tuesday), 1);
  EXPECT_EQ(calendar.working_days_between(tuesday, friday), -1);
  EXPECT_EQ(calendar.working_days_between(friday, ymd(2017, 8, 28)), 0);
  EXPECT_EQ(calendar.working_days_between(friday, friday), 0);
}

TEST_F(WorkingDays, AcrossChristmasAndNewYear) {
  const Day friday = ymd(2017, 12, 22);
  EXPECT_EQ(calendar.add_working_days(friday, 1), ymd(2017, 12, 27));
  EXPECT_EQ(calendar.add_working_days(friday, 3), ymd(2017, 12, 29));
  EXPECT_EQ(calendar.add_working_days(friday, 4), ymd(2018, 1, 2));  // 1 Jan 2018 a holiday
  EXPECT_EQ(calendar.add_working_days(ymd(2018, 1, 2), -4), friday);
  EXPECT_EQ(calendar.working_days_between(friday, ymd(2018, 1, 2)), 4);
  EXPECT_EQ(calendar.working_days_between(ymd(2018, 1, 2), friday), -4);
  // 2017: 260 weekdays, 8 of them bank holidays.
  EXPECT_EQ(calendar.working_days_between(ymd(2016, 12, 31), ymd(2017, 12, 31)), 252);
  EXPECT_EQ(calendar.working_days_between(ymd(2017, 12, 31), ymd(2016, 12, 31)), -252);
}

TEST_F(WorkingDays, NonWorkingStartDays) {
  const Day saturday = ymd(2017, 6, 3), bank_holiday = ymd(2017, 8, 28);
  EXPECT_EQ(calendar.add_working_days(saturday, 1), ymd(2017, 6, 5));
  EXPECT_EQ(calendar.add_working_days(saturday, -1), ymd(2017, 6, 2));
  EXPECT_EQ(calendar.add_working_days(saturday, 0), saturday);
  EXPECT_EQ(calendar.add_working_days(ymd(2017, 8, 26), 1), ymd(2017, 8, 29));   // Saturday before
  EXPECT_EQ(calendar.add_working_days(ymd(2017, 8, 26), -1), ymd(2017, 8, 25));
  EXPECT_EQ(calendar.add_working_days(bank_holiday, 1), ymd(2017, 8, 29));
  EXPECT_EQ(calendar.add_working_days(bank_holiday, -1), ymd(2017, 8, 25));
  EXPECT_EQ(calendar.add_working_days(bank_holiday, 0), bank_holiday);
  EXPECT_EQ(calendar.working_days_between(saturday, ymd(2017, 6, 4)), 0);
  EXPECT_EQ(calendar.working_days_between(saturday, ymd(2017, 6, 5)), 1);
  EXPECT_EQ(calendar.working_days_between(ymd(2017, 6, 2), saturday), 0);
}

// A plain reference: the header's definitions, one day at a time.
int count_by_loop(const Calendar& calendar, Day a, Day b) {
  int count = 0;
  for (Day d = std::min(a, b) + 1; d <= std::max(a, b); ++d) count += calendar.is_working_day(d);
  return b < a ? -count : count;
}

Day step_by_loop(const Calendar& calendar, Day day, int n) {
  for (; n > 0; --n)
    do ++day; while (!calendar.is_working_day(day));
  for (; n < 0; ++n)
    do --day; while (!calendar.is_working_day(day));
  return day;
}

TEST_F(WorkingDays, AgreesWithLoopsAndRoundTrips) {
  const Day first = ymd(2017, 11, 25), last = ymd(2018, 1, 20);
  for (Day d = first; d <= last; ++d) {
    for (Day e = first; e <= last; ++e) {
      const int between = calendar.working_days_between(d, e);
      ASSERT_EQ(between, count_by_loop(calendar, d, e)) << format_iso(d) << " " << format_iso(e);
      // Stepping by the count lands back on e, except backwards from a non-working day, where the
      // count stops at d's previous working day: between(Sat, Fri) = 0, so Sat + 0 = Sat.
      if (calendar.is_working_day(e) && (e >= d || calendar.is_working_day(d))) {
        ASSERT_EQ(calendar.add_working_days(d, between), e) << format_iso(d) << " " << format_iso(e);
      }
    }
    for (int n = -30; n <= 30; ++n)
      ASSERT_EQ(calendar.add_working_days(d, n), step_by_loop(calendar, d, n)) << format_iso(d) << " " << n;
  }
}

TEST(ExtraNonWorkingDays, AddToWeekendsAndBankHolidays) {
  std::vector<Day> days = Calendar::england_and_wales_bank_holidays();
  // Office closure between Christmas and New Year, given unsorted with a duplicate and a Saturday.
  days.insert(days.end(), {ymd(2017, 12, 28), ymd(2017, 12, 27), ymd(2017, 12, 28), ymd(2017, 12, 30)});
  const Calendar calendar(days);
  EXPECT_TRUE(std::is_sorted(calendar.non_working_days().begin(), calendar.non_working_days().end()));
  EXPECT_EQ(calendar.non_working_days().size(), Calendar::england_and_wales_bank_holidays().size() + 3);
  EXPECT_EQ(calendar.add_working_days(ymd(2017, 12, 22), 1), ymd(2017, 12, 29));
  EXPECT_EQ(calendar.add_working_days(ymd(2017, 12, 29), -1), ymd(2017, 12, 22));
  EXPECT_EQ(calendar.add_working_days(ymd(2017, 12, 27), 1), ymd(2017, 12, 29));
  EXPECT_EQ(calendar.working_days_between(ymd(2017, 12, 22), ymd(2018, 1, 2)), 2);
  EXPECT_FALSE(calendar.is_working_day(ymd(2017, 12, 27)));
}

TEST(PlainCalendar, WeekendsOnly) {
  const Calendar calendar;
  EXPECT_TRUE(calendar.non_working_days().empty());
  EXPECT_TRUE(calendar.is_working_day(ymd(2017, 8, 28)));
  EXPECT_EQ(calendar.add_working_days(ymd(2017, 8, 25), 1), ymd(2017, 8, 28));
  EXPECT_EQ(calendar.add_working_days(ymd(2017, 6, 5), 500000), ymd(2017, 6, 5) + 700000);
  EXPECT_EQ(calendar.add_working_days(ymd(2017, 6, 5), -500000), ymd(2017, 6, 5) - 700000);
  EXPECT_EQ(calendar.working_days_between(ymd(2017, 6, 5), ymd(2017, 6, 5) + 700000), 500000);
}

TEST(OutsideTheTable, AgreesWithLoops) {
  // Closures far outside the table exercise the arithmetic fallback.
  const Calendar calendar({ymd(1949, 12, 29), ymd(1900, 3, 5), ymd(2100, 12, 30), ymd(2101, 1, 3),
                           ymd(2250, 7, 1)});
  for (Day d : {ymd(1949, 12, 20), ymd(1950, 1, 2), ymd(2100, 12, 24), ymd(2101, 1, 1), ymd(1900, 3, 3),
                ymd(2250, 6, 28)}) {
    for (int n = -15; n <= 15; ++n) {
      ASSERT_EQ(calendar.add_working_days(d, n), step_by_loop(calendar, d, n)) << format_iso(d) << " " << n;
      const Day e = d + n;
      ASSERT_EQ(calendar.working_days_between(d, e), count_by_loop(calendar, d, e)) << format_iso(d) << " " << n;
    }
  }
  EXPECT_EQ(calendar.working_days_between(ymd(1900, 3, 2), ymd(1900, 3, 6)), 1);  // Friday to Tuesday
  EXPECT_EQ(calendar.add_working_days(ymd(1900, 3, 2), 1), ymd(1900, 3, 6));
  EXPECT_EQ(calendar.add_working_days(ymd(2250, 7, 2), -1), ymd(2250, 6, 28));  // over a Monday closure
  // Across the whole table and beyond, counting and stepping stay consistent.
  const Day start = ymd(1900, 1, 1);
  for (int n : {1000, 50000, 100000, -1000, -50000}) {
    const Day end = calendar.add_working_days(start, n);
    EXPECT_EQ(calendar.working_days_between(start, end), n) << n;
  }
}

TEST(OutsideTheTable, HugeStepsGiveNoDate) {
  const Calendar calendar(Calendar::england_and_wales_bank_holidays());
  const int max = std::numeric_limits<int>::max(), min = std::numeric_limits<int>::min();
  EXPECT_EQ(calendar.add_working_days(ymd(2017, 6, 2), max), kNullDay);
  EXPECT_EQ(calendar.add_working_days(ymd(2017, 6, 2), min), kNullDay);
  EXPECT_EQ(calendar.add_working_days(kNullDay, 5), kNullDay);
  const Day far = calendar.add_working_days(ymd(2017, 6, 2), 1'000'000'000);
  EXPECT_NE(far, kNullDay);
  EXPECT_EQ(calendar.working_days_between(ymd(2017, 6, 2), far), 1'000'000'000);
}

}  // namespace
}  // namespace casewatch

namespace casewatch {
namespace {

// The CIN census checks as data-to-insight's open csc-validator-be-cin implements them (rules
// 8670Q and 8675Q): a start S is late on the reference date D when S is before
// D - CustomBusinessDay(N - 1), pandas' step back over N - 1 business days (England and Wales
// holidays), whose first step lands on the business day before D whether or not D is one.
// Written here by stepping, independently of Calendar.
Day census_latest_start(Day reference, int n, const std::set<Day>& holidays) {
  Day d = reference;
  for (int steps = n - 1; steps > 0;) {
    --d;
    if (weekday(d) < 5 && !holidays.count(d)) --steps;
  }
  return d;
}

TEST(CensusCount, CensusCountIsOneWorkingDayLessForEveryStartDay) {
  const std::vector<Day> list = Calendar::england_and_wales_bank_holidays();
  const std::set<Day> holidays(list.begin(), list.end());
  const Calendar calendar(list);
  for (int n : {10, 15, 25, 45}) {
    for (Day reference = ymd(2021, 1, 1); reference <= ymd(2022, 12, 31); ++reference) {
      const Day latest = census_latest_start(reference, n, holidays);
      for (Day start = reference - 100; start <= reference; ++start) {
        const bool census_late = start < latest;
        // Overdue in casewatch with due_in = "N-1 working days": D > due.
        const bool casewatch_late = reference > calendar.add_working_days(start, n - 1);
        ASSERT_EQ(census_late, casewatch_late)
            << "N " << n << ", start " << format_iso(start) << ", reference date " << format_iso(reference);
      }
    }
  }
  // With due_in = N the two differ by a day for a weekend start too: a Saturday 3 June 2017
  // referral is due on Friday 16 June for casewatch, Thursday 15 June for the census.
  EXPECT_EQ(calendar.add_working_days(ymd(2017, 6, 3), 10), ymd(2017, 6, 16));
  EXPECT_TRUE(ymd(2017, 6, 3) < census_latest_start(ymd(2017, 6, 16), 10, holidays));
  EXPECT_FALSE(ymd(2017, 6, 16) > calendar.add_working_days(ymd(2017, 6, 3), 10));
}

}  // namespace
}  // namespace casewatch
