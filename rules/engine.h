// The rule engine: snapshots of feeds and an as-of date in, matches out. No I/O, no clock.
// `evaluate_rule` is re-entrant: the caller may evaluate different rules on different threads.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "rules/calendar.h"
#include "rules/rule.h"
#include "rules/string_map.h"
#include "rules/table.h"

namespace casewatch {

// A value that owns its text, for results that outlive the snapshot they came from.
struct OwnedValue {
  Type type = Type::Null;
  bool boolean = false;
  double number = 0;
  Day day = kNullDay;
  std::string text;

  static OwnedValue from(const Value& value);
  Value view() const;
};

// A match's labels (alertname, key, severity and the rule's labels) and annotations.
struct MatchText {
  StringMap labels;
  StringMap annotations;
};

// What a rule found: small, with nothing rendered. A record's labels and annotations are rendered
// when they are read (match_text), from its record and the rule's templates as of `as_of`: at
// national scale most matches are never read one by one, and a result held all day would
// otherwise hold their text twice over.
struct Match {
  size_t rule = 0;  // index into the rule list evaluated
  std::string key;
  Severity severity = Severity::Warning;
  Day due_date = kNullDay;          // deadline rules
  Day as_of = kNullDay;             // the date its text is rendered as of
  uint32_t row = 0;                 // its record in the rule's snapshot
  std::optional<double> value;      // aggregate rules
  // Set when the text cannot be rendered again from one record (an aggregate's group: there are
  // few), or was given (tests, alerts restored); null otherwise.
  std::shared_ptr<const MatchText> text;
};

struct GroupValue {
  size_t rule = 0;
  std::string key;  // the group's values joined with '/'
  std::vector<std::pair<std::string, OwnedValue>> group;
  std::optional<double> value;
};

struct EvaluationResult {
  std::vector<Match> matches;     // sorted by rule name, then key
  std::vector<GroupValue> values; // aggregate rules, every group, sorted by rule name then key
};

// For a deadline rule whose start, done and due do not depend on the as-of date: the records
// that can ever be due soon or overdue, each with its window of as-of dates [from, until) in
// which it is, and its due date. Working these out is most of a deadline rule's work; with them,
// a new as-of date costs a comparison per record.
struct DeadlineWindow {
  uint32_t row;
  Day from, until, due;
};
struct DeadlineWindows {
  uint64_t table_id = 0;  // the snapshot they were worked out from
  bool where_applied = false;  // `where` does not depend on the as-of date: already applied
  std::vector<DeadlineWindow> windows;
};

// What an as-of change cannot alter, kept from one evaluation to the next: the daemon keeps one
// across its evaluations, so that re-evaluating unchanged snapshots at a new time is cheap. Sized
// for the rule list; each rule touches only its own entry, so rules may evaluate side by side.
struct EvaluationCache {
  explicit EvaluationCache(size_t rules = 0) : deadlines(rules) {}
  std::vector<DeadlineWindows> deadlines;  // by rule index
};

struct EvaluationInput {
  std::span<const Rule> rules;
  // One snapshot per feed of the config, by feed index; null when the feed has no snapshot (its
  // rules are skipped).
  std::span<const Table* const> feeds;
  Day as_of = kNullDay;
  const Calendar* calendar = nullptr;
  const LookupTables* tables = nullptr;
  // Optional: kept between evaluations of the same rules (entries are remade when a snapshot
  // changes). Without one, each evaluation works everything out afresh.
  EvaluationCache* cache = nullptr;
  // evaluate() splits a deadline or condition rule over a bigger snapshot into pieces of about
  // this many records, so that one big rule does not leave the other cores idle.
  size_t rows_per_piece = size_t{1} << 17;
};

// The labels and annotations of a match of `input`: its own `text` when it has one, otherwise
// rendered from its record in `input.feeds` (which must be the snapshots it was evaluated on).
MatchText match_text(const EvaluationInput& input, const Match& match);
// One label of a match, as match_text would give it ("" when it has none), rendering no other.
std::string match_label(const EvaluationInput& input, const Match& match, std::string_view name);
// The labels and annotations, shared: the match's own `text` when it has one (no copy), otherwise
// rendered once.
std::shared_ptr<const MatchText> shared_match_text(const EvaluationInput& input, const Match& match);

// The same entries, handed to `visit(labels, annotations)` as spans of (name, text) in name order,
// without building the maps: they are valid during the call only. For writers that copy the text
// straight into their output.
using MatchTextEntries = std::span<const StringMap::value_type>;
void visit_match_text(const EvaluationInput& input, const Match& match,
                      const std::function<void(MatchTextEntries labels, MatchTextEntries annotations)>& visit);

// Appends the matches and values of rule `index` to `out` (unsorted).
void evaluate_rule(const EvaluationInput& input, size_t index, EvaluationResult& out);

// The matches of deadline rule `index` due on `day` as it sees them the day after, when each is
// overdue: those of evaluate_rule as of day + 1 whose due date is `day`, the others never built.
// Nothing for a rule of another kind. `input.as_of` is ignored.
void evaluate_due_on(const EvaluationInput& input, size_t index, Day day, EvaluationResult& out);

// Every enabled rule whose feed has a snapshot, side by side on the machine's cores (a big
// deadline or condition rule in pieces of `input.rows_per_piece` records); results sorted.
EvaluationResult evaluate(const EvaluationInput& input);

// The rules' indices, those over the biggest snapshots first: the order in which to hand them to
// parallel_for_each.
std::vector<size_t> evaluation_order(const EvaluationInput& input);

void sort_result(std::span<const Rule> rules, EvaluationResult& result);

}  // namespace casewatch
