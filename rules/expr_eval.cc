// The tree-walking evaluator. Never throws and never allocates except for strings that
// functions make (stored in the context's Arena).
#include <algorithm>
#include <cctype>
#include <cmath>

#include "rules/expr_ast.h"

namespace casewatch {

void LookupTables::add(const std::string& table, const std::string& key, const Value& value) {
  Value stored = value;
  if (value.type == Type::String) stored.text = strings_.emplace_back(value.text);
  tables_[table][key] = stored;
}

std::optional<Type> LookupTables::value_type(std::string_view table) const {
  auto it = tables_.find(table);
  if (it == tables_.end() || it->second.empty()) return std::nullopt;
  Type type = it->second.begin()->second.type;
  for (const auto& [key, value] : it->second)
    if (value.type != type) return std::nullopt;
  return type;
}

const Value* LookupTables::find(std::string_view table, std::string_view key) const {
  auto it = tables_.find(table);
  if (it == tables_.end()) return nullptr;
  auto entry = it->second.find(key);
  return entry == it->second.end() ? nullptr : &entry->second;
}

std::vector<std::string> LookupTables::names() const {
  std::vector<std::string> out;
  for (const auto& [name, table] : tables_) out.push_back(name);
  return out;
}

namespace {

// -1, 0, 1; nullopt when the values cannot be ordered (null, or different types).
std::optional<int> compare(const Value& a, const Value& b) {
  if (a.type != b.type || a.is_null()) return std::nullopt;
  switch (a.type) {
    case Type::Number: return a.number < b.number ? -1 : (a.number > b.number ? 1 : 0);
    case Type::Date: return a.day < b.day ? -1 : (a.day > b.day ? 1 : 0);
    case Type::String: {
      int c = a.text.compare(b.text);
      return c < 0 ? -1 : (c > 0 ? 1 : 0);
    }
    case Type::Bool: return static_cast<int>(a.boolean) - static_cast<int>(b.boolean);
    default: return std::nullopt;
  }
}

std::string_view store(const EvalContext& context, std::string text) {
  static thread_local Arena fallback;  // only when a caller passes no arena (tests)
  return (context.arena ? *context.arena : fallback).store(std::move(text));
}

int whole(double n) {
  if (!(n >= -1e7 && n <= 1e7)) return n < 0 ? -10000000 : 10000000;  // far past any calendar
  return static_cast<int>(std::trunc(n));
}

bool is_null_literal(const Node& node) { return node.kind == NodeKind::Literal && node.literal.is_null(); }

Value eval_binary(const Node& node, const EvalContext& context) {
  if (node.op == TokenKind::And) {
    if (!eval_node(*node.children[0], context).truthy()) return Value::of_bool(false);
    return Value::of_bool(eval_node(*node.children[1], context).truthy());
  }
  if (node.op == TokenKind::Or) {
    if (eval_node(*node.children[0], context).truthy()) return Value::of_bool(true);
    return Value::of_bool(eval_node(*node.children[1], context).truthy());
  }
  Value l = eval_node(*node.children[0], context);
  Value r = eval_node(*node.children[1], context);
  switch (node.op) {
    case TokenKind::Equal: return Value::of_bool(values_equal(l, r));
    case TokenKind::NotEqual:
      // `x != null` asks whether x has a value; any other != with one side null is, like every
      // comparison with null, false (SPEC 5.1): `status != 'Closed'` is false for a null status.
      if (l.is_null() != r.is_null())
        return Value::of_bool(is_null_literal(*node.children[0]) || is_null_literal(*node.children[1]));
      return Value::of_bool(!values_equal(l, r));
    case TokenKind::Less: { auto c = compare(l, r); return Value::of_bool(c && *c < 0); }
    case TokenKind::LessEqual: { auto c = compare(l, r); return Value::of_bool(c && *c <= 0); }
    case TokenKind::Greater: { auto c = compare(l, r); return Value::of_bool(c && *c > 0); }
    case TokenKind::GreaterEqual: { auto c = compare(l, r); return Value::of_bool(c && *c >= 0); }
    case TokenKind::In: {
      if (l.is_null() || r.type != Type::List) return Value::of_bool(false);
      for (const Value& item : r.list)
        if (values_equal(l, item)) return Value::of_bool(true);
      return Value::of_bool(false);
    }
    default: break;
  }
  if (l.is_null() || r.is_null()) return {};
  switch (node.op) {
    case TokenKind::Plus:
      if (l.type == Type::Date && r.type == Type::Number) return Value::of_date(l.day + whole(r.number));
      if (l.type == Type::Number && r.type == Type::Number) return Value::of_number(l.number + r.number);
      return {};
    case TokenKind::Minus:
      if (l.type == Type::Date && r.type == Type::Date) return Value::of_number(l.day - r.day);
      if (l.type == Type::Date && r.type == Type::Number) return Value::of_date(l.day - whole(r.number));
      if (l.type == Type::Number && r.type == Type::Number) return Value::of_number(l.number - r.number);
      return {};
    case TokenKind::Star:
      if (l.type == Type::Number && r.type == Type::Number) return Value::of_number(l.number * r.number);
      return {};
    case TokenKind::Slash:
      // Division by zero gives null, like any other value that cannot be known.
      if (l.type == Type::Number && r.type == Type::Number && r.number != 0) return Value::of_number(l.number / r.number);
      return {};
    default: return {};
  }
}

std::string change_case(std::string_view text, bool upper) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(upper ? std::toupper(static_cast<unsigned char>(c)) : std::tolower(static_cast<unsigned char>(c)));
  return out;
}

Value eval_call(const Node& node, const EvalContext& context) {
  if (node.function == Function::Coalesce) {
    for (const auto& child : node.children) {
      Value v = eval_node(*child, context);
      if (!v.is_null()) return v;
    }
    return {};
  }
  if (node.function == Function::Today) return Value::of_date(context.today);
  Value a = node.children.size() > 0 ? eval_node(*node.children[0], context) : Value();
  if (node.function == Function::IsNull) return Value::of_bool(a.is_null());
  if (node.function == Function::Lookup) {
    Value key = eval_node(*node.children[1], context);
    if (!key.is_null() && context.tables) {
      std::string key_text;
      std::string_view key_view = key.text;
      if (key.type != Type::String) key_view = key_text = value_to_text(key);
      if (const Value* found = context.tables->find(a.text, key_view)) return *found;
    }
    return eval_node(*node.children[2], context);
  }
  Value b = node.children.size() > 1 ? eval_node(*node.children[1], context) : Value();
  if (a.is_null()) return {};
  const Calendar* calendar = context.calendar;
  switch (node.function) {
    case Function::Date:
      if (a.type == Type::Date) return a;
      if (a.type == Type::String) {
        auto day = parse_iso_date(trim(a.text));
        return day ? Value::of_date(*day) : Value();
      }
      return {};
    case Function::DaysBetween:
      if (a.type != Type::Date || b.type != Type::Date) return {};
      return Value::of_number(b.day - a.day);
    case Function::WorkingDaysBetween:
      if (a.type != Type::Date || b.type != Type::Date || !calendar) return {};
      return Value::of_number(calendar->working_days_between(a.day, b.day));
    case Function::AddDays:
      if (a.type != Type::Date || b.type != Type::Number) return {};
      return Value::of_date(a.day + whole(b.number));
    case Function::AddWorkingDays:
      if (a.type != Type::Date || b.type != Type::Number || !calendar) return {};
      return Value::of_date(calendar->add_working_days(a.day, whole(b.number)));
    case Function::AddMonths:
      if (a.type != Type::Date || b.type != Type::Number) return {};
      return Value::of_date(add_months(a.day, whole(b.number)));
    case Function::AgeYears: {
      if (a.type != Type::Date || context.today == kNullDay) return {};
      CivilDate born = civil_from_days(a.day), now = civil_from_days(context.today);
      int years = now.year - born.year;
      if (now.month < born.month || (now.month == born.month && now.day < born.day)) --years;
      return Value::of_number(years);
    }
    case Function::Lower:
    case Function::Upper:
      if (a.type != Type::String) return {};
      return Value::of_string(store(context, change_case(a.text, node.function == Function::Upper)));
    case Function::Contains:
      if (a.type != Type::String || b.type != Type::String) return {};
      return Value::of_bool(a.text.find(b.text) != std::string_view::npos);
    case Function::StartsWith:
      if (a.type != Type::String || b.type != Type::String) return {};
      return Value::of_bool(a.text.starts_with(b.text));
    case Function::Matches:
      if (a.type != Type::String || !node.regex) return {};
      return Value::of_bool(RE2::PartialMatch(a.text, *node.regex));
    case Function::FormatDate:
      if (a.type != Type::Date || b.type != Type::String) return {};
      return Value::of_string(store(context, format_date(a.day, b.text)));
    case Function::Round: {
      if (a.type != Type::Number) return {};
      if (node.children.size() > 1 && b.type != Type::Number) return {};  // round(x, null)
      double digits = node.children.size() > 1 ? b.number : 0;
      if (std::isnan(digits)) return {};
      return Value::of_number(round_decimal(a.number, static_cast<int>(std::clamp(std::trunc(digits), -15.0, 15.0))));
    }
    default: return {};
  }
}

}  // namespace

Value eval_node(const Node& node, const EvalContext& context) {
  switch (node.kind) {
    case NodeKind::Literal:
    case NodeKind::List: return node.literal;
    case NodeKind::Field: return context.table ? context.table->value(context.row, node.slot) : Value();
    case NodeKind::Variable: return node.slot < context.variables.size() ? context.variables[node.slot] : Value();
    case NodeKind::Aggregate: return node.slot < context.aggregates.size() ? context.aggregates[node.slot] : Value();
    case NodeKind::Unary: {
      Value v = eval_node(*node.children[0], context);
      if (node.op == TokenKind::Not) return Value::of_bool(!v.truthy());
      return v.type == Type::Number ? Value::of_number(-v.number) : Value();
    }
    case NodeKind::Binary: return eval_binary(node, context);
    case NodeKind::Call: return eval_call(node, context);
  }
  return {};
}

namespace {

// The functions whose value eval_call works out from context.today: today() itself and
// age_years(), whose years are counted up to today().
bool function_reads_as_of(Function function) { return function == Function::Today || function == Function::AgeYears; }

bool reads_as_of(const Node& node) {
  if (node.kind == NodeKind::Variable) return true;
  if (node.kind == NodeKind::Call && function_reads_as_of(node.function)) return true;
  for (const auto& child : node.children)
    if (reads_as_of(*child)) return true;
  return false;
}

void collect_fields(const Node& node, std::vector<size_t>& out) {
  if (node.kind == NodeKind::Field) out.push_back(node.slot);
  for (const auto& child : node.children) collect_fields(*child, out);
}

}  // namespace

Expression::Expression() = default;

std::optional<Expression> Expression::compile(std::string_view source, const Scope& scope,
                                              std::vector<ExprError>& errors) {
  size_t before = errors.size();
  auto tokens = lex_expression(source);
  auto root = parse_expression(tokens, errors);
  if (!root) return std::nullopt;
  Expression expression;
  expression.source_ = std::string(source);
  check_expression(*root, scope, expression.aggregates_, errors);
  if (errors.size() != before) return std::nullopt;
  expression.depends_on_as_of_ = reads_as_of(*root);
  collect_fields(*root, expression.fields_read_);
  std::sort(expression.fields_read_.begin(), expression.fields_read_.end());
  expression.fields_read_.erase(std::unique(expression.fields_read_.begin(), expression.fields_read_.end()),
                                expression.fields_read_.end());
  expression.root_ = std::move(root);
  return expression;
}

Value Expression::eval(const EvalContext& context) const { return casewatch::eval_node(*root_, context); }

Value Expression::eval_node(const Node* node, const EvalContext& context) const {
  return casewatch::eval_node(*node, context);
}

StaticType Expression::type() const { return root_ ? root_->type : StaticType::unknown(); }

}  // namespace casewatch
