#include "rules/date.h"

#include <gtest/gtest.h>

namespace casewatch {
namespace {

Day ymd(int y, unsigned m, unsigned d) { return days_from_civil(y, m, d); }

TEST(Date, KnownDayNumbers) {
  EXPECT_EQ(ymd(1970, 1, 1), 0);
  EXPECT_EQ(ymd(1969, 12, 31), -1);
  EXPECT_EQ(ymd(2000, 1, 1), 10957);
  EXPECT_EQ(ymd(2000, 3, 1), 10957 + 31 + 29);
  EXPECT_EQ(ymd(2017, 6, 2), 17319);
}

TEST(Date, CivilRoundTripOverWideRange) {
  // Every day from 1600 to 2400, checking each is the day after the one before.
  CivilDate previous = civil_from_days(ymd(1599, 12, 31));
  for (Day d = ymd(1600, 1, 1); d <= ymd(2400, 12, 31); ++d) {
    const CivilDate c = civil_from_days(d);
    ASSERT_TRUE(is_valid_civil(c.year, c.month, c.day)) << d;
    ASSERT_EQ(days_from_civil(c.year, c.month, c.day), d);
    if (c.day == 1) {
      ASSERT_EQ(previous.day, days_in_month(previous.year, previous.month));
      ASSERT_EQ(c.month, previous.month % 12 + 1);
      ASSERT_EQ(c.year, previous.year + (c.month == 1));
    } else {
      ASSERT_EQ(c.day, previous.day + 1);
      ASSERT_EQ(c.month, previous.month);
      ASSERT_EQ(c.year, previous.year);
    }
    previous = c;
  }
  // Sparse checks far out, negative years included.
  for (int year : {-100000, -4713, -1, 0, 1, 9999, 100000}) {
    for (unsigned month : {1u, 2u, 12u}) {
      const unsigned last = days_in_month(year, month);
      const CivilDate c = civil_from_days(ymd(year, month, last));
      EXPECT_EQ(c.year, year);
      EXPECT_EQ(c.month, month);
      EXPECT_EQ(c.day, last);
    }
  }
}

TEST(Date, Validity) {
  EXPECT_TRUE(is_valid_civil(2016, 2, 29));
  EXPECT_FALSE(is_valid_civil(2017, 2, 29));
  EXPECT_FALSE(is_valid_civil(1900, 2, 29));
  EXPECT_TRUE(is_valid_civil(2000, 2, 29));
  EXPECT_FALSE(is_valid_civil(2017, 0, 1));
  EXPECT_FALSE(is_valid_civil(2017, 13, 1));
  EXPECT_FALSE(is_valid_civil(2017, 1, 0));
  EXPECT_FALSE(is_valid_civil(2017, 4, 31));
  EXPECT_EQ(days_in_month(2017, 2), 28u);
  EXPECT_EQ(days_in_month(2016, 2), 29u);
  EXPECT_EQ(days_in_month(2017, 12), 31u);
}

TEST(Date, Weekday) {
  EXPECT_EQ(weekday(ymd(1970, 1, 1)), 3);  // Thursday
  EXPECT_EQ(weekday(ymd(2017, 6, 2)), 4);  // Friday
  EXPECT_EQ(weekday(ymd(2017, 6, 4)), 6);  // Sunday
  EXPECT_EQ(weekday(ymd(1969, 12, 29)), 0);  // Monday, before the epoch
  EXPECT_EQ(weekday(ymd(1900, 1, 1)), 0);
}

TEST(Date, AddMonthsClampsToMonthEnd) {
  EXPECT_EQ(add_months(ymd(2017, 1, 31), 1), ymd(2017, 2, 28));
  EXPECT_EQ(add_months(ymd(2016, 1, 31), 1), ymd(2016, 2, 29));
  EXPECT_EQ(add_months(ymd(2017, 3, 31), -1), ymd(2017, 2, 28));
  EXPECT_EQ(add_months(ymd(2017, 3, 31), 1), ymd(2017, 4, 30));
  EXPECT_EQ(add_months(ymd(2017, 6, 14), 0), ymd(2017, 6, 14));
  EXPECT_EQ(add_months(ymd(2017, 6, 14), 6), ymd(2017, 12, 14));
  EXPECT_EQ(add_months(ymd(2017, 6, 14), 7), ymd(2018, 1, 14));
  EXPECT_EQ(add_months(ymd(2017, 1, 14), -1), ymd(2016, 12, 14));
  EXPECT_EQ(add_months(ymd(2017, 6, 14), -18), ymd(2015, 12, 14));
  EXPECT_EQ(add_months(ymd(2016, 2, 29), 12), ymd(2017, 2, 28));
  EXPECT_EQ(add_months(ymd(2016, 2, 29), 48), ymd(2020, 2, 29));
  EXPECT_EQ(add_months(ymd(1970, 1, 31), -1), ymd(1969, 12, 31));
  EXPECT_EQ(add_months(ymd(2017, 6, 14), 2'000'000'000), kNullDay);  // past what a Day holds
  EXPECT_EQ(add_months(kNullDay, 1), kNullDay);
}

TEST(Date, FormatIso) {
  EXPECT_EQ(format_iso(ymd(2017, 6, 2)), "2017-06-02");
  EXPECT_EQ(format_iso(0), "1970-01-01");
  EXPECT_EQ(format_iso(ymd(999, 12, 31)), "0999-12-31");
}

TEST(Date, FormatDate) {
  const Day d = ymd(2017, 6, 2);
  EXPECT_EQ(format_date(d, "%d/%m/%Y"), "02/06/2017");
  EXPECT_EQ(format_date(d, "%e %B %Y"), " 2 June 2017");
  EXPECT_EQ(format_date(d, "%a %d %b %y"), "Fri 02 Jun 17");
  EXPECT_EQ(format_date(d, "%A"), "Friday");
  EXPECT_EQ(format_date(d, "%j"), "153");
  EXPECT_EQ(format_date(ymd(2016, 12, 31), "%j"), "366");
  EXPECT_EQ(format_date(ymd(2005, 1, 1), "%y %j"), "05 001");
  EXPECT_EQ(format_date(d, "100%% on %d"), "100% on 02");
  EXPECT_EQ(format_date(d, "%q %"), "%q %");  // unknown directives and a lone % are copied
  EXPECT_EQ(format_date(d, ""), "");
}

TEST(Date, ParseIsoIsStrict) {
  EXPECT_EQ(parse_iso_date("2017-06-02"), ymd(2017, 6, 2));
  EXPECT_EQ(parse_iso_date("2016-02-29"), ymd(2016, 2, 29));
  for (const char* bad : {"", "2017-6-2", "2017-06-2", "17-06-02", " 2017-06-02", "2017-06-02 ",
                          "2017-06-02T00:00", "2017-02-29", "2017-13-01", "2017/06/02", "20170602",
                          "2017-06-0a", "+2017-06-02"})
    EXPECT_FALSE(parse_iso_date(bad)) << bad;
}

TEST(DateParser, DayMonthYear) {
  const DateParser parser("%d/%m/%Y");
  const Day expected = ymd(2017, 6, 2);
  for (const char* text : {"02/06/2017", "2/6/2017", "02/6/2017", "2017-06-02", "02/06/2017 14:30",
                           "02/06/2017 14:30:00", "2017-06-02T14:30:00Z", "2017-06-02T14:30:00.123+01:00",
                           "2017-06-02 14:30", "  02/06/2017  ", "\t02/06/2017\r\n", "02/06/2017T09:05",
                           "02/06/2017 9:05", "2017-06-02T14:30:00-0500", "2017-06-02T14:30:00+01",
                           "2017-06-02t14:30:00z"})
    EXPECT_EQ(parser.parse(text), expected) << text;
  EXPECT_EQ(parser.parse("31/12/1999"), ymd(1999, 12, 31));
  EXPECT_EQ(parser.parse("29/02/2016"), ymd(2016, 2, 29));
}

// %d/%m/%Y reads its usual ten-character cells at fixed places; %e/%m/%Y reads the same cells the
// general way (on trimmed text %e is %d). Over random cells of ten and more characters, near dates
// and not, the two must read the same day or refuse alike.
TEST(DateParser, TheFixedPlaceDayMonthYearPathReadsAsTheGeneralOne) {
  DateParser fast("%d/%m/%Y"), general("%e/%m/%Y");
  DateParser fast_dots("%d.%m.%Y"), general_dots("%e.%m.%Y");
  uint64_t state = 12345;
  auto next = [&] {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<unsigned>(state >> 33);
  };
  const std::string alphabet = "0123456789/.- T:";
  const std::string templates[] = {"29/02/2016", "31/12/1999", "01/01/2017", "2017-06-02", "30/04/2023"};
  for (int i = 0; i < 200000; ++i) {
    std::string text = templates[next() % 5];
    for (unsigned changes = next() % 4; changes > 0; --changes) text[next() % text.size()] = alphabet[next() % alphabet.size()];
    if (next() % 8 == 0) text += next() % 2 ? " 09:30" : "T25:00";
    ASSERT_EQ(fast.parse(text), general.parse(text)) << "'" << text << "'";
    ASSERT_EQ(fast_dots.parse(text), general_dots.parse(text)) << "'" << text << "'";
  }
  EXPECT_EQ(fast.parse("29/02/2016"), ymd(2016, 2, 29));
  EXPECT_EQ(fast.parse("29/02/2017"), std::nullopt);
  EXPECT_EQ(fast.parse(" 02/06/2017 "), ymd(2017, 6, 2));
}

TEST(DateParser, Rejects) {
  const DateParser parser("%d/%m/%Y");
  for (const char* text : {"31/02/2017", "29/02/2017", "00/06/2017", "02/00/2017", "02/13/2017", "", "   ",
                           "abc", "02/06/17x", "02/06/17", "02/06/20170", "02-06-2017", "002/06/2017",
                           "02/06/2017x", "02/06/2017 25:00", "02/06/2017 14:3", "02/06/2017 14:30:61",
                           "02/06/2017T", "02/06/2017 14:30 extra", "2017-06-02T14:30:00+1", "2017-06-02Z",
                           "2017-06-02T14:30:00.", "2017-6-2", "06/02/2017/"})
    EXPECT_FALSE(parser.parse(text)) << '"' << text << '"';
}

TEST(DateParser, TwoDigitYearPivotsAt70) {
  const DateParser parser("%d/%m/%y");
  EXPECT_EQ(parser.parse("02/06/17"), ymd(2017, 6, 2));
  EXPECT_EQ(parser.parse("02/06/69"), ymd(2069, 6, 2));
  EXPECT_EQ(parser.parse("02/06/70"), ymd(1970, 6, 2));
  EXPECT_EQ(parser.parse("02/06/99 23:59"), ymd(1999, 6, 2));
  EXPECT_FALSE(parser.parse("02/06/2017"));
  EXPECT_FALSE(parser.parse("02/06/7"));
}

TEST(DateParser, MonthNames) {
  const DateParser parser("%d %b %Y");
  EXPECT_EQ(parser.parse("2 Jun 2017"), ymd(2017, 6, 2));
  EXPECT_EQ(parser.parse("02 JUNE 2017"), ymd(2017, 6, 2));
  EXPECT_EQ(parser.parse("19 Sept 2022"), ymd(2022, 9, 19));
  EXPECT_EQ(parser.parse("19 sep 2022"), ymd(2022, 9, 19));
  EXPECT_EQ(parser.parse("1  may   2020 10:00"), ymd(2020, 5, 1));  // a format space matches a run
  EXPECT_FALSE(parser.parse("2 Jum 2017"));
  EXPECT_FALSE(parser.parse("2Jun 2017"));
  const DateParser full("%B %e, %Y");
  EXPECT_EQ(full.parse("December  5, 2017"), ymd(2017, 12, 5));
  EXPECT_EQ(full.parse("Dec 25, 2017"), ymd(2017, 12, 25));
  const DateParser dashed("%d-%b-%y");
  EXPECT_EQ(dashed.parse("02-Jun-17"), ymd(2017, 6, 2));
}

TEST(DateParser, OtherOrdersAndLiterals) {
  EXPECT_EQ(DateParser("%m/%d/%Y").parse("6/2/2017"), ymd(2017, 6, 2));
  EXPECT_EQ(DateParser("%Y%m%d").parse("20170602"), ymd(2017, 6, 2));
  EXPECT_EQ(DateParser("%d.%m.%Y").parse("02.06.2017"), ymd(2017, 6, 2));
  EXPECT_EQ(DateParser("%%%d/%m/%Y").parse("%02/06/2017"), ymd(2017, 6, 2));
  EXPECT_EQ(DateParser(" %d/%m/%Y ").parse("02/06/2017"), ymd(2017, 6, 2));
}

TEST(DateParser, EmptyOrInvalidFormatMeansIsoOnly) {
  for (const char* format : {"", "%d/%q/%Y", "%d/%m"}) {
    const DateParser parser(format);
    EXPECT_EQ(parser.format(), format);
    EXPECT_EQ(parser.parse("2017-06-02"), ymd(2017, 6, 2)) << format;
    EXPECT_EQ(parser.parse(" 2017-06-02 14:30 "), ymd(2017, 6, 2)) << format;
    EXPECT_FALSE(parser.parse("02/06/2017")) << format;
  }
}

TEST(DateFormat, Validate) {
  for (const char* good : {"", "%d/%m/%Y", "%e %B %Y", "%Y-%m-%d", "%d-%b-%y", "%%%d%m%Y"})
    EXPECT_EQ(validate_date_format(good), "") << good;
  for (const char* bad : {"%d/%q/%Y", "%d/%m", "%m/%Y", "%d/%Y", "%d/%m/%Y%", "%d/%d/%m/%Y",
                          "%d/%m/%b/%Y", "%d/%m/%Y/%y", "%a %d/%m/%Y", "abc"}) {
    const std::string error = validate_date_format(bad);
    EXPECT_NE(error, "") << bad;
    EXPECT_NE(error.find(bad), std::string::npos) << error;
  }
}

}  // namespace
}  // namespace casewatch
