// A deliberately naive evaluator of casewatch rules, written from docs/spec.md alone (sections 5
// and 12) without reading the engine: its own lexer, parser and evaluator, record by record and
// day by day, with no windows, caches, dictionaries or parallelism. It is the slow twin that the
// differential test compares the engine with; it is never used by casewatch itself.
// Thread-safe as plain functions over their arguments.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace casewatch::reference {

enum class Kind { Null, Bool, Number, String, Date };

// A value of the expression language (lists exist only as literals inside expressions).
struct Val {
  Kind kind = Kind::Null;
  bool boolean = false;
  double number = 0;
  std::string text;
  int32_t day = 0;  // Date: days since 1970-01-01 (proleptic Gregorian)

  static Val null() { return {}; }
  static Val of_bool(bool b) { Val v; v.kind = Kind::Bool; v.boolean = b; return v; }
  static Val of_number(double n) { Val v; v.kind = Kind::Number; v.number = n; return v; }
  static Val of_string(std::string s) { Val v; v.kind = Kind::String; v.text = std::move(s); return v; }
  static Val of_date(int32_t d) { Val v; v.kind = Kind::Date; v.day = d; return v; }
};

// One feed's accepted records (rows the loader rejects are not here).
struct FeedData {
  std::string name;
  std::vector<std::pair<std::string, Kind>> fields;  // name and declared type, in column order
  std::string key;                                    // the name of the key field
  std::vector<std::vector<Val>> records;              // in feed order; one Val per field
};

// A rule as written in a rule file (SPEC 5); an empty string means the key is absent.
struct RuleText {
  std::string name;
  std::string kind;  // "deadline", "condition" or "aggregate"
  std::string feed;
  std::string where;
  std::string severity = "warning";  // condition and aggregate
  std::vector<std::pair<std::string, std::string>> labels, annotations;  // name to template
  bool enabled = true;
  std::string start, done, due, due_in, warn_before;  // deadline; due_in e.g. "10 working days"
  std::string when;                                   // condition, aggregate
  std::vector<std::string> group_by;                  // aggregate
  std::string value;                                  // aggregate
};

struct Environment {
  std::set<int32_t> non_working_days;  // bank holidays and closure days; weekends are implied
  std::map<std::string, std::map<std::string, Val>> tables;  // [tables.NAME]: key to value
};

struct Alert {
  std::string rule, key, severity;
  std::map<std::string, std::string> labels;  // alertname, key, severity and the rule's labels
  std::map<std::string, std::string> annotations;
  std::optional<int32_t> due_date;            // deadline rules
  std::optional<double> value;                // aggregate rules (null value: none)
};

struct GroupValue {
  std::string rule, key;
  std::vector<std::pair<std::string, Val>> group;  // the group_by fields and their values
  std::optional<double> value;
};

struct Result {
  std::vector<Alert> alerts;       // sorted by rule name, then key
  std::vector<GroupValue> values;  // every group of every enabled aggregate rule, same order
};

// Evaluates every enabled rule as of `as_of` (a day number). Throws std::runtime_error on a
// rule it cannot parse or evaluate (the differential test only feeds it valid rules).
Result evaluate(const std::vector<RuleText>& rules, const std::vector<FeedData>& feeds, int32_t as_of,
                const Environment& environment);

// Text of a value as in a template (docs/spec.md section 12), exposed for the test's messages.
std::string to_text(const Val& value);

}  // namespace casewatch::reference
