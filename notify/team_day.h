// "The team's day": what a group of alerts means to the manager who reads it, most urgent first,
// in plain words from the working-day calendar. One model for the team page, the email, the Teams
// card, the Slack message and the digest, so they never disagree on order or wording. Pure: the
// alerts, the local date and the wording in; the day out. Thread-safe.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "config/message_templates.h"
#include "config/routing.h"
#include "notify/alerts.h"
#include "notify/silences.h"
#include "rules/calendar.h"

namespace casewatch {

// `seconds` as "14/06/2017 09:00" in `timezone`; "never" for 0.
std::string local_time(int64_t seconds, const std::string& timezone);
std::string format_uk_date(Day day);  // "14/06/2017"; "" for no date

// The rule's name for a person: its `title`, else its name in words, initialisms as people write
// them ("kpi_re_referral_rate" -> "Re-referral rate", "kpi_cin_plans_on_time_authority" -> "CIN
// plans on time (authority)").
std::string rule_title(std::string_view rule, const RuleTitles* titles);

enum class Urgency { Overdue, DueToday, DueThisWeek, Later, Measure, Other };
inline constexpr Day kThisWeekDays = 7;  // "due this week": after today, within the next 7 days

// One alert of the group.
struct DayEntry {
  const Alert* alert = nullptr;
  bool resolved = false;
  bool is_new = false;
  const Ack* acknowledged = nullptr;
  // Not firing in this message: listed only to say who acknowledged it since the last one.
  bool only_acknowledged = false;
};

struct DayItem {
  const Alert* alert = nullptr;
  Urgency urgency = Urgency::Other;
  bool resolved = false;
  bool is_new = false;
  std::string title;         // the rule's
  std::string what;          // its summary, else the title and key
  std::string timing;        // "overdue by 6 working days"; "" without a due date
  std::string worker;        // its `worker` label; "" when none
  std::string link;          // its alert page
  std::string acknowledged;  // "acknowledged by alice at 07/12/2026 09:15"; "" when not
  std::string line;          // the whole item in one line (item.line, item.measure or item.resolved)
};

struct WorkerDay {
  std::string worker;                // "" when not allocated
  std::string heading;               // "Sam Patel (2 overdue, 1 due this week)"
  std::vector<size_t> items;         // indices into TeamDay::timescales, most urgent first
  size_t overdue = 0;
  std::string team;                  // its team, when the group is not one team's
};

struct TeamDay {
  std::string group;      // what it is about: the team, the rule's title, or the group's labels
  std::string team;       // the team, when the group is one team's
  std::string page_link;  // the team's page, else the status page
  std::string counts;     // "4 overdue, 3 due this week"
  std::string subject;    // message.subject (or digest_subject)
  std::string intro;
  size_t overdue = 0, due_today = 0, due_this_week = 0, later = 0;
  std::vector<DayItem> timescales;  // firing alerts with a due date, most urgent first
  std::vector<WorkerDay> workers;   // the timescales by worker, the most urgent worker first
  std::vector<DayItem> measures;    // firing alerts with a value (aggregate rules)
  std::vector<DayItem> others;      // firing alerts with neither
  std::vector<DayItem> resolved;
  std::vector<DayItem> acknowledged;  // the entries listed only to say who acknowledged them
  // Every firing item, timescales first (most urgent first), then measures, then the others.
  std::vector<const DayItem*> firing() const;
};

struct DayContext {
  Day today = kNullDay;                      // the local date
  const Calendar* calendar = nullptr;
  std::string timezone = "Europe/London";    // for times shown
  std::string base_url;                      // links: base_url + "/team?name=..."; "" for relative ones
  const MessageTemplates* templates = nullptr;  // null: the built-in wording
  const RuleTitles* titles = nullptr;           // the rules' titles
  bool digest = false;
};

// Most urgent first: the earliest due date (so the most overdue), then critical before warning
// before info, then by rule and key; items without a due date after those with one.
TeamDay make_team_day(std::string group, std::string team, std::span<const DayEntry> entries,
                      const DayContext& context);

// The timing phrase of a due date: "overdue by 2 working days", "due today", "due tomorrow",
// "due in 3 working days (Thursday)".
std::string due_wording(Day due, const DayContext& context);

}  // namespace casewatch
