// The rule engine (SPEC 5.2-5.6): deadline, condition and aggregate rules compiled with
// compile_rule and evaluated on small tables as of a date.
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <tuple>
#include <string>
#include <vector>

#include "rules/calendar.h"
#include "rules/date.h"
#include "rules/engine.h"
#include "rules/forecast.h"
#include "rules/expr.h"
#include "rules/rule.h"
#include "rules/table.h"

namespace casewatch {
namespace {

Day ymd(int y, unsigned m, unsigned d) { return days_from_civil(y, m, d); }

Period period(const char* text) {
  auto p = parse_period(text);
  EXPECT_TRUE(p.has_value()) << text;
  return p.value_or(Period{});
}

using Labels = StringMap;

// A row of the cases feed, by field name; unset fields are empty (null).
struct Row {
  std::string id = {}, team = {}, worker = {}, hours = {}, referral = {}, authorised = {}, conference = {},
      status = {}, open = {};
};

class EngineBase : public ::testing::Test {
 protected:
  EngineBase() : calendar_(Calendar::england_and_wales_bank_holidays()) {
    auto schema = std::make_shared<Schema>();
    schema->fields = {{"id", Type::String},       {"team", Type::String},       {"worker", Type::String},
                      {"hours", Type::Number},    {"referral", Type::Date},     {"authorised", Type::Date},
                      {"conference", Type::Date}, {"status", Type::String},     {"open", Type::Bool}};
    schema->key = 0;
    schema_ = schema;
    tables_.add("caseload_limit", "Assessment", Value::of_number(2));
    tables_.add("caseload_limit", "Corporate Parenting", Value::of_number(5));
  }

  void set_rows(const std::vector<Row>& rows) {
    TableBuilder builder(schema_, DateParser());
    for (const Row& r : rows) {
      std::vector<std::string_view> cells = {r.id,         r.team,       r.worker, r.hours, r.referral,
                                             r.authorised, r.conference, r.status, r.open};
      auto error = builder.add_row(cells);
      ASSERT_FALSE(error.has_value()) << r.id << ": " << error->message;
    }
    table_ = builder.finish();
  }

  Rule compile(RuleSpec spec) {
    std::vector<RuleError> errors;
    std::string name = spec.name;
    auto rule = compile_rule(std::move(spec), 0, schema_, tables_, errors);
    std::string text;
    for (const auto& e : errors) text += "  " + e.key + "@" + std::to_string(e.offset) + ": " + e.message + "\n";
    EXPECT_TRUE(rule.has_value() && errors.empty()) << "rule " << name << ":\n" << text;
    return rule ? std::move(*rule) : Rule{};
  }

  std::vector<RuleError> compile_errors(RuleSpec spec) {
    std::vector<RuleError> errors;
    auto rule = compile_rule(std::move(spec), 0, schema_, tables_, errors);
    EXPECT_FALSE(rule.has_value());
    return errors;
  }

  // A match with its text rendered while what it was evaluated with is at hand.
  struct RenderedMatch : Match {
    StringMap labels, annotations;
  };
  struct RenderedResult {
    std::vector<RenderedMatch> matches;
    std::vector<GroupValue> values;
  };
  static RenderedResult rendered(const EvaluationInput& input, EvaluationResult result) {
    RenderedResult out;
    for (Match& m : result.matches) {
      MatchText text = match_text(input, m);
      out.matches.push_back({std::move(m), std::move(text.labels), std::move(text.annotations)});
    }
    out.values = std::move(result.values);
    return out;
  }

  RenderedResult evaluate_at(const std::vector<Rule>& rules, Day as_of) {
    const Table* feeds[] = {&table_};
    EvaluationInput input;
    input.rules = rules;
    input.feeds = feeds;
    input.as_of = as_of;
    input.calendar = &calendar_;
    input.tables = &tables_;
    return rendered(input, evaluate(input));
  }
  RenderedResult evaluate_at(const Rule& rule, Day as_of) { return evaluate_at(std::vector<Rule>{rule}, as_of); }

  // The severity of the one match for `key`, or "none".
  std::string severity_at(const Rule& rule, Day as_of, const std::string& key) {
    auto result = evaluate_at(rule, as_of);
    std::string found = "none";
    for (const Match& m : result.matches)
      if (m.key == key) found = std::string(severity_name(m.severity));
    return found;
  }

  static RuleSpec deadline(const std::string& start, const char* due_in, const char* warn_before = nullptr) {
    RuleSpec spec;
    spec.name = "deadline_rule";
    spec.kind = RuleKind::Deadline;
    spec.feed = "cases";
    spec.start = start;
    if (due_in) spec.due_in = period(due_in);
    if (warn_before) spec.warn_before = period(warn_before);
    return spec;
  }
  static RuleSpec condition(const std::string& name, const std::string& when) {
    RuleSpec spec;
    spec.name = name;
    spec.kind = RuleKind::Condition;
    spec.feed = "cases";
    spec.when = when;
    return spec;
  }
  static RuleSpec aggregate(const std::string& value, std::vector<std::string> group_by = {},
                            const std::string& when = "") {
    RuleSpec spec;
    spec.name = "aggregate_rule";
    spec.kind = RuleKind::Aggregate;
    spec.feed = "cases";
    spec.value = value;
    spec.group_by = std::move(group_by);
    spec.when = when;
    return spec;
  }

  std::shared_ptr<const Schema> schema_;
  Table table_;
  LookupTables tables_;
  Calendar calendar_;
};

class EngineDeadline : public EngineBase {};
class EngineCondition : public EngineBase {};
class EngineAggregate : public EngineBase {};
class EngineResults : public EngineBase {};
class EngineCompile : public EngineBase {};

// ---------------------------------------------------------------------------------------------
// deadline

TEST_F(EngineDeadline, DueDayIsAWarningAndTheDayAfterIsCritical) {
  // Referral Fri 18 Aug 2017 + 10 working days = Mon 4 Sep (Mon 28 Aug is a bank holiday);
  // warn 2 working days before: from Thu 31 Aug.
  set_rows({{.id = "C1", .referral = "2017-08-18"}});
  Rule rule = compile(deadline("referral", "10 working days", "2 working days"));
  EXPECT_EQ(severity_at(rule, ymd(2017, 8, 18), "C1"), "none");
  EXPECT_EQ(severity_at(rule, ymd(2017, 8, 30), "C1"), "none");
  EXPECT_EQ(severity_at(rule, ymd(2017, 8, 31), "C1"), "warning");
  EXPECT_EQ(severity_at(rule, ymd(2017, 9, 1), "C1"), "warning");
  EXPECT_EQ(severity_at(rule, ymd(2017, 9, 3), "C1"), "warning");
  EXPECT_EQ(severity_at(rule, ymd(2017, 9, 4), "C1"), "warning");  // the due day itself
  EXPECT_EQ(severity_at(rule, ymd(2017, 9, 5), "C1"), "critical");
  EXPECT_EQ(severity_at(rule, ymd(2018, 9, 5), "C1"), "critical");

  auto result = evaluate_at(rule, ymd(2017, 9, 5));
  ASSERT_EQ(result.matches.size(), 1u);
  const RenderedMatch& m = result.matches[0];
  EXPECT_EQ(m.key, "C1");
  EXPECT_EQ(m.rule, 0u);
  EXPECT_EQ(m.due_date, ymd(2017, 9, 4));
  EXPECT_FALSE(m.value.has_value());
  EXPECT_TRUE(result.values.empty());
}

// A deadline rule whose dates do not move with the as-of date is solved once per snapshot for
// the as-of dates on which each record alerts (kept in an EvaluationCache between evaluations).
// Day by day over three months, with and without a cache, it must say exactly what the same rule
// says when written so that its dates are re-evaluated as of each day.
TEST_F(EngineDeadline, DatesSolvedOncePerSnapshotAgreeDayByDayWithDatesEvaluatedEachDay) {
  set_rows({{.id = "C1", .team = "A", .referral = "2017-05-02"},
            {.id = "C2", .team = "A", .referral = "2017-05-10", .authorised = "2017-05-20"},
            {.id = "C3", .team = "B", .referral = "2017-05-10", .authorised = "2017-05-31"},
            {.id = "C4", .team = "B", .referral = "2017-06-20", .authorised = "2017-06-01"},
            {.id = "C5", .team = "A", .referral = "2017-07-30", .conference = "2017-06-25"},
            {.id = "C6", .team = "B", .conference = "2017-06-12"},
            {.id = "C7", .team = "A", .referral = "2017-05-26", .authorised = "2017-06-09"},
            {.id = "C8"}});
  // `moving(x)` is x, written so that it reads the as-of date and so is re-evaluated each day.
  auto moving = [](const std::string& x) { return "add_days(" + x + ", days_between(today(), today()))"; };
  struct Variant {
    RuleSpec fixed, moving;
  };
  std::vector<Variant> variants;
  {
    RuleSpec a = deadline("referral", "10 working days", "2 working days");
    a.done = "authorised";
    RuleSpec b = deadline(moving("referral"), "10 working days", "2 working days");
    b.done = moving("authorised");
    variants.push_back({a, b});
  }
  {
    RuleSpec a = deadline("referral", "3 weeks");
    a.due = "add_days(conference, -3)";
    a.due_in.reset();
    a.where = "team == 'A' || referral > today()";  // moves with the as-of date: applied each day
    RuleSpec b = a;
    b.start = moving("referral");
    variants.push_back({a, b});
  }
  {
    RuleSpec a = deadline("", "1 month", "5 days");
    a.start.clear();
    a.due = "conference";
    a.due_in.reset();
    a.where = "team == 'B'";  // fixed: applied once, with the dates
    RuleSpec b = a;
    b.due = moving("conference");
    variants.push_back({a, b});
  }
  for (size_t v = 0; v < variants.size(); ++v) {
    for (RuleSpec* spec : {&variants[v].fixed, &variants[v].moving}) {
      spec->labels = {{"team", "{{ team }}"}};
      spec->annotations = {{"summary", "{{ id }} due {{ due_date }}, {{ working_days_remaining }} working days left"}};
    }
    std::vector<Rule> fixed = {compile(variants[v].fixed)}, moving_rules = {compile(variants[v].moving)};
    EvaluationCache cache(1);
    const Table* feeds[] = {&table_};
    for (Day day = ymd(2017, 5, 1); day <= ymd(2017, 7, 31); ++day) {
      EvaluationInput input{fixed, feeds, day, &calendar_, &tables_, &cache};
      RenderedResult cached = rendered(input, evaluate(input));
      RenderedResult fresh = evaluate_at(fixed, day);
      RenderedResult each_day = evaluate_at(moving_rules, day);
      auto describe = [](const RenderedResult& r) {
        std::string text;
        for (const RenderedMatch& m : r.matches) {
          text += m.key + " " + std::string(severity_name(m.severity)) + " " + format_iso(m.due_date);
          for (const auto& [name, value] : m.labels) text.append(" ").append(name).append("=").append(value);
          for (const auto& [name, value] : m.annotations) text.append(" ").append(name).append("=").append(value);
          text += "\n";
        }
        return text;
      };
      ASSERT_EQ(describe(cached), describe(each_day)) << "variant " << v << " as of " << format_iso(day);
      ASSERT_EQ(describe(fresh), describe(each_day)) << "variant " << v << " as of " << format_iso(day);
    }
  }
}

// The cache notices a new snapshot and works its windows out again.
TEST_F(EngineDeadline, ACacheIsRemadeForANewSnapshot) {
  Rule rule = compile(deadline("referral", "10 working days"));
  std::vector<Rule> rules = {rule};
  EvaluationCache cache(1);
  set_rows({{.id = "C1", .referral = "2017-05-02"}});
  const Table* feeds[] = {&table_};
  EvaluationInput input{rules, feeds, ymd(2017, 6, 1), &calendar_, &tables_, &cache};
  ASSERT_EQ(evaluate(input).matches.size(), 1u);
  set_rows({{.id = "C2", .referral = "2017-05-03"}, {.id = "C3", .referral = "2017-05-04"}});
  auto result = evaluate(input);
  ASSERT_EQ(result.matches.size(), 2u);
  EXPECT_EQ(result.matches[0].key, "C2");
}

// The issue that started the differential test: age_years() reads the as-of date, so a deadline
// rule whose `where` uses it cannot have its records chosen once per snapshot.
TEST_F(EngineDeadline, AWhereReadingAgeYearsIsEvaluatedOnEachDay) {
  // `conference` stands in for a date of birth; `authorised` for the date care ceased.
  set_rows({{.id = "C1", .referral = "2017-05-02", .conference = "2012-06-10"},
            {.id = "C2", .referral = "2017-05-02", .conference = "2012-06-20"},
            {.id = "C3", .referral = "2017-05-02", .authorised = "2017-05-20", .conference = "2010-01-01"}});
  RuleSpec spec = deadline("referral", "10 working days");
  spec.where = "authorised == null && age_years(conference) >= 5";
  std::vector<Rule> rules = {compile(spec)};
  const Table* feeds[] = {&table_};
  EvaluationCache cache(1);
  for (EvaluationCache* c : {static_cast<EvaluationCache*>(nullptr), &cache}) {
    EvaluationInput input{rules, feeds, ymd(2017, 6, 14), &calendar_, &tables_, c};
    auto keys = [&] {
      std::vector<std::string> out;
      for (const Match& m : evaluate(input).matches) out.push_back(m.key);
      return out;
    };
    EXPECT_EQ(keys(), (std::vector<std::string>{"C1"}));  // C2 turns 5 on 20 June
    input.as_of = ymd(2017, 6, 20);
    EXPECT_EQ(keys(), (std::vector<std::string>{"C1", "C2"}));
    input.as_of = ymd(2017, 6, 9);
    EXPECT_EQ(keys(), (std::vector<std::string>{}));  // C1 turns 5 on 10 June
  }
}

TEST_F(EngineDeadline, WithoutWarnBeforeNothingBeforeOverdue) {
  set_rows({{.id = "C1", .referral = "2017-08-18"}});
  Rule rule = compile(deadline("referral", "10 working days"));
  EXPECT_EQ(severity_at(rule, ymd(2017, 8, 18), "C1"), "none");
  EXPECT_EQ(severity_at(rule, ymd(2017, 9, 1), "C1"), "none");  // what 10 days would be without the holiday
  EXPECT_EQ(severity_at(rule, ymd(2017, 9, 4), "C1"), "none");
  EXPECT_EQ(severity_at(rule, ymd(2017, 9, 5), "C1"), "critical");
}

TEST_F(EngineDeadline, DueCountsBackFromAConferenceWithoutStart) {
  // Conference Wed 30 Aug 2017; reports due 3 working days before: Thu 24 Aug (Mon 28 Aug is a
  // bank holiday). Warn 1 working day before: from Wed 23 Aug.
  set_rows({{.id = "C1", .conference = "2017-08-30"}, {.id = "C2"}});
  RuleSpec spec = deadline("", nullptr, "1 working day");
  spec.due = "add_working_days(conference, -3)";
  Rule rule = compile(spec);
  EXPECT_EQ(severity_at(rule, ymd(2017, 8, 1), "C1"), "none");
  EXPECT_EQ(severity_at(rule, ymd(2017, 8, 22), "C1"), "none");
  EXPECT_EQ(severity_at(rule, ymd(2017, 8, 23), "C1"), "warning");
  EXPECT_EQ(severity_at(rule, ymd(2017, 8, 24), "C1"), "warning");
  EXPECT_EQ(severity_at(rule, ymd(2017, 8, 25), "C1"), "critical");
  auto result = evaluate_at(rule, ymd(2017, 8, 25));
  ASSERT_EQ(result.matches.size(), 1u);  // C2 has no conference: no due date, skipped
  EXPECT_EQ(result.matches[0].due_date, ymd(2017, 8, 24));
}

TEST_F(EngineDeadline, DueWithAStartStillNeedsTheClockStarted) {
  set_rows({{.id = "C1", .referral = "2017-08-20", .conference = "2017-08-30"},
            {.id = "C2", .conference = "2017-08-30"}});
  RuleSpec spec = deadline("referral", nullptr);
  spec.due = "add_working_days(conference, -3)";
  Rule rule = compile(spec);
  EXPECT_EQ(severity_at(rule, ymd(2017, 8, 19), "C1"), "none");      // start > D
  EXPECT_EQ(severity_at(rule, ymd(2017, 8, 25), "C1"), "critical");
  EXPECT_EQ(severity_at(rule, ymd(2017, 8, 25), "C2"), "none");      // start null
}

TEST_F(EngineDeadline, MonthsClampToTheMonthEnd) {
  set_rows({{.id = "C1", .referral = "2017-01-31"}, {.id = "C2", .referral = "2016-01-31"}});
  Rule rule = compile(deadline("referral", "1 month"));
  EXPECT_EQ(severity_at(rule, ymd(2017, 2, 28), "C1"), "none");
  EXPECT_EQ(severity_at(rule, ymd(2017, 3, 1), "C1"), "critical");
  auto result = evaluate_at(rule, ymd(2017, 3, 1));
  ASSERT_EQ(result.matches.size(), 2u);
  EXPECT_EQ(result.matches[0].key, "C1");
  EXPECT_EQ(result.matches[0].due_date, ymd(2017, 2, 28));
  EXPECT_EQ(result.matches[1].due_date, ymd(2016, 2, 29));
  EXPECT_EQ(severity_at(rule, ymd(2016, 2, 29), "C2"), "none");
  EXPECT_EQ(severity_at(rule, ymd(2016, 3, 1), "C2"), "critical");
}

TEST_F(EngineDeadline, DaysAndWeeks) {
  set_rows({{.id = "C1", .referral = "2017-08-18"}});
  Rule days = compile(deadline("referral", "10 days"));
  EXPECT_EQ(severity_at(days, ymd(2017, 8, 28), "C1"), "none");
  EXPECT_EQ(severity_at(days, ymd(2017, 8, 29), "C1"), "critical");
  Rule weeks = compile(deadline("referral", "2 weeks"));
  EXPECT_EQ(severity_at(weeks, ymd(2017, 9, 1), "C1"), "none");
  EXPECT_EQ(severity_at(weeks, ymd(2017, 9, 2), "C1"), "critical");
  Rule one_day = compile(deadline("referral", "1 working day"));
  EXPECT_EQ(severity_at(one_day, ymd(2017, 8, 21), "C1"), "none");
  EXPECT_EQ(severity_at(one_day, ymd(2017, 8, 22), "C1"), "critical");
}

TEST_F(EngineDeadline, DoneLaterThanAsOfCountsAsNotDone) {
  // Due Mon 4 Sep 2017 for all three.
  set_rows({{.id = "C1", .referral = "2017-08-18", .authorised = "2017-09-10"},
            {.id = "C2", .referral = "2017-08-18", .authorised = "2017-08-20"},
            {.id = "C3", .referral = "2017-08-18"}});
  RuleSpec spec = deadline("referral", "10 working days");
  spec.done = "authorised";
  Rule rule = compile(spec);
  EXPECT_EQ(severity_at(rule, ymd(2017, 9, 5), "C1"), "critical");  // done after D: not done yet
  EXPECT_EQ(severity_at(rule, ymd(2017, 9, 9), "C1"), "critical");
  EXPECT_EQ(severity_at(rule, ymd(2017, 9, 10), "C1"), "none");      // done on D
  EXPECT_EQ(severity_at(rule, ymd(2017, 9, 11), "C1"), "none");
  EXPECT_EQ(severity_at(rule, ymd(2017, 9, 5), "C2"), "none");       // done long ago
  EXPECT_EQ(severity_at(rule, ymd(2017, 9, 5), "C3"), "critical");   // never done
}

TEST_F(EngineDeadline, StartAfterAsOfIsSkipped) {
  set_rows({{.id = "C1", .referral = "2017-09-06"}});
  Rule rule = compile(deadline("referral", "1 day", "5 days"));
  // Due 7 Sep, warn from 2 Sep; but the clock starts on 6 Sep.
  EXPECT_EQ(severity_at(rule, ymd(2017, 9, 5), "C1"), "none");
  EXPECT_EQ(severity_at(rule, ymd(2017, 9, 6), "C1"), "warning");  // start == D: started
  EXPECT_EQ(severity_at(rule, ymd(2017, 9, 8), "C1"), "critical");
}

TEST_F(EngineDeadline, NullStartIsSkipped) {
  set_rows({{.id = "C1"}, {.id = "C2", .referral = "2017-01-01"}});
  Rule rule = compile(deadline("referral", "1 day", "5 days"));
  auto result = evaluate_at(rule, ymd(2030, 1, 1));
  ASSERT_EQ(result.matches.size(), 1u);
  EXPECT_EQ(result.matches[0].key, "C2");
}

TEST_F(EngineDeadline, ADueDateBeyondTheCalendarIsNullAndSkipped) {
  // 999999999 months is past what a Day can hold: add_months gives no date, and a record whose
  // due date is null is skipped (SPEC 5.2 step 1), not reported overdue.
  set_rows({{.id = "C1", .referral = "2017-01-01"}});
  Rule rule = compile(deadline("referral", "999999999 months"));
  EXPECT_TRUE(evaluate_at(rule, ymd(2017, 6, 1)).matches.empty());
}

TEST_F(EngineDeadline, WhereFilters) {
  set_rows({{.id = "C1", .team = "Assessment", .referral = "2017-01-01", .status = "Open"},
            {.id = "C2", .team = "Disabled Children", .referral = "2017-01-01", .status = "Open"},
            {.id = "C3", .team = "Assessment", .referral = "2017-01-01", .status = "Closed"},
            {.id = "C4", .team = "Assessment", .referral = "2017-01-01"}});
  RuleSpec spec = deadline("referral", "10 days");
  spec.where = "team == 'Assessment' && status != 'Closed'";
  Rule rule = compile(spec);
  auto result = evaluate_at(rule, ymd(2017, 6, 1));
  // C4's status is null: `status != 'Closed'` is a comparison with null, so false.
  ASSERT_EQ(result.matches.size(), 1u);
  EXPECT_EQ(result.matches[0].key, "C1");
}

TEST_F(EngineDeadline, WarnBeforeInDaysWorkingDaysWeeksAndMonths) {
  // Due Mon 4 Sep 2017.
  set_rows({{.id = "C1", .referral = "2017-08-18"}});
  Rule days = compile(deadline("referral", "10 working days", "3 days"));
  EXPECT_EQ(severity_at(days, ymd(2017, 8, 31), "C1"), "none");
  EXPECT_EQ(severity_at(days, ymd(2017, 9, 1), "C1"), "warning");
  Rule working = compile(deadline("referral", "10 working days", "3 working days"));
  EXPECT_EQ(severity_at(working, ymd(2017, 8, 29), "C1"), "none");
  EXPECT_EQ(severity_at(working, ymd(2017, 8, 30), "C1"), "warning");
  Rule week = compile(deadline("referral", "10 working days", "1 week"));
  EXPECT_EQ(severity_at(week, ymd(2017, 8, 27), "C1"), "none");
  EXPECT_EQ(severity_at(week, ymd(2017, 8, 28), "C1"), "warning");

  // Due 31 Jul 2017 (6 months from 31 Jan); a month before is 30 Jun (clamped), 30 days 1 Jul.
  set_rows({{.id = "C2", .referral = "2017-01-31"}});
  Rule months = compile(deadline("referral", "6 months", "1 month"));
  EXPECT_EQ(severity_at(months, ymd(2017, 6, 29), "C2"), "none");
  EXPECT_EQ(severity_at(months, ymd(2017, 6, 30), "C2"), "warning");
  EXPECT_EQ(severity_at(months, ymd(2017, 7, 31), "C2"), "warning");
  EXPECT_EQ(severity_at(months, ymd(2017, 8, 1), "C2"), "critical");
  Rule mixed = compile(deadline("referral", "6 months", "30 days"));
  EXPECT_EQ(severity_at(mixed, ymd(2017, 6, 30), "C2"), "none");
  EXPECT_EQ(severity_at(mixed, ymd(2017, 7, 1), "C2"), "warning");
}

TEST_F(EngineDeadline, WarnBeforeInWorkingDaysSkipsABankHoliday) {
  // Due Tue 29 Aug 2017; one working day before is Fri 25 Aug (Mon 28 is a bank holiday).
  set_rows({{.id = "C1", .authorised = "2017-08-29"}});
  RuleSpec spec = deadline("", nullptr, "1 working day");
  spec.due = "authorised";
  Rule rule = compile(spec);
  EXPECT_EQ(severity_at(rule, ymd(2017, 8, 24), "C1"), "none");
  EXPECT_EQ(severity_at(rule, ymd(2017, 8, 25), "C1"), "warning");
  EXPECT_EQ(severity_at(rule, ymd(2017, 8, 26), "C1"), "warning");
}

// A match's text is rendered when read, as of the date it was evaluated for: matches of several
// days in one result (the forecast's) each read their own day's "working days remaining".
TEST_F(EngineDeadline, TextIsRenderedAsOfEachMatchsOwnDay) {
  set_rows({{.id = "C1", .team = "Assessment", .referral = "2017-08-18"},
            {.id = "C2", .team = "Assessment", .referral = "2017-08-21"}});
  RuleSpec spec = deadline("referral", "10 working days", "10 working days");
  spec.annotations = {{"summary", "{{ id }}: {{ working_days_remaining }} working days"}};
  std::vector<Rule> rules = {compile(spec)};
  const Table* feeds[] = {&table_};
  EvaluationInput input{rules, feeds, kNullDay, &calendar_, &tables_};
  EvaluationResult result;
  evaluate_due_on(input, 0, ymd(2017, 9, 4), result);  // C1's due date, seen on 5 September
  evaluate_due_on(input, 0, ymd(2017, 9, 5), result);  // C2's, seen on 6 September
  ASSERT_EQ(result.matches.size(), 2u);
  EXPECT_EQ(match_text(input, result.matches[0]).annotations.at("summary"), "C1: -1 working days");
  EXPECT_EQ(match_text(input, result.matches[1]).annotations.at("summary"), "C2: -1 working days");
  // Read again after the input's own date has moved on: the same text.
  input.as_of = ymd(2017, 12, 1);
  EXPECT_EQ(match_text(input, result.matches[0]).annotations.at("summary"), "C1: -1 working days");
}

TEST_F(EngineDeadline, TemplateVariables) {
  set_rows({{.id = "C1", .team = "Assessment", .referral = "2017-08-18"}});
  RuleSpec spec = deadline("referral", "10 working days", "10 working days");
  spec.annotations = {{"summary", "{{ id }} due {{ due_date }}: {{ days_remaining }} days, "
                                  "{{ working_days_remaining }} working days"}};
  Rule rule = compile(spec);
  auto summary_at = [&](Day d) {
    auto result = evaluate_at(rule, d);
    return result.matches.size() == 1 ? std::string(result.matches[0].annotations.at("summary")) : std::string("no match");
  };
  EXPECT_EQ(summary_at(ymd(2017, 8, 31)), "C1 due 2017-09-04: 4 days, 2 working days");
  EXPECT_EQ(summary_at(ymd(2017, 8, 25)), "C1 due 2017-09-04: 10 days, 5 working days");
  EXPECT_EQ(summary_at(ymd(2017, 9, 4)), "C1 due 2017-09-04: 0 days, 0 working days");
  EXPECT_EQ(summary_at(ymd(2017, 9, 6)), "C1 due 2017-09-04: -2 days, -2 working days");
}

TEST_F(EngineDeadline, LabelsAndSeverity) {
  set_rows({{.id = "C1", .team = "Assessment", .referral = "2017-08-18"}});
  RuleSpec spec = deadline("referral", "10 working days", "2 working days");
  spec.name = "assessment_timescale";
  spec.severity = Severity::Info;  // deadline severities come from the dates, not this
  spec.labels = {{"team", "{{ team }}"}, {"due", "{{ format_date(due_date, '%d/%m/%Y') }}"}};
  Rule rule = compile(spec);
  auto warning = evaluate_at(rule, ymd(2017, 9, 1));
  ASSERT_EQ(warning.matches.size(), 1u);
  EXPECT_EQ(warning.matches[0].severity, Severity::Warning);
  EXPECT_EQ(warning.matches[0].labels, (Labels{{"alertname", "assessment_timescale"},
                                                {"key", "C1"},
                                                {"severity", "warning"},
                                                {"team", "Assessment"},
                                                {"due", "04/09/2017"}}));
  auto critical = evaluate_at(rule, ymd(2017, 9, 5));
  ASSERT_EQ(critical.matches.size(), 1u);
  EXPECT_EQ(critical.matches[0].labels.at("severity"), "critical");
}

// ---------------------------------------------------------------------------------------------
// condition

TEST_F(EngineCondition, OneAlertPerRecordWhereWhenIsTrue) {
  set_rows({{.id = "C3", .team = "Assessment", .hours = "12", .open = "yes"},
            {.id = "C1", .team = "Assessment", .hours = "11", .open = "yes"},
            {.id = "C2", .team = "Assessment", .hours = "3", .open = "yes"},
            {.id = "C4", .team = "Assessment", .hours = "30", .open = "no"},
            {.id = "C5", .team = "Assessment", .open = "yes"}});
  RuleSpec spec = condition("long_hours", "hours > 10");
  spec.where = "open";
  spec.severity = Severity::Critical;
  spec.labels = {{"team", "{{ lower(team) }}"}};
  spec.annotations = {{"summary", "{{ id }} has {{ hours }} hours"}};
  Rule rule = compile(spec);
  auto result = evaluate_at(rule, ymd(2017, 6, 14));
  ASSERT_EQ(result.matches.size(), 2u);
  EXPECT_EQ(result.matches[0].key, "C1");
  EXPECT_EQ(result.matches[1].key, "C3");
  const RenderedMatch& m = result.matches[1];
  EXPECT_EQ(m.severity, Severity::Critical);
  EXPECT_EQ(m.labels, (Labels{{"alertname", "long_hours"}, {"key", "C3"}, {"severity", "critical"}, {"team", "assessment"}}));
  EXPECT_EQ(m.annotations, (Labels{{"summary", "C3 has 12 hours"}}));
  EXPECT_EQ(m.due_date, kNullDay);
  EXPECT_FALSE(m.value.has_value());
  EXPECT_TRUE(result.values.empty());
}

TEST_F(EngineCondition, DefaultSeverityIsWarning) {
  set_rows({{.id = "C1", .status = "Open"}});
  Rule rule = compile(condition("open_case", "status == 'Open'"));
  auto result = evaluate_at(rule, ymd(2017, 6, 14));
  ASSERT_EQ(result.matches.size(), 1u);
  EXPECT_EQ(result.matches[0].severity, Severity::Warning);
  EXPECT_EQ(result.matches[0].labels.at("severity"), "warning");
}

TEST_F(EngineCondition, NullIsFalse) {
  set_rows({{.id = "C1"}, {.id = "C2", .status = "Open", .open = "true"}});
  Rule a = compile(condition("a", "status == 'Open'"));
  Rule b = compile(condition("b", "open"));
  Rule c = compile(condition("c", "status != 'Closed'"));
  Rule d = compile(condition("d", "!open"));
  auto result = evaluate_at(std::vector<Rule>{a, b, c, d}, ymd(2017, 6, 14));
  std::vector<std::string> got;
  for (const RenderedMatch& m : result.matches) got.push_back(std::string(m.labels.at("alertname")) + ":" + m.key);
  EXPECT_EQ(got, (std::vector<std::string>{"a:C2", "b:C2", "c:C2", "d:C1"}));
}

TEST_F(EngineCondition, TodayIsTheAsOfDate) {
  set_rows({{.id = "C1", .referral = "2017-05-01"}, {.id = "C2", .referral = "2017-06-01"}});
  Rule rule = compile(condition("stale", "today() - referral > 30"));
  auto result = evaluate_at(rule, ymd(2017, 6, 14));
  ASSERT_EQ(result.matches.size(), 1u);
  EXPECT_EQ(result.matches[0].key, "C1");
  EXPECT_EQ(evaluate_at(rule, ymd(2017, 7, 14)).matches.size(), 2u);
  EXPECT_EQ(evaluate_at(rule, ymd(2017, 5, 31)).matches.size(), 0u);
}

// ---------------------------------------------------------------------------------------------
// aggregate

class EngineAggregateData : public EngineBase {
 protected:
  void SetUp() override {
    set_rows({{.id = "A1", .team = "Assessment", .worker = "w1", .hours = "10", .referral = "2017-06-01", .open = "true"},
              {.id = "A2", .team = "Assessment", .worker = "w1", .hours = "20", .referral = "2017-06-05", .open = "false"},
              {.id = "A3", .team = "Assessment", .worker = "w2", .referral = "2017-06-10", .open = "true"},
              {.id = "A4", .team = "Corporate Parenting", .worker = "w3", .hours = "5", .referral = "2017-05-01", .open = "false"},
              {.id = "A5", .team = "Corporate Parenting", .worker = "w3", .hours = "7", .referral = "2017-05-20", .open = "false"},
              {.id = "A6", .worker = "w4", .hours = "1", .referral = "2017-06-01", .open = "true"}});
  }

  // key -> value (or "null") of every group, in output order.
  std::vector<std::pair<std::string, std::string>> values_of(const std::string& value,
                                                             std::vector<std::string> group_by = {"team"}) {
    Rule rule = compile(aggregate(value, std::move(group_by)));
    auto result = evaluate_at(rule, ymd(2017, 6, 14));
    EXPECT_TRUE(result.matches.empty());
    std::vector<std::pair<std::string, std::string>> out;
    for (const GroupValue& v : result.values) out.emplace_back(v.key, v.value ? number_to_text(*v.value) : "null");
    return out;
  }
};

using KV = std::vector<std::pair<std::string, std::string>>;

// Past the sample on which the builder judges a column, a column of mostly distinct values is
// stored cell by cell: equal values then no longer share a code, and grouping must still see
// them as one group.
TEST_F(EngineBase, GroupsByAColumnOfMostlyDistinctValuesStoredCellByCell) {
  std::vector<Row> rows;
  const int distinct = 60000, repeats = 3000;
  for (int i = 0; i < distinct + repeats; ++i) {
    Row row;
    row.id = "R" + std::to_string(i);
    row.worker = "w" + std::to_string(i < distinct ? i : i - distinct);  // w0..w2999 appear twice
    row.team = "T";
    rows.push_back(row);
  }
  set_rows(rows);
  ASSERT_FALSE(table_.column(2).distinct_codes);  // worker: stored cell by cell
  ASSERT_TRUE(table_.column(1).distinct_codes);   // team: one value, dictionary-encoded
  auto result = evaluate_at(compile(aggregate("count()", {"worker", "team"}, "value > 1")), ymd(2017, 6, 14));
  EXPECT_EQ(result.values.size(), static_cast<size_t>(distinct));
  ASSERT_EQ(result.matches.size(), static_cast<size_t>(repeats));
  EXPECT_EQ(result.matches.front().key, "w0/T");
  EXPECT_EQ(result.matches.front().value, 2.0);
  auto single = evaluate_at(compile(aggregate("count()", {"worker"}, "value > 1")), ymd(2017, 6, 14));
  EXPECT_EQ(single.matches.size(), static_cast<size_t>(repeats));
}


TEST_F(EngineAggregateData, Count) {
  // Groups sorted by key; the null team is the group "".
  EXPECT_EQ(values_of("count()"), (KV{{"", "1"}, {"Assessment", "3"}, {"Corporate Parenting", "2"}}));
  EXPECT_EQ(values_of("count(open)"), (KV{{"", "1"}, {"Assessment", "2"}, {"Corporate Parenting", "0"}}));
  EXPECT_EQ(values_of("count(hours > 6)"), (KV{{"", "0"}, {"Assessment", "2"}, {"Corporate Parenting", "1"}}));
}

TEST_F(EngineAggregateData, SumAvgMinMax) {
  EXPECT_EQ(values_of("sum(hours)"), (KV{{"", "1"}, {"Assessment", "30"}, {"Corporate Parenting", "12"}}));
  EXPECT_EQ(values_of("avg(hours)"), (KV{{"", "1"}, {"Assessment", "15"}, {"Corporate Parenting", "6"}}));
  EXPECT_EQ(values_of("min(hours)"), (KV{{"", "1"}, {"Assessment", "10"}, {"Corporate Parenting", "5"}}));
  EXPECT_EQ(values_of("max(hours)"), (KV{{"", "1"}, {"Assessment", "20"}, {"Corporate Parenting", "7"}}));
  // Dates: the latest referral was 4 and 25 days before 14 Jun.
  EXPECT_EQ(values_of("today() - max(referral)"), (KV{{"", "13"}, {"Assessment", "4"}, {"Corporate Parenting", "25"}}));
  EXPECT_EQ(values_of("max(referral) - min(referral)"), (KV{{"", "0"}, {"Assessment", "9"}, {"Corporate Parenting", "19"}}));
}

TEST_F(EngineAggregateData, RatioAndCountDistinct) {
  EXPECT_EQ(values_of("ratio(open)"), (KV{{"", "1"}, {"Assessment", number_to_text(2.0 / 3)}, {"Corporate Parenting", "0"}}));
  EXPECT_EQ(values_of("count_distinct(worker)"), (KV{{"", "1"}, {"Assessment", "2"}, {"Corporate Parenting", "1"}}));
  EXPECT_EQ(values_of("count_distinct(hours)"), (KV{{"", "1"}, {"Assessment", "2"}, {"Corporate Parenting", "2"}}));
  EXPECT_EQ(values_of("count_distinct(team)", {}), (KV{{"", "2"}}));  // null is not a value
}

TEST_F(EngineAggregateData, MaxCountAndCountAtLeastTallyRecordsPerValue) {
  // Assessment: w1 twice, w2 once; Corporate Parenting: w3 twice; the null team: w4 once.
  EXPECT_EQ(values_of("max_count(worker)"), (KV{{"", "1"}, {"Assessment", "2"}, {"Corporate Parenting", "2"}}));
  EXPECT_EQ(values_of("count_at_least(worker, 2)"), (KV{{"", "0"}, {"Assessment", "1"}, {"Corporate Parenting", "1"}}));
  EXPECT_EQ(values_of("count_at_least(worker, 1)"), (KV{{"", "1"}, {"Assessment", "2"}, {"Corporate Parenting", "1"}}));
  EXPECT_EQ(values_of("max_count(team)", {}), (KV{{"", "3"}}));  // null is not a value
  // Nulls are not counted: A3 has no hours, so Assessment's hours are 10 and 20 once each.
  EXPECT_EQ(values_of("max_count(hours)"), (KV{{"", "1"}, {"Assessment", "1"}, {"Corporate Parenting", "1"}}));
}

TEST_F(EngineBase, CountAtLeastNeedsAWholeNumberLiteral) {
  for (const char* bad : {"count_at_least(worker, 0)", "count_at_least(worker, 1.5)", "count_at_least(worker, hours)",
                          "count_at_least(worker)"}) {
    auto errors = compile_errors(aggregate(bad));
    ASSERT_EQ(errors.size(), 1u) << bad;
    EXPECT_NE(errors[0].message.find("count_at_least"), std::string::npos) << errors[0].message;
  }
}

TEST_F(EngineAggregateData, CombinedArithmetically) {
  EXPECT_EQ(values_of("sum(hours) / count()"), (KV{{"", "1"}, {"Assessment", "10"}, {"Corporate Parenting", "6"}}));
  EXPECT_EQ(values_of("round(100 * ratio(open), 1)"), (KV{{"", "100"}, {"Assessment", "66.7"}, {"Corporate Parenting", "0"}}));
  EXPECT_EQ(values_of("count(open) - count(!open) + 1"), (KV{{"", "2"}, {"Assessment", "2"}, {"Corporate Parenting", "-1"}}));
  EXPECT_EQ(values_of("count() + lookup('caseload_limit', team, 0)"),
            (KV{{"", "1"}, {"Assessment", "5"}, {"Corporate Parenting", "7"}}));
}

TEST_F(EngineAggregateData, WithoutGroupByOneGroupForTheWholeFeed) {
  Rule rule = compile(aggregate("count()"));
  auto result = evaluate_at(rule, ymd(2017, 6, 14));
  ASSERT_EQ(result.values.size(), 1u);
  EXPECT_EQ(result.values[0].key, "");
  EXPECT_TRUE(result.values[0].group.empty());
  EXPECT_EQ(result.values[0].value, 6);
  EXPECT_EQ(values_of("sum(hours) / count()", {}), (KV{{"", number_to_text(43.0 / 6)}}));
}

TEST_F(EngineBase, ASlashInsideAGroupValueIsEscapedSoTwoGroupsNeverShareAKey) {
  set_rows({{.id = "R1", .team = "a/b", .worker = "c"}, {.id = "R2", .team = "a", .worker = "b/c"},
            {.id = "R3", .team = "x\\", .worker = "y"}});
  auto result = evaluate_at(compile(aggregate("count()", {"team", "worker"}, "value > 0")), ymd(2017, 6, 14));
  std::vector<std::string> keys;
  for (const Match& m : result.matches) keys.push_back(m.key);
  std::sort(keys.begin(), keys.end());
  EXPECT_EQ(keys, (std::vector<std::string>{"a/b\\/c", "a\\/b/c", "x\\\\/y"}));
}

TEST_F(EngineAggregateData, GroupByTwoFieldsJoinsKeysWithSlash) {
  Rule rule = compile(aggregate("count()", {"team", "worker"}));
  auto result = evaluate_at(rule, ymd(2017, 6, 14));
  ASSERT_EQ(result.values.size(), 4u);
  EXPECT_EQ(result.values[0].key, "/w4");
  EXPECT_EQ(result.values[1].key, "Assessment/w1");
  EXPECT_EQ(result.values[1].value, 2);
  EXPECT_EQ(result.values[2].key, "Assessment/w2");
  EXPECT_EQ(result.values[3].key, "Corporate Parenting/w3");
  const GroupValue& v = result.values[1];
  ASSERT_EQ(v.group.size(), 2u);
  EXPECT_EQ(v.group[0].first, "team");
  EXPECT_EQ(v.group[0].second.type, Type::String);
  EXPECT_EQ(v.group[0].second.text, "Assessment");
  EXPECT_EQ(v.group[1].first, "worker");
  EXPECT_EQ(v.group[1].second.text, "w1");
  EXPECT_EQ(result.values[0].group[0].second.type, Type::Null);
  // group_by order decides the key.
  Rule swapped = compile(aggregate("count()", {"worker", "team"}));
  auto swapped_result = evaluate_at(swapped, ymd(2017, 6, 14));
  ASSERT_EQ(swapped_result.values.size(), 4u);
  EXPECT_EQ(swapped_result.values[0].key, "w1/Assessment");
  EXPECT_EQ(swapped_result.values[3].key, "w4/");
}

TEST_F(EngineAggregateData, GroupByNumberAndDateFields) {
  EXPECT_EQ(values_of("count()", {"hours"}), (KV{{"", "1"}, {"1", "1"}, {"10", "1"}, {"20", "1"}, {"5", "1"}, {"7", "1"}}));
  EXPECT_EQ(values_of("count()", {"referral"}),
            (KV{{"2017-05-01", "1"}, {"2017-05-20", "1"}, {"2017-06-01", "2"}, {"2017-06-05", "1"}, {"2017-06-10", "1"}}));
}

TEST_F(EngineAggregate, LargeWholeNumbersInKeysPrintAsDigits) {
  set_rows({{.id = "A1", .hours = "200000"}, {.id = "A2", .hours = "2.5"}});
  Rule rule = compile(aggregate("count()", {"hours"}));
  auto result = evaluate_at(rule, ymd(2017, 6, 14));
  ASSERT_EQ(result.values.size(), 2u);
  EXPECT_EQ(result.values[0].key, "2.5");
  EXPECT_EQ(result.values[1].key, "200000");
  ASSERT_EQ(result.values[1].group.size(), 1u);
  EXPECT_EQ(result.values[1].group[0].second.type, Type::Number);
  EXPECT_EQ(result.values[1].group[0].second.number, 200000);
}

TEST_F(EngineAggregateData, WhenOverValueAndGroupFieldsWithLookup) {
  RuleSpec spec = aggregate("count()", {"team"}, "value > lookup('caseload_limit', team, 100)");
  spec.name = "caseload";
  spec.severity = Severity::Critical;
  spec.labels = {{"team", "{{ team }}"}, {"limit", "{{ lookup('caseload_limit', team, 0) }}"}};
  spec.annotations = {{"summary", "{{ team }} has {{ value }} cases"}};
  Rule rule = compile(spec);
  auto result = evaluate_at(rule, ymd(2017, 6, 14));
  // Values for every group, matched or not.
  ASSERT_EQ(result.values.size(), 3u);
  EXPECT_EQ(result.values[0].key, "");
  EXPECT_EQ(result.values[1].key, "Assessment");
  EXPECT_EQ(result.values[2].key, "Corporate Parenting");
  EXPECT_EQ(result.values[2].value, 2);
  // Assessment: 3 > 2; Corporate Parenting: 2 > 5 is false; no team: 1 > 100 is false.
  ASSERT_EQ(result.matches.size(), 1u);
  const RenderedMatch& m = result.matches[0];
  EXPECT_EQ(m.key, "Assessment");
  EXPECT_EQ(m.value, 3);
  EXPECT_EQ(m.severity, Severity::Critical);
  EXPECT_EQ(m.due_date, kNullDay);
  EXPECT_EQ(m.labels, (Labels{{"alertname", "caseload"}, {"key", "Assessment"}, {"severity", "critical"},
                              {"team", "Assessment"}, {"limit", "2"}}));
  EXPECT_EQ(m.annotations, (Labels{{"summary", "Assessment has 3 cases"}}));
}

TEST_F(EngineAggregateData, WhereFiltersRecordsBeforeGrouping) {
  RuleSpec spec = aggregate("count()", {"team"});
  spec.where = "open";
  Rule rule = compile(spec);
  auto result = evaluate_at(rule, ymd(2017, 6, 14));
  // Corporate Parenting has no open case: no group at all.
  ASSERT_EQ(result.values.size(), 2u);
  EXPECT_EQ(result.values[0].key, "");
  EXPECT_EQ(result.values[1].key, "Assessment");
  EXPECT_EQ(result.values[1].value, 2);
}

TEST_F(EngineAggregateData, WithoutWhenOnlyValues) {
  Rule rule = compile(aggregate("count()", {"team"}));
  auto result = evaluate_at(rule, ymd(2017, 6, 14));
  EXPECT_TRUE(result.matches.empty());
  EXPECT_EQ(result.values.size(), 3u);
}

TEST_F(EngineAggregateData, WithoutGroupByTheKeyIsEmpty) {
  RuleSpec spec = aggregate("ratio(open)", {}, "value >= 0.5");
  spec.name = "open_ratio";
  spec.annotations = {{"summary", "{{ round(value * 100) }}% open"}};
  Rule rule = compile(spec);
  auto result = evaluate_at(rule, ymd(2017, 6, 14));
  ASSERT_EQ(result.matches.size(), 1u);
  EXPECT_EQ(result.matches[0].key, "");
  EXPECT_EQ(result.matches[0].value, 0.5);
  EXPECT_EQ(result.matches[0].labels, (Labels{{"alertname", "open_ratio"}, {"key", ""}, {"severity", "warning"}}));
  EXPECT_EQ(result.matches[0].annotations.at("summary"), "50% open");
}

TEST_F(EngineAggregate, EmptyFeed) {
  set_rows({});
  Rule count = compile(aggregate("count()", {}, "value == 0"));
  auto result = evaluate_at(count, ymd(2017, 6, 14));
  ASSERT_EQ(result.values.size(), 1u);
  EXPECT_EQ(result.values[0].key, "");
  EXPECT_EQ(result.values[0].value, 0);
  EXPECT_EQ(result.matches.size(), 1u);

  // ratio() of an empty group is null: no value, and `when` is false.
  RuleSpec spec = aggregate("ratio(open)", {}, "value == null || value < 1");
  Rule ratio = compile(spec);
  result = evaluate_at(ratio, ymd(2017, 6, 14));
  ASSERT_EQ(result.values.size(), 1u);
  EXPECT_FALSE(result.values[0].value.has_value());
  ASSERT_EQ(result.matches.size(), 1u);  // `value == null` is true
  EXPECT_FALSE(result.matches[0].value.has_value());

  Rule below = compile(aggregate("ratio(open)", {}, "value < 1"));
  EXPECT_TRUE(evaluate_at(below, ymd(2017, 6, 14)).matches.empty());

  Rule sum = compile(aggregate("sum(hours)"));
  result = evaluate_at(sum, ymd(2017, 6, 14));
  ASSERT_EQ(result.values.size(), 1u);
  EXPECT_FALSE(result.values[0].value.has_value());

  // With group_by an empty feed has no groups at all.
  Rule grouped = compile(aggregate("count()", {"team"}));
  EXPECT_TRUE(evaluate_at(grouped, ymd(2017, 6, 14)).values.empty());
}

TEST_F(EngineAggregate, WhereThatMatchesNothingLeavesAnEmptyGroup) {
  set_rows({{.id = "A1", .open = "false"}});
  RuleSpec spec = aggregate("ratio(open)");
  spec.where = "open";
  Rule rule = compile(spec);
  auto result = evaluate_at(rule, ymd(2017, 6, 14));
  ASSERT_EQ(result.values.size(), 1u);
  EXPECT_FALSE(result.values[0].value.has_value());
}

// ---------------------------------------------------------------------------------------------
// Results: order, identity, enabled, missing snapshots

TEST_F(EngineResults, SortedByRuleNameThenKey) {
  set_rows({{.id = "C3", .status = "Open"}, {.id = "C10", .status = "Open"}, {.id = "C2", .status = "Open"}});
  std::vector<Rule> rules = {compile(condition("zeta", "status == 'Open'")),
                             compile(condition("alpha", "status == 'Open'")),
                             compile(aggregate("count()", {"status"}, "value > 0"))};
  auto result = evaluate_at(rules, ymd(2017, 6, 14));
  std::vector<std::string> got;
  for (const RenderedMatch& m : result.matches) got.push_back(std::string(m.labels.at("alertname")) + ":" + m.key);
  EXPECT_EQ(got, (std::vector<std::string>{"aggregate_rule:Open", "alpha:C10", "alpha:C2", "alpha:C3", "zeta:C10",
                                           "zeta:C2", "zeta:C3"}));
  // Match::rule indexes the rules as given.
  EXPECT_EQ(result.matches[0].rule, 2u);
  EXPECT_EQ(result.matches[1].rule, 1u);
  EXPECT_EQ(result.matches[6].rule, 0u);
  ASSERT_EQ(result.values.size(), 1u);
  EXPECT_EQ(result.values[0].rule, 2u);
}

TEST_F(EngineResults, DisabledRulesAndMissingSnapshotsAreSkipped) {
  set_rows({{.id = "C1", .status = "Open"}});
  RuleSpec off = condition("off", "status == 'Open'");
  off.enabled = false;
  std::vector<Rule> rules = {compile(off), compile(condition("on", "status == 'Open'"))};
  auto result = evaluate_at(rules, ymd(2017, 6, 14));
  ASSERT_EQ(result.matches.size(), 1u);
  EXPECT_EQ(result.matches[0].labels.at("alertname"), "on");

  const Table* feeds[] = {nullptr};
  EvaluationInput input;
  input.rules = rules;
  input.feeds = feeds;
  input.as_of = ymd(2017, 6, 14);
  input.calendar = &calendar_;
  input.tables = &tables_;
  EXPECT_TRUE(evaluate(input).matches.empty());
  input.feeds = {};
  EXPECT_TRUE(evaluate(input).matches.empty());
}

TEST_F(EngineResults, IdentityLabelsCannotBeOverridden) {
  for (const char* name : {"alertname", "key", "severity"}) {
    RuleSpec spec = condition("c", "true");
    spec.labels = {{name, "x"}};
    auto errors = compile_errors(spec);
    ASSERT_EQ(errors.size(), 1u) << name;
    EXPECT_EQ(errors[0].key, std::string("labels.") + name);
    EXPECT_EQ(errors[0].offset, 0u);
    EXPECT_EQ(errors[0].message, std::string("label '") + name + "' is set by casewatch itself");
  }
}

TEST_F(EngineResults, ConstantLabels) {
  set_rows({{.id = "C1"}});
  RuleSpec spec = condition("c", "true");
  spec.labels = {{"service", "children"}};
  auto result = evaluate_at(compile(spec), ymd(2017, 6, 14));
  ASSERT_EQ(result.matches.size(), 1u);
  EXPECT_EQ(result.matches[0].labels,
            (Labels{{"alertname", "c"}, {"key", "C1"}, {"severity", "warning"}, {"service", "children"}}));
}

// ---------------------------------------------------------------------------------------------
// Compile errors

void expect_one(const std::vector<RuleError>& errors, const std::string& key, size_t offset, const std::string& message) {
  std::string text;
  for (const auto& e : errors) text += "  " + e.key + "@" + std::to_string(e.offset) + ": " + e.message + "\n";
  ASSERT_EQ(errors.size(), 1u) << text;
  EXPECT_EQ(errors[0].key, key) << text;
  EXPECT_EQ(errors[0].offset, offset) << text;
  EXPECT_EQ(errors[0].message, message) << text;
}

TEST_F(EngineCompile, ExportOfARuleGroupedByTheFeedsKey) {
  RuleSpec spec = aggregate("count()", {"id"});
  spec.export_value = true;
  expect_one(compile_errors(spec), "export", 0,
             "cannot export a rule grouped by its feed's key 'id': record keys must never become metric labels");
  spec.export_value = false;
  compile(spec);  // grouping by the key without exporting is allowed
  spec.group_by = {"team"};
  spec.export_value = true;
  compile(spec);
}

TEST_F(EngineCompile, ValueWithoutAnAggregate) {
  expect_one(compile_errors(aggregate("1 + 2")), "value", 0,
             "'value' must use an aggregate such as count(), sum(x) or ratio(cond)");
  expect_one(compile_errors(aggregate("")), "value", 0, "an aggregate rule needs 'value'");
  expect_one(compile_errors(aggregate("max(referral)")), "value", 0,
             "'value' must give a number, but this gives a date");
  expect_one(compile_errors(aggregate("count() + nope")), "value", 10, "unknown field 'nope'");
}

TEST_F(EngineCompile, FieldsOutsideAggregatesInValueMustBeGroupFields) {
  // Outside an aggregate call a field has no one value for the group.
  expect_one(compile_errors(aggregate("count() + hours", {"team"})), "value", 10,
             "field 'hours' is not one of this rule's group_by fields");
  expect_one(compile_errors(aggregate("sum(hours) / hours")), "value", 13,
             "field 'hours' is not one of this rule's group_by fields");
  compile(aggregate("count() + lookup('caseload_limit', team, 0)", {"team"}));
  compile(aggregate("sum(hours * 2) + count(team == 'x')"));
}

TEST_F(EngineCompile, DeadlineNeedsExactlyOneOfDueAndDueIn) {
  RuleSpec both = deadline("referral", "10 days");
  both.due = "conference";
  expect_one(compile_errors(both), "due_in", 0, "a deadline rule needs exactly one of 'due_in' and 'due'");
  RuleSpec neither = deadline("referral", nullptr);
  expect_one(compile_errors(neither), "due_in", 0, "a deadline rule needs exactly one of 'due_in' and 'due'");
  expect_one(compile_errors(deadline("", "10 days")), "start", 0, "'due_in' counts from 'start', which is missing");
  RuleSpec with_when = deadline("referral", "10 days");
  with_when.when = "true";
  expect_one(compile_errors(with_when), "when", 0, "a deadline rule has no 'when'; use 'where'");
}

TEST_F(EngineCompile, ExpressionErrorsCarryTheKeyAndOffset) {
  RuleSpec spec = condition("c", "hours > 1 && nope");
  expect_one(compile_errors(spec), "when", 13, "unknown field 'nope'");
  spec = condition("c", "true");
  spec.where = "referral < '2017-01-01'";
  expect_one(compile_errors(spec), "where", 9, "cannot compare date with string");
  spec = condition("c", "hours");
  expect_one(compile_errors(spec), "when", 0, "'when' must give a bool, but this gives a number");
  spec = condition("c", "true");
  spec.where = "team";
  expect_one(compile_errors(spec), "where", 0, "'where' must give a bool, but this gives a string");
  expect_one(compile_errors(deadline("team", "1 day")), "start", 0, "'start' must give a date, but this gives a string");
  RuleSpec done = deadline("referral", "1 day");
  done.done = "hours";
  expect_one(compile_errors(done), "done", 0, "'done' must give a date, but this gives a number");
  spec = condition("c", "count() > 1");
  expect_one(compile_errors(spec), "when", 0,
             "count() is an aggregate: it is only allowed in an aggregate rule's value");
}

TEST_F(EngineCompile, TemplateErrors) {
  RuleSpec spec = condition("c", "true");
  spec.labels = {{"team", "{{ nope }}"}};
  expect_one(compile_errors(spec), "labels.team", 3, "unknown field 'nope'");
  spec.labels = {};
  spec.annotations = {{"summary", "Due {{ due_date }}"}};  // only deadline rules have due_date
  expect_one(compile_errors(spec), "annotations.summary", 7, "unknown field 'due_date'");
  spec.annotations = {{"summary", "{{ value }}"}};  // only aggregate rules have value
  expect_one(compile_errors(spec), "annotations.summary", 3, "unknown field 'value'");
}

TEST_F(EngineCompile, ConditionNeedsWhen) {
  expect_one(compile_errors(condition("c", "")), "when", 0, "a condition rule needs 'when'");
}

TEST_F(EngineCompile, AggregateWhenAndTemplatesSeeOnlyGroupFieldsAndValue) {
  expect_one(compile_errors(aggregate("count()", {"team"}, "hours > 1")), "when", 0,
             "field 'hours' is not one of this rule's group_by fields");
  expect_one(compile_errors(aggregate("count()", {}, "team == 'x'")), "when", 0,
             "field 'team' is not one of this rule's group_by fields");
  expect_one(compile_errors(aggregate("count()", {"team"}, "count() > 1")), "when", 0,
             "count() is an aggregate: it is only allowed in an aggregate rule's value");
  RuleSpec spec = aggregate("count()", {"team"}, "value > 1 && team != 'x'");
  spec.labels = {{"worker", "{{ worker }}"}};
  expect_one(compile_errors(spec), "labels.worker", 3, "field 'worker' is not one of this rule's group_by fields");
  spec.labels = {{"team", "{{ team }}: {{ value }}"}};
  compile(spec);
}

TEST_F(EngineCompile, GroupByAndMetricLabels) {
  expect_one(compile_errors(aggregate("count()", {"nope"})), "group_by", 0, "unknown field 'nope' in group_by");
  RuleSpec spec = aggregate("count()", {"team"});
  spec.metric_labels = {"team"};
  expect_one(compile_errors(spec), "metric_labels", 0, "metric label 'team' is not one of the rule's labels");
  spec.labels = {{"team", "{{ team }}"}};
  compile(spec);
}

TEST_F(EngineCompile, EveryProblemIsReported) {
  RuleSpec spec = condition("c", "nope1");
  spec.where = "nope2 && nope3";
  spec.labels = {{"a", "{{ nope4 }}"}, {"severity", "x"}};
  std::vector<RuleError> errors = compile_errors(spec);
  std::vector<std::string> got;
  for (const auto& e : errors) got.push_back(e.key + "@" + std::to_string(e.offset) + " " + e.message);
  EXPECT_EQ(got, (std::vector<std::string>{"where@0 unknown field 'nope2'", "where@9 unknown field 'nope3'",
                                           "when@0 unknown field 'nope1'",
                                           "labels.severity@0 label 'severity' is set by casewatch itself",
                                           "labels.a@3 unknown field 'nope4'"}));
}

TEST(EnginePeriods, ParsePeriod) {
  auto text = [](const char* s) {
    auto p = parse_period(s);
    if (!p) return std::string("invalid");
    const char* units[] = {"days", "working days", "weeks", "months"};
    return std::to_string(p->amount) + " " + units[static_cast<int>(p->unit)];
  };
  EXPECT_EQ(text("10 working days"), "10 working days");
  EXPECT_EQ(text("1 working day"), "1 working days");
  EXPECT_EQ(text("1 month"), "1 months");
  EXPECT_EQ(text("6 months"), "6 months");
  EXPECT_EQ(text("2 weeks"), "2 weeks");
  EXPECT_EQ(text("1 week"), "1 weeks");
  EXPECT_EQ(text("3 days"), "3 days");
  EXPECT_EQ(text("1 day"), "1 days");
  EXPECT_EQ(text(" 45  working days "), "45 working days");
  EXPECT_EQ(text("days"), "invalid");
  EXPECT_EQ(text("-1 days"), "invalid");
  EXPECT_EQ(text("3 fortnights"), "invalid");
  EXPECT_EQ(text("3"), "invalid");
}

// What falls due each day if nothing is done (casewatch forecast, the team page).
TEST_F(EngineBase, ForecastCountsWhatFallsDueEachDayByTeamAndWorker) {
  set_rows({// Thursday 1 June: day 10 is Thursday 15 June.
            {.id = "F1", .team = "Assessment", .worker = "w1", .referral = "2017-06-01"},
            {.id = "F2", .team = "Assessment", .worker = "w1", .referral = "2017-06-01"},
            // Authorised before it falls due: nothing to forecast.
            {.id = "F3", .team = "Assessment", .worker = "w1", .referral = "2017-06-01", .authorised = "2017-06-05"},
            // Friday 2 June: due Friday 16 June.
            {.id = "F4", .team = "Assessment", .worker = "w2", .referral = "2017-06-02"},
            // Already overdue on the first day: not in the forecast.
            {.id = "F5", .team = "Assessment", .worker = "w2", .referral = "2017-05-01"},
            {.id = "F6", .worker = "w3", .referral = "2017-06-02"}});
  RuleSpec spec = deadline("referral", "10 working days");  // no warn_before: nothing on the due day
  spec.done = "authorised";
  spec.labels = {{"team", "{{ team }}"}, {"worker", "{{ worker }}"}};
  std::vector<Rule> rules = {compile(spec)};
  const Table* feeds[] = {&table_};
  EvaluationInput input;
  input.rules = rules;
  input.feeds = feeds;
  input.calendar = &calendar_;
  input.tables = &tables_;
  std::vector<std::tuple<std::string, std::string, std::string, size_t>> got;
  for (const ForecastCount& c : forecast(input, ymd(2017, 6, 14), ymd(2017, 6, 19)))
    got.emplace_back(format_iso(c.day), c.team, c.worker, c.count);
  EXPECT_EQ(got, (std::vector<std::tuple<std::string, std::string, std::string, size_t>>{
                     {"2017-06-15", "Assessment", "w1", 2},
                     {"2017-06-16", "", "w3", 1},
                     {"2017-06-16", "Assessment", "w2", 1}}));
}

}  // namespace
}  // namespace casewatch
