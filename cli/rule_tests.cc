// `casewatch test`: rule unit tests (SPEC 8). Each case builds its feeds from rows or CSV text,
// evaluates the tested rules at the case's date, and compares (rule, key, severity) sets exactly.
#include <algorithm>
#include <cmath>
#include <map>
#include <ostream>
#include <set>
#include <tuple>

#include "cli/commands.h"
#include "cli/output.h"
#include "config/as_of.h"
#include "config/config.h"
#include "config/rule_tests.h"
#include "integrations/feed_loader.h"
#include "rules/engine.h"

namespace casewatch {
namespace {

using Identity = std::tuple<std::string, std::string, Severity>;

std::string describe(const Identity& id) {
  return std::get<0>(id) + " key=" + std::get<1>(id) + " severity=" + std::string(severity_name(std::get<2>(id)));
}

std::string group_text(const StringMap& group) {
  std::string out = "{";
  for (const auto& [name, value] : group) out.append(out.size() > 1 ? ", " : "").append(name).append(" = \"").append(value).append("\"");
  return out + "}";
}

// The case's feeds as snapshots: named feeds from their rows or CSV, every other feed empty.
bool build_feeds(const RuleTestFile& file, const RuleTestCase& c, const Config& config,
                 std::vector<std::shared_ptr<const Table>>& tables, Diagnostics& diagnostics) {
  bool ok = true;
  tables.assign(config.feeds.size(), nullptr);
  for (const RuleTestFeed& data : c.feeds) {
    int index = config.feed_index(data.feed);
    if (index < 0) {
      diagnostics.error(file.path, data.position.line, data.position.column, "unknown feed '" + data.feed + "'");
      ok = false;
      continue;
    }
    const FeedConfig& feed = config.feeds[index];
    if (data.csv) {
      FeedLoad load = load_csv(feed, *data.csv, file.path + " (case '" + c.name + "', feed " + data.feed + ")", std::nullopt);
      for (const RejectedRow& row : load.rejected_rows)
        diagnostics.error(file.path, data.position.line, data.position.column,
                          "feed '" + data.feed + "' csv line " + std::to_string(row.line) + ": " +
                              (row.field.empty() ? "" : "field '" + row.field + "': ") + row.reason);
      if (!load.accepted || load.rejected > 0) {
        if (!load.accepted && load.rejected == 0)
          diagnostics.error(file.path, data.position.line, data.position.column, "feed '" + data.feed + "': " + load.error);
        ok = false;
        continue;
      }
      tables[index] = load.table;
      continue;
    }
    TableBuilder builder(feed.schema, DateParser(feed.date_format), feed.valid_dates);
    std::vector<std::string_view> cells(feed.fields.size());
    std::vector<const RuleTestRow*> accepted;  // the rows the builder took, for a duplicate key
    // At the cell of `field`; at the row's first cell when it has none (an empty key).
    auto reject = [&](const RuleTestRow& row, size_t field, std::string_view message) {
      SourcePosition at = row.positions.empty() ? data.position : row.positions[0];
      for (size_t i = 0; i < row.cells.size(); ++i)
        if (feed.schema->field_index(row.cells[i].first) == static_cast<int>(field)) at = row.positions[i];
      diagnostics.error(file.path, at.line, at.column,
                        "row rejected: field '" + feed.fields[field].name + "': " + std::string(message));
      ok = false;
    };
    for (const RuleTestRow& row : data.rows) {
      std::fill(cells.begin(), cells.end(), std::string_view());
      bool row_ok = true;
      for (size_t i = 0; i < row.cells.size(); ++i) {
        int field = feed.schema->field_index(row.cells[i].first);
        if (field < 0) {
          diagnostics.error(file.path, row.positions[i].line, row.positions[i].column,
                            "feed '" + data.feed + "' has no field '" + row.cells[i].first + "'");
          row_ok = false;
          continue;
        }
        cells[field] = trim(row.cells[i].second);
      }
      if (!row_ok) { ok = false; continue; }
      if (auto problem = builder.add_row(cells))
        reject(row, problem->field, problem->message);
      else
        accepted.push_back(&row);
    }
    for (size_t row : builder.drop_duplicate_keys()) reject(*accepted[row], feed.schema->key, TableBuilder::kDuplicateKey);
    tables[index] = std::make_shared<const Table>(builder.finish());
  }
  for (size_t i = 0; i < tables.size(); ++i)
    if (!tables[i]) tables[i] = std::make_shared<const Table>(config.feeds[i].schema);
  return ok;
}

// Runs one case; returns true when it passed. Failures are explained on `out`.
bool run_case(const RuleTestFile& file, const RuleTestCase& c, const Config& config, const std::vector<Rule>& rules,
              std::ostream& out, Diagnostics& diagnostics) {
  auto as_of = parse_as_of(c.at, config.engine.timezone);
  if (!as_of) {
    diagnostics.error(file.path, c.position.line, c.position.column, "'at' must be YYYY-MM-DD or RFC 3339, not '" + c.at + "'");
    return false;
  }
  std::vector<std::shared_ptr<const Table>> tables;
  if (!build_feeds(file, c, config, tables, diagnostics)) return false;
  std::vector<const Table*> pointers;
  for (const auto& t : tables) pointers.push_back(t.get());
  EvaluationInput input{rules, pointers, as_of->day, config.calendar.get(), config.tables.get()};
  EvaluationResult result = evaluate(input);

  std::map<Identity, const Match*> actual;
  for (const Match& m : result.matches) actual[{rules[m.rule].spec.name, m.key, m.severity}] = &m;
  std::set<Identity> expected;
  std::vector<std::string> problems;
  for (const RuleTestExpect& e : c.expects) {
    Identity id{e.rule, e.key, e.severity};
    expected.insert(id);
    auto it = actual.find(id);
    if (it == actual.end()) {
      problems.push_back("missing: " + describe(id));
      continue;
    }
    const MatchText m = match_text(input, *it->second);
    for (const auto& [name, value] : e.labels) {
      auto label = m.labels.find(name);
      if (label == m.labels.end() || label->second != value)
        problems.push_back(describe(id) + ": label " + std::string(name) + " is \"" +
                           std::string(label == m.labels.end() ? "(absent)" : label->second) + "\", expected \"" +
                           std::string(value) + "\"");
    }
    if (e.annotations && *e.annotations != m.annotations) {
      for (const auto& [name, value] : *e.annotations) {
        auto a = m.annotations.find(name);
        if (a == m.annotations.end() || a->second != value)
          problems.push_back(describe(id) + ": annotation " + std::string(name) + " is \"" +
                             std::string(a == m.annotations.end() ? "(absent)" : a->second) + "\", expected \"" +
                             std::string(value) + "\"");
      }
      for (const auto& [name, value] : m.annotations)
        if (!e.annotations->contains(name)) problems.push_back(describe(id) + ": unexpected annotation " + std::string(name));
    }
  }
  for (const auto& [id, match] : actual)
    if (!expected.count(id)) problems.push_back("extra: " + describe(id));
  for (const RuleTestValue& v : c.values) {
    std::string what = v.rule + " group " + group_text(v.group);
    const GroupValue* found = nullptr;
    for (const GroupValue& g : result.values) {
      if (rules[g.rule].spec.name != v.rule || g.group.size() != v.group.size()) continue;
      bool same = std::all_of(g.group.begin(), g.group.end(), [&](const auto& field) {
        auto it = v.group.find(field.first);
        return it != v.group.end() && it->second == value_to_text(field.second.view());
      });
      if (same) found = &g;
    }
    std::string actual_text = found && found->value ? number_to_text(*found->value) : "null";
    if (!v.value) {
      if (found && found->value) problems.push_back(what + ": value is " + actual_text + ", expected none");
    } else if (!found) {
      problems.push_back(what + ": no such group, expected value " + number_to_text(*v.value));
    } else if (!found->value || !(std::abs(*found->value - *v.value) <= v.tolerance)) {
      problems.push_back(what + ": value is " + actual_text + ", expected " + number_to_text(*v.value));
    }
  }
  if (problems.empty()) {
    out << "PASS  " << file.path << ": " << c.name << '\n';
    return true;
  }
  out << "FAIL  " << file.path << ":" << c.position.line << ": " << c.name << " (at " << c.at << ")\n";
  for (const auto& p : problems) out << "        " << p << '\n';
  return false;
}

}  // namespace

int run_tests(const std::vector<std::string>& files, std::ostream& out, std::ostream& err) {
  size_t passed = 0, failed = 0;
  bool errors = false;
  std::map<std::string, std::optional<Config>> configs;  // each config loaded once
  for (const std::string& path : files) {
    Diagnostics diagnostics;
    auto file = load_rule_test_file(path, diagnostics);
    if (!file) {
      diagnostics.print(err);
      errors = true;
      continue;
    }
    auto [it, inserted] = configs.try_emplace(file->config);
    if (inserted) {
      Diagnostics config_diagnostics;
      it->second = load_config(file->config, config_diagnostics);
      config_diagnostics.print(err);
    }
    if (!it->second) {
      err << path << ": error: its config " << file->config << " does not load\n";
      errors = true;
      continue;
    }
    const Config& config = *it->second;
    std::vector<Rule> rules;
    for (const std::string& name : file->rules) {
      if (config.rule_index(name) < 0)
        diagnostics.error(path, file->rules_position.line, file->rules_position.column, "unknown rule '" + name + "'");
    }
    for (const Rule& rule : config.rules)
      if (file->rules.empty() || std::count(file->rules.begin(), file->rules.end(), rule.spec.name)) rules.push_back(rule);
    for (const RuleTestCase& c : file->cases) {
      for (const RuleTestExpect& e : c.expects)
        if (std::none_of(rules.begin(), rules.end(), [&](const Rule& r) { return r.spec.name == e.rule; }))
          diagnostics.error(path, e.position.line, e.position.column, "expectation names rule '" + e.rule + "', which this file does not test");
      for (const RuleTestValue& v : c.values) {
        auto rule = std::find_if(rules.begin(), rules.end(), [&](const Rule& r) { return r.spec.name == v.rule; });
        if (rule == rules.end()) {
          diagnostics.error(path, v.position.line, v.position.column, "value assertion names rule '" + v.rule + "', which this file does not test");
        } else if (rule->spec.kind != RuleKind::Aggregate) {
          diagnostics.error(path, v.position.line, v.position.column, "rule '" + v.rule + "' is not an aggregate: it has no value");
        } else {
          std::set<std::string> expected(rule->spec.group_by.begin(), rule->spec.group_by.end()), given;
          for (const auto& [field, value] : v.group) given.emplace(field);
          if (given != expected) {
            std::string fields;
            for (const std::string& f : rule->spec.group_by) fields += (fields.empty() ? "" : ", ") + f;
            diagnostics.error(path, v.position.line, v.position.column,
                              "'group' must name exactly the rule's group_by fields (" +
                                  (fields.empty() ? std::string("none") : fields) + ")");
          }
        }
      }
    }
    if (!diagnostics.empty()) {
      diagnostics.print(err);
      errors = true;
      continue;
    }
    for (const RuleTestCase& c : file->cases) {
      Diagnostics case_diagnostics;
      if (run_case(*file, c, config, rules, out, case_diagnostics)) ++passed;
      else ++failed;
      if (!case_diagnostics.empty()) {
        case_diagnostics.print(err);
        out << "FAIL  " << path << ": " << c.name << " (errors above)\n";
      }
    }
  }
  out << passed << " passed, " << failed << " failed\n";
  return (failed || errors) ? kExitProblems : kExitOk;
}

}  // namespace casewatch
