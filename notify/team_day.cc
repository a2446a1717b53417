#include "notify/team_day.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <map>
#include <tuple>
#include <vector>
#include <sstream>
#include <set>

#include "config/as_of.h"
#include "notify/receivers/common.h"
#include "rules/date.h"

namespace casewatch {

std::string local_time(int64_t seconds, const std::string& timezone) {
  if (seconds <= 0) return "never";
  AsOf local = as_of_instant(seconds, timezone);
  int64_t clock = ((seconds + local.utc_offset_seconds) % 86400 + 86400) % 86400;
  char hhmm[8];
  std::snprintf(hhmm, sizeof hhmm, "%02d:%02d", static_cast<int>(clock / 3600), static_cast<int>(clock / 60 % 60));
  return format_uk_date(local.day) + " " + hhmm;
}

std::string format_uk_date(Day day) { return day == kNullDay ? "" : format_date(day, "%d/%m/%Y"); }

std::string rule_title(std::string_view rule_name, const RuleTitles* titles) {
  if (titles)
    if (auto it = titles->find(rule_name); it != titles->end()) return it->second;
  std::string rule(rule_name);
  if (rule.starts_with("kpi_")) rule = rule.substr(4);
  const bool authority = rule.ends_with("_authority");
  if (authority) rule = rule.substr(0, rule.size() - 10);
  // Initialisms of children's social care, as people write them.
  static const std::set<std::string> kInitialisms = {"cin", "cp", "cla", "lac", "neet", "ehcp", "iha", "rha",
                                                     "mash", "pep", "uasc", "dfe", "sw", "sgo", "lado"};
  std::vector<std::string> words;
  std::string word;
  std::istringstream in(rule);
  while (std::getline(in, word, '_'))
    if (!word.empty()) words.push_back(word);
  std::string out;
  for (size_t i = 0; i < words.size(); ++i) {
    std::string w = words[i];
    if (kInitialisms.count(w)) std::transform(w.begin(), w.end(), w.begin(), [](unsigned char c) { return std::toupper(c); });
    if (out.empty() && !w.empty()) w[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(w[0])));
    out += w;
    // "re_referral" is "re-referral"; "pre_birth", "pre-birth".
    if (i + 1 < words.size()) out += (words[i] == "re" || words[i] == "pre" || words[i] == "non") ? "-" : " ";
  }
  return authority ? out + " (authority)" : out;
}


namespace {

const MessageTemplates& wording(const DayContext& c) {
  return c.templates ? *c.templates : *MessageTemplates::defaults();
}

std::string phrase(const DayContext& c, Phrase p, std::initializer_list<Value> values) {
  return wording(c).render(p, values, c.today, *c.calendar);
}

Urgency urgency_of(const Alert& a, Day today) {
  if (a.due_date != kNullDay) {
    if (a.due_date < today) return Urgency::Overdue;
    if (a.due_date == today) return Urgency::DueToday;
    if (a.due_date <= today + kThisWeekDays) return Urgency::DueThisWeek;
    return Urgency::Later;
  }
  return a.value ? Urgency::Measure : Urgency::Other;
}

int severity_rank(Severity s) { return s == Severity::Critical ? 0 : s == Severity::Warning ? 1 : 2; }

bool more_urgent(const DayItem& x, const DayItem& y) {
  // kNullDay sorts after every date.
  auto due = [](const DayItem& i) { return i.alert->due_date == kNullDay ? INT32_MAX : i.alert->due_date; };
  return std::make_tuple(due(x), severity_rank(x.alert->severity), std::string_view(x.alert->rule), std::string_view(x.alert->key)) <
         std::make_tuple(due(y), severity_rank(y.alert->severity), std::string_view(y.alert->rule), std::string_view(y.alert->key));
}

// "4 overdue, 3 due this week" from the counts that are not 0.
std::string counts_text(const DayContext& c, size_t overdue, size_t today, size_t week, size_t later, size_t measures,
                        size_t others, size_t resolved, size_t acknowledged = 0) {
  std::vector<std::string> parts;
  auto n = [](size_t v) { return Value::of_number(static_cast<double>(v)); };
  if (overdue) parts.push_back(phrase(c, Phrase::CountOverdue, {n(overdue)}));
  if (today) parts.push_back(phrase(c, Phrase::CountDueToday, {n(today)}));
  if (week) parts.push_back(phrase(c, Phrase::CountDueThisWeek, {n(week)}));
  if (later) parts.push_back(phrase(c, Phrase::CountLater, {n(later)}));
  if (measures) parts.push_back(phrase(c, measures == 1 ? Phrase::CountMeasuresOne : Phrase::CountMeasures, {n(measures)}));
  if (others) parts.push_back(phrase(c, others == 1 ? Phrase::CountOthersOne : Phrase::CountOthers, {n(others)}));
  if (resolved) parts.push_back(phrase(c, Phrase::CountResolved, {n(resolved)}));
  if (acknowledged) parts.push_back(phrase(c, Phrase::CountAcknowledged, {n(acknowledged)}));
  if (parts.empty()) return phrase(c, Phrase::CountNothing, {n(0)});
  std::string out;
  for (const std::string& p : parts) out += (out.empty() ? "" : ", ") + p;
  return out;
}

}  // namespace

std::string due_wording(Day due, const DayContext& c) {
  const Calendar& calendar = *c.calendar;
  Day today = c.today;
  auto n = [](int v) { return Value::of_number(v); };
  Value due_value = Value::of_date(due);
  if (due < today) {
    int late = calendar.working_days_between(due, today);
    if (late <= 0) return phrase(c, Phrase::TimingOverdueSince, {n(0), due_value});
    return phrase(c, late == 1 ? Phrase::TimingOverdueOne : Phrase::TimingOverdue, {n(late), due_value});
  }
  if (due == today) return phrase(c, Phrase::TimingDueToday, {n(0), due_value});
  if (due == today + 1) return phrase(c, Phrase::TimingDueTomorrow, {n(1), due_value});
  int left = calendar.working_days_between(today, due);
  if (left <= 0) return phrase(c, Phrase::TimingDueOn, {n(0), due_value});
  return phrase(c, left == 1 ? Phrase::TimingDueInOne : Phrase::TimingDueIn, {n(left), due_value});
}

std::vector<const DayItem*> TeamDay::firing() const {
  std::vector<const DayItem*> out;
  for (const auto* list : {&timescales, &measures, &others})
    for (const DayItem& item : *list) out.push_back(&item);
  return out;
}

TeamDay make_team_day(std::string group, std::string team, std::span<const DayEntry> entries, const DayContext& c) {
  TeamDay day;
  day.group = std::move(group);
  day.team = std::move(team);
  std::string base = receiver_text::without_trailing_slash(c.base_url);
  day.page_link = day.team.empty() ? base + "/" : base + "/team?name=" + receiver_text::percent_encode(day.team);

  // In a group's first message everything is new: marking each says nothing.
  bool all_new = std::all_of(entries.begin(), entries.end(),
                             [](const DayEntry& e) { return e.is_new || e.resolved || e.only_acknowledged; });
  for (const DayEntry& e : entries) {
    const Alert& a = *e.alert;
    DayItem item;
    item.alert = &a;
    item.urgency = urgency_of(a, c.today);
    item.resolved = e.resolved;
    item.is_new = e.is_new && !all_new;
    item.title = rule_title(a.rule, c.titles);
    std::string summary(a.annotations().value_or_empty("summary"));
    item.what = receiver_text::one_line(summary.empty() ? item.title + " " + a.key : summary);
    item.timing = a.due_date == kNullDay || e.resolved ? "" : due_wording(a.due_date, c);  // done: no longer due
    item.worker = std::string(a.labels().value_or_empty("worker"));
    item.link = base + "/alerts/" + receiver_text::percent_encode(a.fingerprint);
    if (e.acknowledged)
      item.acknowledged = phrase(c, Phrase::ItemAcknowledged,
                                 {Value::of_string(e.acknowledged->created_by),
                                  Value::of_string(local_time(e.acknowledged->created_at, c.timezone)),
                                  Value::of_string(e.acknowledged->comment)});
    std::string severity(severity_name(a.severity));
    std::initializer_list<Value> variables = {Value::of_string(item.what),   Value::of_string(item.title),
                                              Value::of_string(item.timing), Value::of_string(item.worker),
                                              Value::of_string(severity),    Value::of_bool(item.is_new)};
    if (e.resolved) {
      item.line = phrase(c, Phrase::ItemResolved, variables);
      day.resolved.push_back(std::move(item));
      continue;
    }
    if (e.only_acknowledged) {
      item.line = phrase(c, Phrase::ItemLine, variables);
      day.acknowledged.push_back(std::move(item));
      continue;
    }
    switch (item.urgency) {
      case Urgency::Overdue: ++day.overdue; break;
      case Urgency::DueToday: ++day.due_today; break;
      case Urgency::DueThisWeek: ++day.due_this_week; break;
      case Urgency::Later: ++day.later; break;
      default: break;
    }
    if (item.urgency == Urgency::Measure) {
      item.line = phrase(c, Phrase::ItemMeasure,
                         {Value::of_string(item.what), Value::of_string(item.title), Value::of_string(item.timing),
                          Value::of_string(item.worker), Value::of_string(severity), Value::of_bool(item.is_new),
                          a.value ? Value::of_number(*a.value) : Value::null()});
      day.measures.push_back(std::move(item));
    } else {
      item.line = phrase(c, Phrase::ItemLine, variables);
      (item.urgency == Urgency::Other ? day.others : day.timescales).push_back(std::move(item));
    }
  }
  for (auto* list : {&day.timescales, &day.measures, &day.others, &day.resolved, &day.acknowledged})
    std::stable_sort(list->begin(), list->end(), more_urgent);

  // By worker: each worker's items in order; the worker with the most urgent item first.
  // A group of several teams (grouped by rule, say) names each worker's team too.
  std::map<std::pair<std::string, std::string>, size_t> index;
  for (size_t i = 0; i < day.timescales.size(); ++i) {
    const DayItem& item = day.timescales[i];
    std::string team = day.team.empty() ? std::string(item.alert->labels().value_or_empty("team")) : "";
    auto [it, inserted] = index.emplace(std::pair{item.worker, team}, day.workers.size());
    if (inserted) day.workers.push_back({item.worker, "", {}, 0, team});
    WorkerDay& w = day.workers[it->second];
    w.items.push_back(i);
    if (item.urgency == Urgency::Overdue) ++w.overdue;
  }
  for (WorkerDay& w : day.workers) {
    size_t counts[4] = {0, 0, 0, 0};
    for (size_t i : w.items) ++counts[static_cast<int>(day.timescales[i].urgency)];
    std::string name = w.worker.empty() ? phrase(c, Phrase::NotAllocated, {}) : w.worker;
    if (!w.team.empty()) name += " \u2014 " + w.team;
    w.heading = phrase(c, Phrase::WorkerHeading,
                       {Value::of_string(name), Value::of_string(counts_text(c, counts[0], counts[1], counts[2], counts[3], 0, 0, 0))});
  }

  day.counts = counts_text(c, day.overdue, day.due_today, day.due_this_week, day.later, day.measures.size(),
                           day.others.size(), day.resolved.size(), day.acknowledged.size());
  size_t count = entries.size();
  std::initializer_list<Value> message = {Value::of_string(day.group), Value::of_string(day.counts),
                                          Value::of_number(static_cast<double>(count)), Value::of_bool(c.digest)};
  day.subject = receiver_text::one_line(phrase(c, c.digest ? Phrase::DigestSubject : Phrase::Subject, message));
  if (day.subject.empty()) day.subject = "casewatch: " + day.group;  // a wording that says nothing still names it
  day.intro = phrase(c, c.digest ? Phrase::DigestIntro : Phrase::Intro, message);
  return day;
}

}  // namespace casewatch
