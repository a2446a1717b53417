#include "rules/rule.h"

#include <algorithm>
#include <charconv>

namespace casewatch {

std::string_view rule_kind_name(RuleKind kind) {
  switch (kind) {
    case RuleKind::Deadline: return "deadline";
    case RuleKind::Condition: return "condition";
    case RuleKind::Aggregate: return "aggregate";
  }
  return "?";
}

std::string_view severity_name(Severity severity) {
  switch (severity) {
    case Severity::Info: return "info";
    case Severity::Warning: return "warning";
    case Severity::Critical: return "critical";
  }
  return "?";
}

std::optional<Severity> parse_severity(std::string_view text) {
  if (text == "info") return Severity::Info;
  if (text == "warning") return Severity::Warning;
  if (text == "critical") return Severity::Critical;
  return std::nullopt;
}

std::optional<Period> parse_period(std::string_view text) {
  text = trim(text);
  Period period;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), period.amount);
  if (ec != std::errc() || period.amount < 0) return std::nullopt;
  std::string_view unit = trim(text.substr(ptr - text.data()));
  if (unit == "day" || unit == "days") period.unit = PeriodUnit::Days;
  else if (unit == "working day" || unit == "working days") period.unit = PeriodUnit::WorkingDays;
  else if (unit == "week" || unit == "weeks") period.unit = PeriodUnit::Weeks;
  else if (unit == "month" || unit == "months") period.unit = PeriodUnit::Months;
  else return std::nullopt;
  return period;
}

Day shift(Day day, const Period& period, int sign, const Calendar& calendar) {
  if (day == kNullDay) return kNullDay;
  int n = sign * period.amount;
  switch (period.unit) {
    case PeriodUnit::Days: return day + n;
    case PeriodUnit::WorkingDays: return calendar.add_working_days(day, n);
    case PeriodUnit::Weeks: return day + 7 * n;
    case PeriodUnit::Months: return add_months(day, n);
  }
  return kNullDay;
}

namespace {

class RuleCompiler {
 public:
  RuleCompiler(Rule& rule, const LookupTables& tables, std::vector<RuleError>& errors)
      : rule_(rule), tables_(tables), errors_(errors) {}

  bool compile() {
    const RuleSpec& spec = rule_.spec;
    Scope record;
    record.schema = rule_.schema.get();
    record.tables = &tables_;

    if (!spec.where.empty()) rule_.where = expression("where", spec.where, record, Type::Bool);
    switch (spec.kind) {
      case RuleKind::Deadline: compile_deadline(record); break;
      case RuleKind::Condition:
        if (spec.when.empty()) error("when", "a condition rule needs 'when'");
        else rule_.when = expression("when", spec.when, record, Type::Bool);
        templates(record);
        break;
      case RuleKind::Aggregate: compile_aggregate(); break;
    }
    for (const auto& name : spec.metric_labels) {
      if (std::none_of(spec.labels.begin(), spec.labels.end(), [&](const auto& l) { return l.first == name; })) {
        error("metric_labels", "metric label '" + name + "' is not one of the rule's labels");
        continue;
      }
      // A metric label is published on /metrics: it may not carry anything about a child.
      for (const auto& [label, tmpl] : rule_.labels)
        if (label == name)
          for (size_t field : tmpl.fields_read())
            if (is_personal(field))
              error("metric_labels", "metric label '" + name + "' reads the personal field '" +
                                         rule_.schema->fields[field].name +
                                         "': it would publish data about a child on /metrics");
    }
    return !failed_;
  }

 private:
  void error(const std::string& key, std::string message, size_t offset = 0) {
    errors_.push_back({key, offset, std::move(message)});
    failed_ = true;
  }

  bool is_personal(size_t field) const {
    return field == rule_.schema->key || rule_.schema->fields[field].personal;
  }

  std::optional<Expression> expression(const std::string& key, const std::string& text, const Scope& scope,
                                       std::optional<Type> expected) {
    std::vector<ExprError> found;
    auto compiled = Expression::compile(text, scope, found);
    for (auto& e : found) error(key, std::move(e.message), e.offset);
    if (compiled && expected) {
      StaticType t = compiled->type();
      if (!t.any && t.type != Type::Null && t.type != *expected)
        error(key, "'" + key + "' must give a " + std::string(type_name(*expected)) + ", but this gives a " +
                       static_type_name(t));
    }
    return compiled;
  }

  void templates(const Scope& scope) {
    auto compile_all = [&](const char* group, const auto& source, auto& target) {
      for (const auto& [name, text] : source) {
        std::vector<ExprError> found;
        auto compiled = Template::compile(text, scope, found);
        std::string key = std::string(group) + "." + name;
        for (auto& e : found) error(key, std::move(e.message), e.offset);
        if (compiled) target.emplace_back(name, std::move(*compiled));
      }
    };
    for (const auto& [name, text] : rule_.spec.labels)
      if (name == "alertname" || name == "key" || name == "severity")
        error("labels." + name, "label '" + name + "' is set by casewatch itself");
    compile_all("labels", rule_.spec.labels, rule_.labels);
    compile_all("annotations", rule_.spec.annotations, rule_.annotations);
    // In the order of a StringMap (by name, the last of a name kept), so that each match's maps
    // are written straight out without a sort.
    for (auto* templates : {&rule_.labels, &rule_.annotations}) {
      std::stable_sort(templates->begin(), templates->end(),
                       [](const auto& a, const auto& b) { return a.first < b.first; });
      std::vector<std::pair<std::string, Template>> kept;
      for (size_t i = 0; i < templates->size(); ++i)
        if (i + 1 == templates->size() || (*templates)[i].first != (*templates)[i + 1].first)
          kept.push_back(std::move((*templates)[i]));
      *templates = std::move(kept);
    }
  }

  void compile_deadline(const Scope& record) {
    const RuleSpec& spec = rule_.spec;
    if (!spec.start.empty()) rule_.start = expression("start", spec.start, record, Type::Date);
    if (!spec.done.empty()) rule_.done = expression("done", spec.done, record, Type::Date);
    if (!spec.due.empty()) rule_.due = expression("due", spec.due, record, Type::Date);
    if (spec.due.empty() == !spec.due_in.has_value())
      error("due_in", "a deadline rule needs exactly one of 'due_in' and 'due'");
    if (spec.due_in && spec.start.empty()) error("start", "'due_in' counts from 'start', which is missing");
    if (!spec.when.empty()) error("when", "a deadline rule has no 'when'; use 'where'");
    Scope with_deadline = record;
    with_deadline.variables = {{"due_date", Type::Date}, {"days_remaining", Type::Number},
                               {"working_days_remaining", Type::Number}};
    templates(with_deadline);
  }

  void compile_aggregate() {
    const RuleSpec& spec = rule_.spec;
    Scope group;
    group.schema = rule_.schema.get();
    group.tables = &tables_;
    for (const auto& name : spec.group_by) {
      int index = rule_.schema->field_index(name);
      if (index < 0) {
        error("group_by", "unknown field '" + name + "' in group_by");
        continue;
      }
      rule_.group_by.push_back(static_cast<size_t>(index));
      group.allowed_fields.push_back(name);
      if (spec.export_value && static_cast<size_t>(index) == rule_.schema->key)
        error("export", "cannot export a rule grouped by its feed's key '" + name +
                            "': record keys must never become metric labels");
      else if (spec.export_value && is_personal(static_cast<size_t>(index)))
        error("export", "cannot export a rule grouped by the personal field '" + name +
                            "': its values would become metric labels on /metrics");
      else if (spec.export_value && (name == "rule" || (name == "unit" && !spec.unit.empty())))
        error("group_by", "an exported rule cannot group by '" + name + "': casewatch_rule_value has a label '" +
                              name + "' of its own");
    }
    if (group.allowed_fields.empty()) group.allowed_fields.push_back("\x01");  // no fields at all
    // Inside its aggregate calls `value` sees every field; outside them only the group's fields,
    // which alone have one value for the whole group.
    Scope value_scope = group;
    value_scope.allow_aggregates = true;
    if (spec.value.empty()) {
      error("value", "an aggregate rule needs 'value'");
    } else {
      rule_.value = expression("value", spec.value, value_scope, Type::Number);
      if (rule_.value && rule_.value->aggregates().empty())
        error("value", "'value' must use an aggregate such as count(), sum(x) or ratio(cond)");
    }
    group.variables = {{"value", Type::Number}};
    if (!spec.when.empty()) rule_.when = expression("when", spec.when, group, Type::Bool);
    templates(group);
  }

  Rule& rule_;
  const LookupTables& tables_;
  std::vector<RuleError>& errors_;
  bool failed_ = false;
};

}  // namespace

std::vector<size_t> fields_read(const Rule& rule) {
  std::vector<size_t> out{rule.schema->key};
  auto add = [&](const std::vector<size_t>& fields) { out.insert(out.end(), fields.begin(), fields.end()); };
  for (const auto* expression : {&rule.where, &rule.when, &rule.start, &rule.done, &rule.due, &rule.value})
    if (*expression) add((*expression)->fields_read());
  add(rule.group_by);
  for (const auto* templates : {&rule.labels, &rule.annotations})
    for (const auto& [name, tmpl] : *templates) add(tmpl.fields_read());
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::vector<bool> fields_read(const std::vector<Rule>& rules, size_t feed, size_t fields) {
  std::vector<bool> read(fields, false);
  for (const Rule& rule : rules)
    if (rule.feed == feed)
      for (size_t field : fields_read(rule)) read[field] = true;
  return read;
}

std::optional<Rule> compile_rule(RuleSpec spec, size_t feed, std::shared_ptr<const Schema> schema,
                                 const LookupTables& tables, std::vector<RuleError>& errors) {
  Rule rule;
  rule.spec = std::move(spec);
  rule.feed = feed;
  rule.schema = std::move(schema);
  if (!RuleCompiler(rule, tables, errors).compile()) return std::nullopt;
  return rule;
}

}  // namespace casewatch
