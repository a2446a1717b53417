// The pages' words and times: what a manager reads must be right on every day of the week.
#include <gtest/gtest.h>

#include "web/pages.h"
#include "integrations/html.h"
#include "rules/calendar.h"
#include "rules/date.h"

namespace casewatch {
namespace {

Day ymd(int y, unsigned m, unsigned d) { return days_from_civil(y, m, d); }

// Text from a query string or an extract goes into HTML: markup escaped, control bytes (a NUL
// from "?name=%00") and bytes that are not UTF-8 shown as U+FFFD.
TEST(HtmlEscape, MarkupIsEscapedAndControlBytesReplaced) {
  EXPECT_EQ(html_escape("<a href=\"x\">Tom & 'Jo'</a>"), "&lt;a href=&quot;x&quot;&gt;Tom &amp; &#39;Jo&#39;&lt;/a&gt;");
  EXPECT_EQ(html_escape(std::string("MASH\0team\x7f\x1b[31m", 15)), "MASH\xEF\xBF\xBDteam\xEF\xBF\xBD\xEF\xBF\xBD[31m");
  EXPECT_EQ(html_escape("line\tone\ntwo\r"), "line\tone\ntwo\r");
  EXPECT_EQ(html_escape("Bad\x81" "Byte"), "Bad\xEF\xBF\xBD" "Byte");
}

TEST(Pages, DueWordingCountsWorkingDays) {
  const Calendar calendar(Calendar::england_and_wales_bank_holidays());
  const Day wednesday = ymd(2017, 6, 14);
  EXPECT_EQ(due_wording(wednesday, DayContext{wednesday, &calendar}), "due today");
  EXPECT_EQ(due_wording(ymd(2017, 6, 15), DayContext{wednesday, &calendar}), "due tomorrow");
  EXPECT_EQ(due_wording(ymd(2017, 6, 16), DayContext{wednesday, &calendar}), "due in 2 working days (Friday)");
  EXPECT_EQ(due_wording(ymd(2017, 6, 19), DayContext{wednesday, &calendar}), "due in 3 working days (Monday)");
  EXPECT_EQ(due_wording(ymd(2017, 6, 13), DayContext{wednesday, &calendar}), "overdue by 1 working day");
  EXPECT_EQ(due_wording(ymd(2017, 6, 12), DayContext{wednesday, &calendar}), "overdue by 2 working days");
  // Over the late May bank holiday: Friday 26 May to Wednesday 31 May is 2 working days.
  EXPECT_EQ(due_wording(ymd(2017, 5, 26), DayContext{ymd(2017, 5, 31), &calendar}), "overdue by 2 working days");
  // Due at a weekend: Sunday from Friday, and seen on the Sunday itself a day late.
  const Day friday = ymd(2017, 6, 16);
  EXPECT_EQ(due_wording(ymd(2017, 6, 17), DayContext{friday, &calendar}), "due tomorrow");
  EXPECT_EQ(due_wording(ymd(2017, 6, 18), DayContext{friday, &calendar}), "due on Sunday");
  EXPECT_EQ(due_wording(ymd(2017, 6, 17), DayContext{ymd(2017, 6, 18), &calendar}), "overdue since 17/06/2017");
  EXPECT_EQ(due_wording(ymd(2017, 6, 17), DayContext{ymd(2017, 6, 19), &calendar}), "overdue by 1 working day");
}

TEST(Pages, TimesAreShownInTheEngineTimezone) {
  // 2017-06-14T08:00:00Z is 09:00 in London (BST); 2017-12-14T09:00:00Z is 09:00 (GMT).
  EXPECT_EQ(local_time(1497427200, "Europe/London"), "14/06/2017 09:00");
  EXPECT_EQ(local_time(1513242000, "Europe/London"), "14/12/2017 09:00");
  EXPECT_EQ(local_time(1497427200, "UTC"), "14/06/2017 08:00");
  EXPECT_EQ(local_time(0, "Europe/London"), "never");
  EXPECT_EQ(format_uk_date(ymd(2017, 6, 4)), "04/06/2017");
}

// A rule's name as the pages say it: initialisms as people write them, "re-" joined.
TEST(Pages, RuleNamesInWords) {
  EXPECT_EQ(rule_title("kpi_re_referral_rate", nullptr), "Re-referral rate");
  EXPECT_EQ(rule_title("kpi_cin_plans_on_time", nullptr), "CIN plans on time");
  EXPECT_EQ(rule_title("kpi_repeat_cp_plans_authority", nullptr), "Repeat CP plans (authority)");
  EXPECT_EQ(rule_title("kpi_care_leavers_neet", nullptr), "Care leavers NEET");
  EXPECT_EQ(rule_title("assessment_timescale", nullptr), "Assessment timescale");
}

// A tooltip says what the measure is, not where its target is configured.
TEST(Pages, DescriptionsLoseTheirConfigurationSentences) {
  EXPECT_EQ(plain_description("Of the assessments authorised, the share on time.\nStatutory maximum 45 working\n"
                              "days. The floor is in [tables.kpi_floor].", nullptr),
            "Of the assessments authorised, the share on time. Statutory maximum 45 working days.");
  EXPECT_EQ(plain_description("kpi_re_referral_rate for the whole authority.", nullptr),
            "Re-referral rate for the whole authority.");
  EXPECT_EQ(plain_description("The value is `ratio(x)`.", nullptr), "");
}

}  // namespace
}  // namespace casewatch
