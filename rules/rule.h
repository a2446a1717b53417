// Rules: their definition as written (RuleSpec) and compiled against a feed's schema (Rule).
// A compiled Rule is immutable and can be evaluated from several threads.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "rules/calendar.h"
#include "rules/expr.h"
#include "rules/table.h"
#include "rules/template.h"

namespace casewatch {

enum class RuleKind { Deadline, Condition, Aggregate };
enum class Severity { Info = 0, Warning = 1, Critical = 2 };

std::string_view rule_kind_name(RuleKind kind);
std::string_view severity_name(Severity severity);
std::optional<Severity> parse_severity(std::string_view text);

enum class PeriodUnit { Days, WorkingDays, Weeks, Months };
struct Period {
  int amount = 0;
  PeriodUnit unit = PeriodUnit::Days;
};
// "10 working days", "1 month", "6 weeks", "3 days" (singular or plural units).
std::optional<Period> parse_period(std::string_view text);
// `day` moved by `sign` * period: working days as Calendar::add_working_days, months as
// add_months.
Day shift(Day day, const Period& period, int sign, const Calendar& calendar);

// A rule as written in a rule file. Empty expression strings mean "absent".
struct RuleSpec {
  std::string name;
  RuleKind kind = RuleKind::Condition;
  std::string feed;
  std::string description;
  std::string title;  // a short name for people ("Assessment authorised"); "": made from the name
  std::string where;
  Severity severity = Severity::Warning;
  int64_t for_seconds = 0;
  std::vector<std::pair<std::string, std::string>> labels;
  std::vector<std::pair<std::string, std::string>> annotations;
  std::vector<std::string> metric_labels;
  bool enabled = true;
  // deadline
  std::string start, done, due;
  std::optional<Period> due_in, warn_before;
  // condition and aggregate
  std::string when;
  // aggregate
  std::vector<std::string> group_by;
  std::string value;
  bool export_value = false;
  std::string unit;  // exported as casewatch_rule_value's `unit` label: "ratio", "cases", ...
};

// A problem in a rule; `key` names the rule key at fault ("where", "labels.team", "group_by")
// and `offset` is a byte offset inside that key's text (0 when it concerns the whole key).
struct RuleError {
  std::string key;
  size_t offset = 0;
  std::string message;
};

struct Rule {
  RuleSpec spec;
  size_t feed = 0;  // index of the feed in the config
  std::shared_ptr<const Schema> schema;
  std::optional<Expression> where, when, start, done, due, value;
  std::vector<size_t> group_by;  // schema field indices
  std::vector<std::pair<std::string, Template>> labels, annotations;  // each sorted by name, a name once
};

// The schema fields the rule reads anywhere (its expressions, group_by, labels and annotations)
// and its feed's key, sorted, each once: a table that holds these columns evaluates it as one that
// holds them all.
std::vector<size_t> fields_read(const Rule& rule);
// By schema index of feed `feed` (with `fields` fields): whether any of `rules` reads it.
std::vector<bool> fields_read(const std::vector<Rule>& rules, size_t feed, size_t fields);

// Compiles `spec` against the schema of its feed. Returns nullopt and appends every problem
// found when the rule cannot be compiled.
std::optional<Rule> compile_rule(RuleSpec spec, size_t feed, std::shared_ptr<const Schema> schema,
                                 const LookupTables& tables, std::vector<RuleError>& errors);

}  // namespace casewatch
