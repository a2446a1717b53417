#include "config/rule_tests.h"

#include <filesystem>

#include "config/config.h"
#include "config/toml_util.h"

namespace casewatch {
namespace {

SourcePosition position_of(const toml::node& node) {
  return {static_cast<int>(node.source().begin.line), static_cast<int>(node.source().begin.column)};
}

// A row cell as the text a CSV extract would hold, so rows and csv take one path into a Table.
std::optional<std::string> cell_text(const toml::node& node) {
  if (const auto* s = node.as_string()) return s->get();
  if (const auto* i = node.as_integer()) return std::to_string(i->get());
  if (const auto* f = node.as_floating_point()) return number_to_text(f->get());
  if (const auto* b = node.as_boolean()) return b->get() ? "true" : "false";
  if (const auto* d = node.as_date()) {
    const toml::date& v = d->get();
    return format_iso(days_from_civil(v.year, v.month, v.day));
  }
  if (const auto* dt = node.as_date_time()) {
    const toml::date& v = dt->get().date;
    return format_iso(days_from_civil(v.year, v.month, v.day));
  }
  return std::nullopt;
}

std::optional<StringMap> string_map(const TomlFile& file, const toml::table& table,
                                                             std::string_view key, Diagnostics& d) {
  const toml::table* t = file.get_table(table, key, d);
  if (!t) return std::nullopt;
  StringMap out;
  for (const auto& [k, v] : *t) {
    if (v.is_string()) out.set(k.str(), v.as_string()->get());
    else file.error(v, std::string(key) + " values must be strings", d);
  }
  return out;
}

std::optional<std::string> date_text(const toml::node* node) {
  if (!node) return std::nullopt;
  if (node->is_string()) return node->as_string()->get();
  if (const auto* d = node->as_date()) {
    const toml::date& v = d->get();
    return format_iso(days_from_civil(v.year, v.month, v.day));
  }
  return std::nullopt;
}

}  // namespace

std::optional<RuleTestFile> load_rule_test_file(const std::string& path, Diagnostics& d) {
  size_t before = d.size();
  auto file = TomlFile::load(path, d);
  if (!file) return std::nullopt;
  const toml::table& root = file->root();
  file->reject_unknown_keys(root, {"config", "rules", "case"}, "a rule test file", d);
  RuleTestFile out;
  out.path = path;
  std::string directory = std::filesystem::path(path).parent_path().string();
  if (directory.empty()) directory = ".";
  if (auto v = file->get_string(root, "config", d)) out.config = resolve_path(directory, *v);
  else if (!root.get("config")) file->error(root, "a rule test file needs 'config'", d);
  if (auto v = file->get_string_array(root, "rules", d)) {
    out.rules = *v;
    out.rules_position = position_of(*root.get("rules"));
  }
  const toml::array* cases = root.get("case") ? root.get("case")->as_array() : nullptr;
  if (!cases) {
    file->error(root, "a rule test file needs [[case]] tables", d);
    return std::nullopt;
  }
  for (const auto& item : *cases) {
    const toml::table* table = item.as_table();
    if (!table) {
      file->error(item, "each case must be a table", d);
      continue;
    }
    file->reject_unknown_keys(*table, {"name", "at", "feeds", "expect", "value"}, "a [[case]]", d);
    RuleTestCase c;
    c.position = position_of(*table);
    c.name = file->get_string(*table, "name", d).value_or("");
    if (c.name.empty()) file->error(*table, "a case needs a 'name'", d);
    if (auto at = date_text(table->get("at"))) c.at = *at;
    else file->error(table->get("at") ? *table->get("at") : static_cast<const toml::node&>(*table),
                     "a case needs 'at', a date such as \"2017-06-14\"", d);
    if (const toml::table* feeds = file->get_table(*table, "feeds", d)) {
      for (const auto& [name, value] : *feeds) {
        RuleTestFeed feed;
        feed.feed = std::string(name.str());
        feed.position = position_of(value);
        const toml::table* spec = value.as_table();
        if (!spec) {
          file->error(value, "feed data must be a table with 'rows' or 'csv'", d);
          continue;
        }
        file->reject_unknown_keys(*spec, {"rows", "csv"}, "case feed data", d);
        if (auto csv = file->get_string(*spec, "csv", d)) feed.csv = *csv;
        if (const toml::node* rows = spec->get("rows")) {
          const toml::array* array = rows->as_array();
          if (!array) file->error(*rows, "'rows' must be an array of tables", d);
          for (size_t i = 0; array && i < array->size(); ++i) {
            const toml::table* row = (*array)[i].as_table();
            if (!row) {
              file->error((*array)[i], "each row must be a table of field = value", d);
              continue;
            }
            RuleTestRow r;
            for (const auto& [field, cell] : *row) {
              auto text = cell_text(cell);
              if (!text) {
                file->error(cell, "a cell must be a string, number, bool or date", d);
                continue;
              }
              r.cells.emplace_back(std::string(field.str()), *text);
              r.positions.push_back({static_cast<int>(field.source().begin.line), static_cast<int>(field.source().begin.column)});
            }
            feed.rows.push_back(std::move(r));
          }
        }
        if (feed.csv && !feed.rows.empty()) file->error(value, "give either 'rows' or 'csv', not both", d);
        c.feeds.push_back(std::move(feed));
      }
    }
    if (const toml::node* expects = table->get("expect")) {
      const toml::array* array = expects->as_array();
      if (!array) file->error(*expects, "expectations are [[case.expect]] tables", d);
      for (size_t i = 0; array && i < array->size(); ++i) {
        const toml::table* e = (*array)[i].as_table();
        if (!e) {
          file->error((*array)[i], "each expectation must be a table with 'rule', 'key' and 'severity'", d);
          continue;
        }
        file->reject_unknown_keys(*e, {"rule", "key", "severity", "labels", "annotations"}, "a [[case.expect]]", d);
        RuleTestExpect expect;
        expect.position = position_of(*e);
        expect.rule = file->get_string(*e, "rule", d).value_or("");
        expect.key = file->get_string(*e, "key", d).value_or("");
        if (expect.rule.empty()) file->error(*e, "an expectation needs 'rule'", d);
        if (!e->get("key")) file->error(*e, "an expectation needs 'key'", d);
        if (auto s = file->get_string(*e, "severity", d)) {
          if (auto severity = parse_severity(*s)) expect.severity = *severity;
          else file->error(*e->get("severity"), "severity '" + *s + "' is not one of info, warning, critical", d);
        } else if (!e->get("severity")) {
          file->error(*e, "an expectation needs 'severity'", d);
        }
        if (auto labels = string_map(*file, *e, "labels", d)) expect.labels = *labels;
        expect.annotations = string_map(*file, *e, "annotations", d);
        c.expects.push_back(std::move(expect));
      }
    }
    if (const toml::node* values = table->get("value")) {
      const toml::array* array = values->as_array();
      if (!array) file->error(*values, "value assertions are [[case.value]] tables", d);
      for (size_t i = 0; array && i < array->size(); ++i) {
        const toml::table* e = (*array)[i].as_table();
        if (!e) {
          file->error((*array)[i], "each value assertion must be a table with 'rule', 'group' and 'value'", d);
          continue;
        }
        file->reject_unknown_keys(*e, {"rule", "group", "value", "tolerance"}, "a [[case.value]]", d);
        RuleTestValue v;
        v.position = position_of(*e);
        v.rule = file->get_string(*e, "rule", d).value_or("");
        if (v.rule.empty()) file->error(*e, "a value assertion needs 'rule'", d);
        if (const toml::node* group = e->get("group")) {
          const toml::table* fields = group->as_table();
          if (!fields) file->error(*group, "'group' must be a table of field = value", d);
          for (const auto& [field, cell] : fields ? *fields : toml::table{}) {
            if (auto text = cell_text(cell)) v.group.set(field.str(), *text);
            else file->error(cell, "a group value must be a string, number, bool or date", d);
          }
        }
        for (const char* key : {"value", "tolerance"}) {
          const toml::node* n = e->get(key);
          if (!n) continue;
          std::optional<double> number = n->value<double>();
          if (!number) file->error(*n, std::string("'") + key + "' must be a number", d);
          else if (std::string_view(key) == "value") v.value = *number;
          else v.tolerance = *number;
        }
        c.values.push_back(std::move(v));
      }
    }
    out.cases.push_back(std::move(c));
  }
  if (d.size() != before) return std::nullopt;
  return out;
}

}  // namespace casewatch
