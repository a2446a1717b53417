#include "rules/engine.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>
#include <unordered_map>
#include <unordered_set>

#include "rules/parallel.h"

namespace casewatch {

OwnedValue OwnedValue::from(const Value& value) {
  OwnedValue out;
  out.type = value.type == Type::List ? Type::Null : value.type;
  out.boolean = value.boolean;
  out.number = value.number;
  out.day = value.day;
  if (value.type == Type::String) out.text = std::string(value.text);
  return out;
}

Value OwnedValue::view() const {
  switch (type) {
    case Type::Bool: return Value::of_bool(boolean);
    case Type::Number: return Value::of_number(number);
    case Type::String: return Value::of_string(text);
    case Type::Date: return Value::of_date(day);
    default: return {};
  }
}

namespace {

// The entries of `templates` (sorted by name) rendered, and of `fixed` (sorted by name, winning
// over a template of the same name), merged in name order. The text and entries are reused from
// one match to the next.
struct RenderedEntries {
  std::string text;
  std::vector<size_t> ends;
  std::vector<StringMap::value_type> entries;

  void render(std::span<const std::pair<std::string, Template>> templates,
              std::span<const StringMap::value_type> fixed, const EvalContext& context) {
    text.clear();
    ends.clear();
    for (const auto& [name, tmpl] : templates) {
      tmpl.render_to(context, text);
      ends.push_back(text.size());
    }
    entries.clear();
    size_t t = 0, f = 0;
    while (t < templates.size() || f < fixed.size()) {
      if (t < templates.size() && f < fixed.size() && templates[t].first == fixed[f].first) {
        ++t;  // a fixed entry wins, as the last of a name in a StringMap does
      } else if (f == fixed.size() || (t < templates.size() && templates[t].first < fixed[f].first)) {
        const size_t begin = t == 0 ? 0 : ends[t - 1];
        entries.emplace_back(templates[t].first, std::string_view(text).substr(begin, ends[t] - begin));
        ++t;
      } else {
        entries.push_back(fixed[f++]);
      }
    }
  }
};

// A match's labels and annotations rendered into the calling thread's buffers, then handed to
// `visit`: the one place a match's text is made.
// The labels every match carries, in name order; they win over the rule's labels of those names.
std::array<StringMap::value_type, 3> identity_labels(const Rule& rule, const Match& match) {
  return {{{"alertname", rule.spec.name}, {"key", match.key}, {"severity", severity_name(match.severity)}}};
}

template <class Visit>
void render_text(const Rule& rule, const Match& match, const EvalContext& context, Visit&& visit) {
  thread_local RenderedEntries labels, annotations;
  const auto identity = identity_labels(rule, match);
  labels.render(rule.labels, identity, context);
  annotations.render(rule.annotations, {}, context);
  visit(MatchTextEntries(labels.entries), MatchTextEntries(annotations.entries));
}

std::shared_ptr<const MatchText> text_now(const Rule& rule, const Match& match, const EvalContext& context) {
  auto text = std::make_shared<MatchText>();
  render_text(rule, match, context, [&](MatchTextEntries labels, MatchTextEntries annotations) {
    text->labels = StringMap::from_sorted(labels);
    text->annotations = StringMap::from_sorted(annotations);
  });
  return text;
}

// The variables a deadline rule's templates see: due_date, days_remaining, working_days_remaining.
std::array<Value, 3> deadline_variables(const Calendar& calendar, Day today, Day due) {
  return {Value::of_date(due), Value::of_number(due - today),
          Value::of_number(calendar.working_days_between(today, due))};
}

Severity deadline_severity(Day today, Day due) { return today > due ? Severity::Critical : Severity::Warning; }

void add_deadline_match(const EvaluationInput& input, size_t index, EvalContext& context, Day due,
                        EvaluationResult& out) {
  Match match;
  match.rule = index;
  match.key = std::string(context.table->key(context.row));
  match.severity = deadline_severity(input.as_of, due);
  match.due_date = due;
  match.as_of = input.as_of;
  match.row = static_cast<uint32_t>(context.row);
  out.matches.push_back(std::move(match));
}

// The record's due date: `due`, or `due_in` after the start; kNullDay when it has none (no date,
// or past what a date can hold).
Day due_date_of(const Rule& rule, const EvalContext& context, Day start) {
  if (rule.due) {
    Value v = rule.due->eval(context);
    return v.type == Type::Date ? v.day : kNullDay;
  }
  const Day due = shift(start, *rule.spec.due_in, +1, *context.calendar);
  return is_representable(due) ? due : kNullDay;
}

bool has_as_of_free_dates(const Rule& rule) {
  auto fixed = [](const std::optional<Expression>& e) { return !e || !e->depends_on_as_of(); };
  return fixed(rule.start) && fixed(rule.done) && fixed(rule.due);
}

// Records [begin, end) of a rule's snapshot.
struct RowRange {
  size_t begin, end;
};

RowRange all_rows(const EvaluationInput& input, size_t index) {
  return {0, input.feeds[input.rules[index].feed]->rows()};
}

// The windows of a rule with as-of-free dates (has_as_of_free_dates) for the records `rows`: the
// same tests as evaluate_deadline's, solved for the as-of date.
void find_deadline_windows(const EvaluationInput& input, size_t index, RowRange rows, DeadlineWindows& out) {
  const Rule& rule = input.rules[index];
  const Table& table = *input.feeds[rule.feed];
  const Calendar& calendar = *input.calendar;
  out.table_id = table.id();
  out.where_applied = !rule.where || !rule.where->depends_on_as_of();
  out.windows.clear();
  Arena arena;
  EvalContext context{&table, 0, {}, {}, kNullDay, input.calendar, input.tables, &arena};
  for (size_t row = rows.begin; row < rows.end; ++row) {
    context.row = row;
    arena.clear();
    if (rule.where && out.where_applied && !rule.where->eval(context).truthy()) continue;
    int64_t from = std::numeric_limits<Day>::min(), until = std::numeric_limits<Day>::max();
    Day start = kNullDay;
    if (rule.start) {
      Value v = rule.start->eval(context);
      if (v.type != Type::Date) continue;  // no start: the clock never starts
      start = v.day;
      from = start;                        // the clock has started
    }
    if (rule.done) {
      Value v = rule.done->eval(context);
      if (v.type == Type::Date) until = v.day;  // done from that day on
    }
    const Day due = due_date_of(rule, context, start);
    if (due == kNullDay) continue;
    // Overdue after the due date; due soon from `warn_before` before it.
    int64_t alert_from = int64_t{due} + 1;
    if (rule.spec.warn_before) alert_from = std::min<int64_t>(alert_from, shift(due, *rule.spec.warn_before, -1, calendar));
    from = std::max(from, alert_from);
    if (from >= until) continue;  // done before it could ever be due soon
    out.windows.push_back({static_cast<uint32_t>(row), static_cast<Day>(from), static_cast<Day>(until), due});
  }
}

// `only_due`: when a day, only the matches due that day (the rest are neither rendered nor kept).
// Only the windows of the records `rows` (the windows are in record order).
void evaluate_deadline_windows(const EvaluationInput& input, size_t index, const DeadlineWindows& windows,
                               Day only_due, RowRange rows, EvaluationResult& out) {
  const Rule& rule = input.rules[index];
  const Table& table = *input.feeds[rule.feed];
  const Day today = input.as_of;
  Arena arena;
  EvalContext context{&table, 0, {}, {}, today, input.calendar, input.tables, &arena};
  auto first = std::lower_bound(windows.windows.begin(), windows.windows.end(), rows.begin,
                                [](const DeadlineWindow& w, size_t row) { return w.row < row; });
  for (auto it = first; it != windows.windows.end() && it->row < rows.end; ++it) {
    const DeadlineWindow& w = *it;
    if (today < w.from || today >= w.until || (only_due != kNullDay && w.due != only_due)) continue;
    context.row = w.row;
    arena.clear();
    if (rule.where && !windows.where_applied && !rule.where->eval(context).truthy()) continue;
    add_deadline_match(input, index, context, w.due, out);
  }
}

// The rule's windows kept in the cache, or null when it keeps none for the rule.
DeadlineWindows* cached_windows(const EvaluationInput& input, size_t index) {
  if (!input.cache || index >= input.cache->deadlines.size() || !has_as_of_free_dates(input.rules[index]))
    return nullptr;
  return &input.cache->deadlines[index];
}

// Works the cached windows out again when they were made from another snapshot.
void refresh_cached_windows(const EvaluationInput& input, size_t index) {
  DeadlineWindows* windows = cached_windows(input, index);
  const Table& table = *input.feeds[input.rules[index].feed];
  if (windows && (windows->table_id != table.id() || table.id() == 0))
    find_deadline_windows(input, index, all_rows(input, index), *windows);
}

void evaluate_deadline(const EvaluationInput& input, size_t index, Day only_due, RowRange rows,
                       EvaluationResult& out) {
  const Rule& rule = input.rules[index];
  const Table& table = *input.feeds[rule.feed];
  if (has_as_of_free_dates(rule)) {
    if (DeadlineWindows* windows = cached_windows(input, index)) {
      refresh_cached_windows(input, index);
      return evaluate_deadline_windows(input, index, *windows, only_due, rows, out);
    }
    DeadlineWindows windows;
    find_deadline_windows(input, index, rows, windows);
    return evaluate_deadline_windows(input, index, windows, only_due, rows, out);
  }
  // Dates that move with the as-of date: every record, every time.
  const Day today = input.as_of;
  Arena arena;
  EvalContext context{&table, 0, {}, {}, today, input.calendar, input.tables, &arena};
  for (size_t row = rows.begin; row < rows.end; ++row) {
    context.row = row;
    arena.clear();
    if (rule.where && !rule.where->eval(context).truthy()) continue;
    Day start = kNullDay;
    if (rule.start) {
      Value v = rule.start->eval(context);
      if (v.type != Type::Date || v.day > today) continue;  // the clock has not started as of today
      start = v.day;
    }
    if (rule.done) {
      Value v = rule.done->eval(context);
      if (v.type == Type::Date && v.day <= today) continue;  // done (a later date is not done yet)
    }
    const Day due = due_date_of(rule, context, start);
    if (due == kNullDay || (only_due != kNullDay && due != only_due)) continue;
    if (!(today > due ||
          (rule.spec.warn_before && today >= shift(due, *rule.spec.warn_before, -1, *input.calendar))))
      continue;
    add_deadline_match(input, index, context, due, out);
  }
}

void evaluate_condition(const EvaluationInput& input, size_t index, RowRange rows, EvaluationResult& out) {
  const Rule& rule = input.rules[index];
  const Table& table = *input.feeds[rule.feed];
  Arena arena;
  EvalContext context{&table, 0, {}, {}, input.as_of, input.calendar, input.tables, &arena};
  for (size_t row = rows.begin; row < rows.end; ++row) {
    context.row = row;
    arena.clear();
    if (rule.where && !rule.where->eval(context).truthy()) continue;
    if (!rule.when->eval(context).truthy()) continue;
    Match match;
    match.rule = index;
    match.key = std::string(table.key(row));
    match.severity = rule.spec.severity;
    match.as_of = input.as_of;
    match.row = static_cast<uint32_t>(row);
    out.matches.push_back(std::move(match));
  }
}

// Running state of one aggregate call in one group.
struct Accumulator {
  double count = 0;      // records seen (count(), ratio denominators) or true conditions
  double total = 0;      // records for ratio()
  double sum = 0;
  double extreme = 0;
  bool has_value = false;
  std::unordered_set<std::string> distinct;
  std::unordered_map<std::string, double> tallies;  // max_count, count_at_least: records per value
};

// Bytes that identify a value exactly, for grouping and count_distinct.
void append_identity(const Value& v, std::string& out) {
  out.push_back(static_cast<char>(v.type));
  switch (v.type) {
    case Type::Bool: out.push_back(v.boolean ? 1 : 0); break;
    case Type::Number: {
      // 0 == -0: one group, one distinct value, as `==` says (their bytes differ).
      const double number = v.number == 0 ? 0.0 : v.number;
      out.append(reinterpret_cast<const char*>(&number), sizeof number);
      break;
    }
    case Type::Date: out.append(reinterpret_cast<const char*>(&v.day), sizeof v.day); break;
    case Type::String: {
      uint32_t n = static_cast<uint32_t>(v.text.size());
      out.append(reinterpret_cast<const char*>(&n), sizeof n);
      out.append(v.text);
      break;
    }
    default: break;
  }
}

void accumulate(const AggregateCall& call, const Expression& expression, const EvalContext& context,
                Accumulator& acc) {
  Value v = call.argument ? expression.eval_node(call.argument, context) : Value();
  switch (call.kind) {
    case AggregateKind::Count:
      if (!call.argument || v.truthy()) acc.count += 1;
      break;
    case AggregateKind::Ratio:
      acc.total += 1;
      if (v.truthy()) acc.count += 1;
      break;
    case AggregateKind::Sum:
    case AggregateKind::Avg:
      if (v.type == Type::Number) { acc.sum += v.number; acc.count += 1; acc.has_value = true; }
      break;
    case AggregateKind::Min:
    case AggregateKind::Max: {
      double x = v.type == Type::Number ? v.number : (v.type == Type::Date ? v.day : std::nan(""));
      if (std::isnan(x)) break;
      if (!acc.has_value || (call.kind == AggregateKind::Min ? x < acc.extreme : x > acc.extreme)) acc.extreme = x;
      acc.has_value = true;
      break;
    }
    case AggregateKind::CountDistinct:
      if (!v.is_null()) {
        std::string id;
        append_identity(v, id);
        acc.distinct.insert(std::move(id));
      }
      break;
    case AggregateKind::MaxCount:
    case AggregateKind::CountAtLeast:
      if (!v.is_null()) {
        std::string id;
        append_identity(v, id);
        acc.tallies[id] += 1;
      }
      break;
  }
}

Value result_of(const AggregateCall& call, const Accumulator& acc) {
  switch (call.kind) {
    case AggregateKind::Count: return Value::of_number(acc.count);
    case AggregateKind::Ratio: return acc.total > 0 ? Value::of_number(acc.count / acc.total) : Value();
    case AggregateKind::Sum: return acc.has_value ? Value::of_number(acc.sum) : Value();
    case AggregateKind::Avg: return acc.has_value ? Value::of_number(acc.sum / acc.count) : Value();
    case AggregateKind::Min:
    case AggregateKind::Max:
      if (!acc.has_value) return {};
      return call.argument_type == Type::Date ? Value::of_date(static_cast<Day>(acc.extreme)) : Value::of_number(acc.extreme);
    case AggregateKind::CountDistinct: return Value::of_number(static_cast<double>(acc.distinct.size()));
    case AggregateKind::MaxCount: {
      if (acc.tallies.empty()) return {};
      double most = 0;
      for (const auto& [id, n] : acc.tallies) most = std::max(most, n);
      return Value::of_number(most);
    }
    case AggregateKind::CountAtLeast: {
      double values = 0;
      for (const auto& [id, n] : acc.tallies) values += n >= call.threshold ? 1 : 0;
      return Value::of_number(values);
    }
  }
  return {};
}

void evaluate_aggregate(const EvaluationInput& input, size_t index, EvaluationResult& out) {
  const Rule& rule = input.rules[index];
  const Table& table = *input.feeds[rule.feed];
  const auto& calls = rule.value->aggregates();
  Arena arena;
  EvalContext context{&table, 0, {}, {}, input.as_of, input.calendar, input.tables, &arena};

  struct Group {
    size_t first_row;
    std::vector<Accumulator> accumulators;
  };
  std::vector<Group> groups;
  std::unordered_map<std::string, size_t> group_index;
  if (rule.group_by.empty()) groups.push_back({SIZE_MAX, std::vector<Accumulator>(calls.size())});
  std::string identity;
  // Grouping by string fields (the usual team, worker or child) goes by dictionary codes: one
  // field indexes an array, two pack into one integer; anything else falls back to bytes.
  bool by_codes = !rule.group_by.empty() && rule.group_by.size() <= 2 &&
                  std::all_of(rule.group_by.begin(), rule.group_by.end(),
                              [&](size_t f) {
                                const Column& column = table.column(f);
                                return column.type == Type::String && column.distinct_codes;
                              });
  std::vector<uint32_t> group_of_code;
  if (by_codes && rule.group_by.size() == 1)
    group_of_code.assign(table.column(rule.group_by[0]).dictionary.size() + 1, UINT32_MAX);
  std::unordered_map<uint64_t, size_t> group_of_pair;
  for (size_t row = 0; row < table.rows(); ++row) {
    context.row = row;
    if (rule.where && !rule.where->eval(context).truthy()) { arena.clear(); continue; }
    size_t g = 0;
    if (by_codes) {
      auto code = [&](size_t i) {
        uint32_t c = table.column(rule.group_by[i]).codes[row];
        return c == kNullCode ? static_cast<uint32_t>(table.column(rule.group_by[i]).dictionary.size()) : c;
      };
      if (rule.group_by.size() == 1) {
        uint32_t& slot = group_of_code[code(0)];
        if (slot == UINT32_MAX) {
          slot = static_cast<uint32_t>(groups.size());
          groups.push_back({row, std::vector<Accumulator>(calls.size())});
        }
        g = slot;
      } else {
        auto [it, inserted] = group_of_pair.try_emplace((static_cast<uint64_t>(code(0)) << 32) | code(1), groups.size());
        if (inserted) groups.push_back({row, std::vector<Accumulator>(calls.size())});
        g = it->second;
      }
    } else if (!rule.group_by.empty()) {
      identity.clear();
      for (size_t field : rule.group_by) append_identity(table.value(row, field), identity);
      auto [it, inserted] = group_index.try_emplace(identity, groups.size());
      if (inserted) groups.push_back({row, std::vector<Accumulator>(calls.size())});
      g = it->second;
    } else if (groups[0].first_row == SIZE_MAX) {
      groups[0].first_row = row;
    }
    for (size_t c = 0; c < calls.size(); ++c) accumulate(calls[c], *rule.value, context, groups[g].accumulators[c]);
    arena.clear();
  }

  std::vector<Value> results(calls.size());
  for (const Group& group : groups) {
    for (size_t c = 0; c < calls.size(); ++c) results[c] = result_of(calls[c], group.accumulators[c]);
    bool has_row = group.first_row != SIZE_MAX;
    EvalContext group_context{has_row ? &table : nullptr, has_row ? group.first_row : 0, {}, results,
                              input.as_of, input.calendar, input.tables, &arena};
    Value value = rule.value->eval(group_context);

    GroupValue gv;
    gv.rule = index;
    for (size_t i = 0; i < rule.group_by.size(); ++i) {
      Value field = table.value(group.first_row, rule.group_by[i]);
      if (i) gv.key += '/';
      // A '/' (or '\\') inside a value is escaped, so ("a/b", "c") and ("a", "b/c") stay apart.
      for (char c : value_to_text(field)) {
        if (c == '/' || c == '\\') gv.key += '\\';
        gv.key += c;
      }
      gv.group.emplace_back(rule.schema->fields[rule.group_by[i]].name, OwnedValue::from(field));
    }
    if (value.type == Type::Number) gv.value = value.number;

    Value variables[] = {value};
    group_context.variables = variables;
    group_context.aggregates = {};
    if (rule.when && rule.when->eval(group_context).truthy()) {
      Match match;
      match.rule = index;
      match.key = gv.key;
      match.severity = rule.spec.severity;
      match.value = gv.value;
      match.as_of = input.as_of;
      match.text = text_now(rule, match, group_context);
      out.matches.push_back(std::move(match));
    }
    out.values.push_back(std::move(gv));
    arena.clear();
  }
}

}  // namespace

namespace {

bool is_evaluated(const EvaluationInput& input, size_t index) {
  const Rule& rule = input.rules[index];
  return rule.spec.enabled && rule.feed < input.feeds.size() && input.feeds[rule.feed];
}

// The records `rows` of rule `index` (all of them for an aggregate).
void evaluate_rows(const EvaluationInput& input, size_t index, RowRange rows, EvaluationResult& out) {
  switch (input.rules[index].spec.kind) {
    case RuleKind::Deadline: return evaluate_deadline(input, index, kNullDay, rows, out);
    case RuleKind::Condition: return evaluate_condition(input, index, rows, out);
    case RuleKind::Aggregate: return evaluate_aggregate(input, index, out);
  }
}

}  // namespace

namespace {

// Calls `render(context)` with the context a match's templates are rendered in: its record, its
// as-of date and, for a deadline, its due date's variables.
template <class Render>
void with_text_context(const EvaluationInput& input, const Match& match, Render&& render) {
  const Rule& rule = input.rules[match.rule];
  // One arena per thread, not per match: an empty std::deque already allocates.
  thread_local Arena arena;
  arena.clear();
  EvalContext context{input.feeds[rule.feed], match.row, {}, {}, match.as_of, input.calendar, input.tables, &arena};
  std::array<Value, 3> variables;
  if (rule.spec.kind == RuleKind::Deadline) {
    variables = deadline_variables(*input.calendar, match.as_of, match.due_date);
    context.variables = variables;
  }
  render(context);
}

}  // namespace

void visit_match_text(const EvaluationInput& input, const Match& match,
                      const std::function<void(MatchTextEntries labels, MatchTextEntries annotations)>& visit) {
  if (match.text) {
    thread_local std::vector<StringMap::value_type> labels, annotations;
    labels.assign(match.text->labels.begin(), match.text->labels.end());
    annotations.assign(match.text->annotations.begin(), match.text->annotations.end());
    return visit(labels, annotations);
  }
  with_text_context(input, match, [&](const EvalContext& context) {
    render_text(input.rules[match.rule], match, context, visit);
  });
}

std::string match_label(const EvaluationInput& input, const Match& match, std::string_view name) {
  if (match.text) return std::string(match.text->labels.value_or_empty(name));
  const Rule& rule = input.rules[match.rule];
  for (const auto& [identity, value] : identity_labels(rule, match))
    if (identity == name) return std::string(value);
  auto label = std::find_if(rule.labels.begin(), rule.labels.end(), [&](const auto& l) { return l.first == name; });
  if (label == rule.labels.end()) return {};
  std::string out;
  with_text_context(input, match, [&](const EvalContext& context) { label->second.render_to(context, out); });
  return out;
}

MatchText match_text(const EvaluationInput& input, const Match& match) {
  if (match.text) return *match.text;
  MatchText text;
  visit_match_text(input, match, [&](MatchTextEntries labels, MatchTextEntries annotations) {
    text.labels = StringMap::from_sorted(labels);
    text.annotations = StringMap::from_sorted(annotations);
  });
  return text;
}

std::shared_ptr<const MatchText> shared_match_text(const EvaluationInput& input, const Match& match) {
  return match.text ? match.text : std::make_shared<const MatchText>(match_text(input, match));
}

void evaluate_rule(const EvaluationInput& input, size_t index, EvaluationResult& out) {
  if (is_evaluated(input, index)) evaluate_rows(input, index, all_rows(input, index), out);
}

void evaluate_due_on(const EvaluationInput& input, size_t index, Day day, EvaluationResult& out) {
  const Rule& rule = input.rules[index];
  if (!rule.spec.enabled || rule.spec.kind != RuleKind::Deadline || rule.feed >= input.feeds.size() ||
      !input.feeds[rule.feed] || day == kNullDay)
    return;
  EvaluationInput next = input;
  next.as_of = day + 1;
  evaluate_deadline(next, index, day, all_rows(next, index), out);
}

namespace {

// Sorts by rule name, then key. The order is worked out on small entries and the items are then
// moved once each: moving an item (a match's key, a group's values) is dearer than moving an
// entry, and a sort moves each item many times.
template <class Item>
void sort_by_rule_then_key(std::span<const Rule> rules, std::vector<Item>& items) {
  struct Entry {
    std::string_view rule, key;
    size_t index;
  };
  std::vector<Entry> entries;
  entries.reserve(items.size());
  for (size_t i = 0; i < items.size(); ++i) entries.push_back({rules[items[i].rule].spec.name, items[i].key, i});
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return a.rule != b.rule ? a.rule < b.rule : a.key < b.key;
  });
  std::vector<Item> sorted;
  sorted.reserve(items.size());
  for (const Entry& entry : entries) sorted.push_back(std::move(items[entry.index]));
  items = std::move(sorted);
}

}  // namespace

void sort_result(std::span<const Rule> rules, EvaluationResult& result) {
  sort_by_rule_then_key(rules, result.matches);
  sort_by_rule_then_key(rules, result.values);
}

std::vector<size_t> evaluation_order(const EvaluationInput& input) {
  std::vector<size_t> order;
  auto rows = [&](size_t i) {
    const Rule& rule = input.rules[i];
    return rule.feed < input.feeds.size() && input.feeds[rule.feed] ? input.feeds[rule.feed]->rows() : 0;
  };
  for (size_t i = 0; i < input.rules.size(); ++i) order.push_back(i);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return rows(a) > rows(b); });
  return order;
}

namespace {

// A rule's records [rows.begin, rows.end), evaluated as one piece of work.
struct Piece {
  size_t rule;
  RowRange rows;
};

// Every evaluated rule in pieces, the biggest first. An aggregate is one piece (its groups span
// the records); so is a rule whose cached windows could not be shared safely (a snapshot with no
// id is worked out afresh by every piece).
std::vector<Piece> evaluation_pieces(const EvaluationInput& input, const std::vector<size_t>& order) {
  std::vector<Piece> pieces;
  const size_t per_piece = std::max<size_t>(1, input.rows_per_piece);
  for (size_t index : order) {
    if (!is_evaluated(input, index)) continue;
    const RowRange all = all_rows(input, index);
    const bool divisible = input.rules[index].spec.kind != RuleKind::Aggregate &&
                           (!cached_windows(input, index) || input.feeds[input.rules[index].feed]->id() != 0);
    const size_t count = divisible ? std::max<size_t>(1, (all.end + per_piece - 1) / per_piece) : 1;
    for (size_t k = 0; k < count; ++k) pieces.push_back({index, {all.end * k / count, all.end * (k + 1) / count}});
  }
  std::stable_sort(pieces.begin(), pieces.end(), [](const Piece& a, const Piece& b) {
    return a.rows.end - a.rows.begin > b.rows.end - b.rows.begin;
  });
  return pieces;
}

// Moves the items of `parts` (each sorted by key) to `out` onwards, merged by key.
template <class Item>
void merge_by_key(const std::vector<std::vector<Item>*>& parts, Item* out) {
  std::vector<size_t> next(parts.size(), 0);
  for (;;) {
    size_t best = parts.size();
    for (size_t p = 0; p < parts.size(); ++p)
      if (next[p] < parts[p]->size() &&
          (best == parts.size() || (*parts[p])[next[p]].key < (*parts[best])[next[best]].key))
        best = p;
    if (best == parts.size()) break;
    *out++ = std::move((*parts[best])[next[best]++]);
  }
  for (auto* part : parts) *part = std::vector<Item>();  // moved from: give back its memory now
}

}  // namespace

EvaluationResult evaluate(const EvaluationInput& input) {
  // Cached windows made from another snapshot are worked out again first, a rule per core, so
  // that the pieces of a rule only read them.
  const std::vector<size_t> rules_order = evaluation_order(input);
  std::vector<size_t> stale;
  for (size_t index : rules_order)
    if (is_evaluated(input, index) && cached_windows(input, index)) stale.push_back(index);
  parallel_for_each(stale, [&](size_t index) { refresh_cached_windows(input, index); });

  // Each piece is evaluated and sorted by key on one core; the pieces of a rule are then merged,
  // rule by rule in the order of their names: the whole sorted by rule and key, with no sort of
  // it all left for one core.
  const std::vector<Piece> pieces = evaluation_pieces(input, rules_order);
  std::vector<EvaluationResult> parts(pieces.size());
  std::vector<size_t> order(pieces.size());
  std::iota(order.begin(), order.end(), 0);
  parallel_for_each(order, [&](size_t p) {
    evaluate_rows(input, pieces[p].rule, pieces[p].rows, parts[p]);
    sort_result(input.rules, parts[p]);
  });
  std::vector<size_t> by_name(input.rules.size());
  std::iota(by_name.begin(), by_name.end(), 0);
  std::stable_sort(by_name.begin(), by_name.end(),
                   [&](size_t a, size_t b) { return input.rules[a].spec.name < input.rules[b].spec.name; });
  // Each rule's place in the result, then its pieces merged there, a rule per core.
  std::vector<std::vector<std::vector<Match>*>> matches_of(input.rules.size());
  std::vector<std::vector<std::vector<GroupValue>*>> values_of(input.rules.size());
  for (size_t p = 0; p < pieces.size(); ++p) {
    matches_of[pieces[p].rule].push_back(&parts[p].matches);
    values_of[pieces[p].rule].push_back(&parts[p].values);
  }
  std::vector<size_t> match_at(input.rules.size()), value_at(input.rules.size());
  size_t matches = 0, values = 0;
  for (size_t index : by_name) {
    match_at[index] = matches;
    value_at[index] = values;
    for (const auto* part : matches_of[index]) matches += part->size();
    for (const auto* part : values_of[index]) values += part->size();
  }
  EvaluationResult result;
  result.matches.resize(matches);
  result.values.resize(values);
  parallel_for_each(rules_order, [&](size_t index) {
    merge_by_key(matches_of[index], result.matches.data() + match_at[index]);
    merge_by_key(values_of[index], result.values.data() + value_at[index]);
  });
  return result;
}

}  // namespace casewatch
