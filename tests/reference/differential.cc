#include "tests/reference/differential.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <set>
#include <tuple>

#include "rules/calendar.h"
#include "rules/engine.h"
#include "rules/forecast.h"
#include "rules/rule.h"
#include "rules/table.h"

namespace casewatch::difftest {
namespace {

using reference::Kind;
using reference::Val;

std::string text_of(const Val& v) {
  static const char* kinds[] = {"null", "bool", "number", "string", "date"};
  return std::string(kinds[static_cast<int>(v.kind)]) + ":" + reference::to_text(v);
}

Val val_of(const OwnedValue& v) {
  switch (v.type) {
    case Type::Bool: return Val::of_bool(v.boolean);
    case Type::Number: return Val::of_number(v.number);
    case Type::String: return Val::of_string(v.text);
    case Type::Date: return Val::of_date(v.day);
    default: return Val::null();
  }
}

Value value_of(const Val& v) {
  switch (v.kind) {
    case Kind::Bool: return Value::of_bool(v.boolean);
    case Kind::Number: return Value::of_number(v.number);
    case Kind::String: return Value::of_string(v.text);
    case Kind::Date: return Value::of_date(v.day);
    default: return {};
  }
}

std::string optional_number(const std::optional<double>& n) { return n ? number_to_text(*n) : "none"; }

// One line per alert and per group value, so that two results compare as sorted lists.
std::string line_of(const reference::Alert& a) {
  std::string out = "alert " + a.rule + " key=" + a.key + " severity=" + a.severity +
                    " due=" + (a.due_date ? format_iso(*a.due_date) : "none") + " value=" + optional_number(a.value);
  for (const auto& [name, text] : a.labels) out += " label." + name + "=\"" + text + "\"";
  for (const auto& [name, text] : a.annotations) out += " annotation." + name + "=\"" + text + "\"";
  return out;
}

std::string line_of(const reference::GroupValue& g) {
  std::string out = "value " + g.rule + " key=" + g.key + " value=" + optional_number(g.value) + " group=";
  for (const auto& [name, v] : g.group) out += name + "=" + text_of(v) + ";";
  return out;
}

std::vector<std::string> lines_of(const reference::Result& result) {
  std::vector<std::string> out;
  for (const auto& a : result.alerts) out.push_back(line_of(a));
  for (const auto& g : result.values) out.push_back(line_of(g));
  return out;
}

// The engine's matches with their text rendered when read, through `input` (what they were
// evaluated with), as eval, the daemon and the pages read it.
std::vector<std::string> lines_of(const EvaluationResult& result, const EvaluationInput& input) {
  std::vector<std::string> out;
  for (const Match& m : result.matches) {
    const MatchText text = match_text(input, m);
    reference::Alert a;
    a.rule = input.rules[m.rule].spec.name;
    a.key = m.key;
    a.severity = std::string(severity_name(m.severity));
    // Read into the reference's std::map, so that the engine's compact map is checked too.
    for (const auto& [name, value] : text.labels) a.labels.emplace(name, value);
    for (const auto& [name, value] : text.annotations) a.annotations.emplace(name, value);
    if (m.due_date != kNullDay) a.due_date = m.due_date;
    a.value = m.value;
    out.push_back(line_of(a));
  }
  for (const GroupValue& v : result.values) {
    reference::GroupValue g;
    g.rule = input.rules[v.rule].spec.name;
    g.key = v.key;
    g.value = v.value;
    for (const auto& [name, value] : v.group) g.group.emplace_back(name, val_of(value));
    out.push_back(line_of(g));
  }
  return out;
}

// The engine's results are sorted by rule name, then key (eval prints them in that order), each
// (rule, key) once: "" or where that fails. `difference` compares them as sets.
std::string order_problem(const EvaluationResult& result, const std::vector<Rule>& rules) {
  auto check = [&](const auto& items, const char* what) -> std::string {
    for (size_t i = 1; i < items.size(); ++i) {
      const auto& a = items[i - 1];
      const auto& b = items[i];
      const std::string_view rule_a = rules[a.rule].spec.name, rule_b = rules[b.rule].spec.name;
      if (std::tie(rule_a, a.key) >= std::tie(rule_b, b.key))
        return std::string(what) + " out of order: " + std::string(rule_a) + " " + a.key + " before " +
               std::string(rule_b) + " " + b.key + "\n";
    }
    return "";
  };
  return check(result.matches, "alerts") + check(result.values, "values");
}

// What one side has that the other lacks, at most a few lines of each.
std::string difference(std::vector<std::string> engine, std::vector<std::string> reference) {
  std::sort(engine.begin(), engine.end());
  std::sort(reference.begin(), reference.end());
  if (engine == reference) return "";
  std::vector<std::string> only_engine, only_reference;
  std::set_difference(engine.begin(), engine.end(), reference.begin(), reference.end(), std::back_inserter(only_engine));
  std::set_difference(reference.begin(), reference.end(), engine.begin(), engine.end(), std::back_inserter(only_reference));
  std::string out;
  auto list = [&](const char* what, const std::vector<std::string>& lines) {
    for (size_t i = 0; i < lines.size() && i < 6; ++i) out += std::string("  ") + what + lines[i] + "\n";
    if (lines.size() > 6) out += "  ... and " + std::to_string(lines.size() - 6) + " more\n";
  };
  list("engine only:    ", only_engine);
  list("reference only: ", only_reference);
  if (out.empty()) out = "  the same lines, but not equally often\n";
  return out;
}

std::string forecast_line(Day day, const std::string& team, const std::string& worker, const std::string& rule,
                          size_t count) {
  return "forecast " + format_iso(day) + " team=\"" + team + "\" worker=\"" + worker + "\" rule=" + rule +
         " count=" + std::to_string(count);
}

std::optional<RuleKind> kind_of(const std::string& kind) {
  if (kind == "deadline") return RuleKind::Deadline;
  if (kind == "condition") return RuleKind::Condition;
  if (kind == "aggregate") return RuleKind::Aggregate;
  return std::nullopt;
}

}  // namespace

std::string run_case(const Case& c) {
  // The engine's world: schemas, lookup tables, the calendar.
  std::vector<std::shared_ptr<const Schema>> schemas;
  for (const FeedCase& feed : c.feeds) {
    auto schema = std::make_shared<Schema>();
    for (const FieldDef& f : feed.fields) schema->fields.push_back({f.name, f.type});
    schema->key = feed.key;
    schemas.push_back(schema);
  }
  LookupTables tables;
  reference::Environment environment;
  for (const std::string& name : c.table_names) {
    tables.declare(name);
    environment.tables[name];
  }
  for (const TableEntry& e : c.table_entries) {
    tables.add(e.table, e.key, value_of(e.value));
    environment.tables[e.table][e.key] = e.value;
  }
  std::vector<Day> non_working = Calendar::england_and_wales_bank_holidays();
  non_working.insert(non_working.end(), c.extra_non_working_days.begin(), c.extra_non_working_days.end());
  Calendar calendar(non_working);
  environment.non_working_days.insert(non_working.begin(), non_working.end());

  std::vector<Rule> rules;
  for (const RuleCase& text : c.rules) {
    RuleSpec spec;
    spec.name = text.name;
    spec.kind = *kind_of(text.kind);
    spec.feed = text.feed;
    spec.where = text.where;
    spec.severity = parse_severity(text.severity).value_or(Severity::Warning);
    spec.labels = text.labels;
    spec.annotations = text.annotations;
    spec.enabled = text.enabled;
    spec.start = text.start;
    spec.done = text.done;
    spec.due = text.due;
    if (!text.due_in.empty()) spec.due_in = parse_period(text.due_in);
    if (!text.warn_before.empty()) spec.warn_before = parse_period(text.warn_before);
    if ((!text.due_in.empty() && !spec.due_in) || (!text.warn_before.empty() && !spec.warn_before))
      return "the engine cannot read the period of rule " + text.name + "\n" + describe(c, 0);
    spec.when = text.when;
    spec.group_by = text.group_by;
    spec.value = text.value;
    size_t feed = 0;
    while (feed < c.feeds.size() && c.feeds[feed].name != text.feed) ++feed;
    std::vector<RuleError> errors;
    auto rule = compile_rule(std::move(spec), feed, schemas[feed], tables, errors);
    if (!rule) {
      std::string out = "the engine refused rule " + text.name + ":\n";
      for (const RuleError& e : errors) out += "  " + e.key + " at " + std::to_string(e.offset) + ": " + e.message + "\n";
      return out + describe(c, 0);
    }
    rules.push_back(std::move(*rule));
  }

  // Odd seeds build each table with only the columns the rules read, as eval does; even seeds with
  // every column, as the daemon does. The reference always sees whole records.
  std::vector<std::vector<bool>> stored(c.feeds.size());
  if (c.seed % 2 == 1)
    for (size_t f = 0; f < c.feeds.size(); ++f) stored[f] = fields_read(rules, f, c.feeds[f].fields.size());

  std::vector<std::shared_ptr<const Table>> snapshots(c.feeds.size());
  std::vector<reference::FeedData> data(c.feeds.size());
  EvaluationCache cache(rules.size());
  for (size_t s = 0; s < c.steps.size(); ++s) {
    const Step& step = c.steps[s];
    for (size_t f = 0; f < c.feeds.size(); ++f) {
      if (!step.changed[f]) continue;
      const FeedCase& feed = c.feeds[f];
      TableBuilder builder(schemas[f], DateParser(feed.date_format), DateRange{c.valid_from, c.valid_until});
      if (!stored[f].empty()) builder.store_only(stored[f]);
      std::vector<std::string> accepted;
      for (const auto& row : step.snapshots[f].rows) {
        std::vector<std::string_view> cells;
        for (const Cell& cell : row) cells.push_back(cell.text);
        if (!builder.add_row(cells)) accepted.push_back(row[feed.key].text);
      }
      const std::vector<size_t> duplicates = builder.drop_duplicate_keys();
      for (auto row = duplicates.rbegin(); row != duplicates.rend(); ++row) accepted.erase(accepted.begin() + *row);
      snapshots[f] = std::make_shared<const Table>(builder.finish());
      data[f] = accepted_records(feed, step.snapshots[f]);
      std::vector<std::string> expected;
      for (const auto& record : data[f].records) expected.push_back(record[feed.key].text);
      if (accepted != expected)
        return "the loader and the reference accept different records of " + feed.name + " at step " +
               std::to_string(s) + ":\n" + difference(accepted, expected) + describe(c, s);
    }
    std::vector<const Table*> feeds;
    for (const auto& t : snapshots) feeds.push_back(t.get());

    reference::Result expected;
    try {
      expected = reference::evaluate(c.rules, data, step.as_of, environment);
    } catch (const std::exception& e) {
      return std::string("the reference failed: ") + e.what() + "\n" + describe(c, s);
    }
    EvaluationInput input{rules, feeds, step.as_of, &calendar, &tables, nullptr};
    // Three seeds in four split every deadline and condition rule into pieces of 1 to 8 records.
    if (c.seed % 4 != 0) input.rows_per_piece = 1 + (c.seed / 4 + s) % 8;
    EvaluationResult fresh = evaluate(input);
    input.cache = &cache;
    EvaluationResult cached = evaluate(input);
    std::string as_of = format_iso(step.as_of);
    if (auto diff = difference(lines_of(fresh, input), lines_of(expected)); !diff.empty())
      return "engine (no cache) and reference disagree as of " + as_of + ":\n" + diff + describe(c, s);
    if (auto diff = difference(lines_of(cached, input), lines_of(expected)); !diff.empty())
      return "engine (cache kept across steps) and reference disagree as of " + as_of + ":\n" + diff + describe(c, s);
    for (const EvaluationResult* result : {&fresh, &cached})
      if (auto problem = order_problem(*result, rules); !problem.empty())
        return "the engine's results as of " + as_of + " are not sorted by rule and key: " + problem + describe(c, s);

    // The forecast builds only the matches due on each day: against the reference evaluated the
    // day after, its alerts due that day counted.
    std::vector<std::string> forecast_lines, expected_forecast;
    for (const ForecastCount& f : forecast(input, step.as_of, step.as_of + 1))
      forecast_lines.push_back(forecast_line(f.day, f.team, f.worker, f.rule, f.count));
    for (Day day = step.as_of; day <= step.as_of + 1; ++day) {
      std::map<std::tuple<std::string, std::string, std::string>, size_t> counts;
      for (const reference::Alert& a : reference::evaluate(c.rules, data, day + 1, environment).alerts) {
        if (a.due_date != day) continue;
        auto label = [&](const char* name) { return a.labels.count(name) ? a.labels.at(name) : std::string(); };
        ++counts[{label("team"), label("worker"), a.rule}];
      }
      for (const auto& [k, n] : counts)
        expected_forecast.push_back(forecast_line(day, std::get<0>(k), std::get<1>(k), std::get<2>(k), n));
    }
    if (auto diff = difference(forecast_lines, expected_forecast); !diff.empty())
      return "the forecast and the reference disagree around " + as_of + ":\n" + diff + describe(c, s);
  }
  return "";
}

}  // namespace casewatch::difftest
