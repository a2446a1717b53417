// Name resolution and static type checking: everything that can be known from the feed's field
// types is reported before any record is read.
#include <algorithm>
#include <cmath>

#include "rules/expr_ast.h"

namespace casewatch {

std::string static_type_name(StaticType type) {
  return type.any ? "any" : std::string(type_name(type.type));
}

namespace {

struct FunctionInfo {
  std::string_view name;
  Function function;
  size_t min_args;
  size_t max_args;  // SIZE_MAX: variadic
  bool aggregate = false;
};

constexpr size_t kVariadic = static_cast<size_t>(-1);

constexpr FunctionInfo kFunctions[] = {
    {"today", Function::Today, 0, 0},
    {"date", Function::Date, 1, 1},
    {"days_between", Function::DaysBetween, 2, 2},
    {"working_days_between", Function::WorkingDaysBetween, 2, 2},
    {"add_days", Function::AddDays, 2, 2},
    {"add_working_days", Function::AddWorkingDays, 2, 2},
    {"add_months", Function::AddMonths, 2, 2},
    {"age_years", Function::AgeYears, 1, 1},
    {"coalesce", Function::Coalesce, 1, kVariadic},
    {"is_null", Function::IsNull, 1, 1},
    {"lower", Function::Lower, 1, 1},
    {"upper", Function::Upper, 1, 1},
    {"contains", Function::Contains, 2, 2},
    {"starts_with", Function::StartsWith, 2, 2},
    {"matches", Function::Matches, 2, 2},
    {"lookup", Function::Lookup, 3, 3},
    {"format_date", Function::FormatDate, 2, 2},
    {"round", Function::Round, 1, 2},
    {"count", Function::Count, 0, 1, true},
    {"sum", Function::Sum, 1, 1, true},
    {"avg", Function::Avg, 1, 1, true},
    {"min", Function::Min, 1, 1, true},
    {"max", Function::Max, 1, 1, true},
    {"ratio", Function::Ratio, 1, 1, true},
    {"count_distinct", Function::CountDistinct, 1, 1, true},
    {"max_count", Function::MaxCount, 1, 1, true},
    {"count_at_least", Function::CountAtLeast, 2, 2, true},
};

std::string arguments_text(const FunctionInfo& f) {
  if (f.max_args == kVariadic) return "at least " + std::to_string(f.min_args) + " argument" + (f.min_args == 1 ? "" : "s");
  if (f.min_args == f.max_args) return std::to_string(f.min_args) + " argument" + (f.min_args == 1 ? "" : "s");
  return std::to_string(f.min_args) + " or " + std::to_string(f.max_args) + " arguments";
}

AggregateKind aggregate_kind(Function f) {
  switch (f) {
    case Function::Count: return AggregateKind::Count;
    case Function::Sum: return AggregateKind::Sum;
    case Function::Avg: return AggregateKind::Avg;
    case Function::Min: return AggregateKind::Min;
    case Function::Max: return AggregateKind::Max;
    case Function::Ratio: return AggregateKind::Ratio;
    case Function::MaxCount: return AggregateKind::MaxCount;
    case Function::CountAtLeast: return AggregateKind::CountAtLeast;
    default: return AggregateKind::CountDistinct;
  }
}

class Checker {
 public:
  Checker(const Scope& scope, std::vector<AggregateCall>& aggregates, std::vector<ExprError>& errors)
      : scope_(scope), aggregates_(aggregates), errors_(errors) {}

  void check(Node& node) {
    switch (node.kind) {
      case NodeKind::Literal: node.type = StaticType::of(node.literal.type); return;
      case NodeKind::Field: return resolve_name(node);
      case NodeKind::Variable: return;
      case NodeKind::List: return check_list(node);
      case NodeKind::Unary: return check_unary(node);
      case NodeKind::Binary: return check_binary(node);
      case NodeKind::Call:
      case NodeKind::Aggregate: return check_call(node);
    }
  }

 private:
  void error(const Node& node, std::string message) { errors_.push_back({node.offset, std::move(message)}); }

  // Null and Any fit anywhere; otherwise the type must be one of `allowed`.
  static bool fits(StaticType t, std::initializer_list<Type> allowed) {
    if (t.any || t.type == Type::Null) return true;
    return std::find(allowed.begin(), allowed.end(), t.type) != allowed.end();
  }

  void expect(const Node& node, std::initializer_list<Type> allowed, std::string_view what) {
    if (fits(node.type, allowed)) return;
    std::string names;
    size_t i = 0;
    for (Type t : allowed) {
      if (i++) names += i == allowed.size() ? " or " : ", ";
      names += type_name(t);
    }
    error(node, std::string(what) + " must be " + (allowed.size() > 1 ? "a " : "a ") + names + ", not " +
                    static_type_name(node.type));
  }

  void resolve_name(Node& node) {
    for (size_t i = 0; i < scope_.variables.size(); ++i) {
      if (scope_.variables[i].first == node.name) {
        node.kind = NodeKind::Variable;
        node.slot = i;
        node.type = StaticType::of(scope_.variables[i].second);
        return;
      }
    }
    if (scope_.schema) {
      int index = scope_.schema->field_index(node.name);
      bool allowed = inside_aggregate_ || scope_.allowed_fields.empty() ||
                     std::find(scope_.allowed_fields.begin(), scope_.allowed_fields.end(), node.name) !=
                         scope_.allowed_fields.end();
      if (index >= 0 && allowed) {
        node.slot = static_cast<size_t>(index);
        node.type = StaticType::of(scope_.schema->fields[index].type);
        return;
      }
      if (index >= 0) {
        error(node, "field '" + node.name + "' is not one of this rule's group_by fields");
        node.type = StaticType::unknown();
        return;
      }
    }
    error(node, "unknown field '" + node.name + "'");
    node.type = StaticType::unknown();
  }

  void check_list(Node& node) {
    StaticType element = StaticType::of(Type::Null);
    for (auto& child : node.children) {
      check(*child);
      if (child->kind != NodeKind::Literal) {
        error(*child, "list items must be literal values");
        continue;
      }
      if (child->type.type == Type::Null) continue;
      if (element.type == Type::Null) element = child->type;
      else if (element.type != child->type.type) error(*child, "list items must all have one type: " +
                                                             static_type_name(element) + " and " + static_type_name(child->type));
      node.list_values.push_back(child->literal);
    }
    // The node keeps the literal children alive, so their string views stay valid.
    node.literal = Value::of_list(node.list_values);
    node.type = StaticType::of(Type::List);
    list_element_.emplace(&node, element);
  }

  void check_unary(Node& node) {
    Node& operand = *node.children[0];
    check(operand);
    if (node.op == TokenKind::Not) {
      expect(operand, {Type::Bool}, "the operand of '!'");
      node.type = StaticType::of(Type::Bool);
    } else {
      expect(operand, {Type::Number}, "the operand of unary '-'");
      node.type = StaticType::of(Type::Number);
    }
  }

  void check_binary(Node& node) {
    Node& l = *node.children[0];
    Node& r = *node.children[1];
    check(l);
    check(r);
    StaticType lt = l.type, rt = r.type;
    bool known = !lt.any && !rt.any && lt.type != Type::Null && rt.type != Type::Null;
    switch (node.op) {
      case TokenKind::Or:
      case TokenKind::And:
        expect(l, {Type::Bool}, std::string("the left side of ") + std::string(token_kind_name(node.op)));
        expect(r, {Type::Bool}, std::string("the right side of ") + std::string(token_kind_name(node.op)));
        node.type = StaticType::of(Type::Bool);
        return;
      case TokenKind::Equal:
      case TokenKind::NotEqual:
        if (known && lt.type != rt.type)
          error(node, "cannot compare " + static_type_name(lt) + " with " + static_type_name(rt));
        node.type = StaticType::of(Type::Bool);
        return;
      case TokenKind::Less:
      case TokenKind::LessEqual:
      case TokenKind::Greater:
      case TokenKind::GreaterEqual:
        if (known && lt.type != rt.type) {
          error(node, "cannot compare " + static_type_name(lt) + " with " + static_type_name(rt));
        } else {
          expect(l, {Type::Number, Type::String, Type::Date}, "a compared value");
          expect(r, {Type::Number, Type::String, Type::Date}, "a compared value");
        }
        node.type = StaticType::of(Type::Bool);
        return;
      case TokenKind::In: {
        expect(r, {Type::List}, "the right side of 'in'");
        auto it = list_element_.find(&r);
        if (it != list_element_.end() && !lt.any && lt.type != Type::Null && it->second.type != Type::Null &&
            it->second.type != lt.type)
          error(node, "cannot look for a " + static_type_name(lt) + " in a list of " + static_type_name(it->second) + "s");
        node.type = StaticType::of(Type::Bool);
        return;
      }
      case TokenKind::Plus:
      case TokenKind::Minus:
        if (lt.type == Type::Date && !lt.any) {
          if (node.op == TokenKind::Minus && rt.type == Type::Date && !rt.any) {
            node.type = StaticType::of(Type::Number);
          } else {
            expect(r, {Type::Number}, std::string("the right side of date ") + (node.op == TokenKind::Plus ? "+" : "-"));
            node.type = StaticType::of(Type::Date);
          }
          return;
        }
        expect(l, {Type::Number, Type::Date}, std::string("the left side of ") + std::string(token_kind_name(node.op)));
        expect(r, {Type::Number}, std::string("the right side of ") + std::string(token_kind_name(node.op)));
        node.type = (lt.any || rt.any) ? StaticType::unknown() : StaticType::of(Type::Number);
        return;
      default:
        expect(l, {Type::Number}, std::string("the left side of ") + std::string(token_kind_name(node.op)));
        expect(r, {Type::Number}, std::string("the right side of ") + std::string(token_kind_name(node.op)));
        node.type = StaticType::of(Type::Number);
        return;
    }
  }

  void check_call(Node& node) {
    const FunctionInfo* info = nullptr;
    for (const auto& f : kFunctions)
      if (f.name == node.name) info = &f;
    if (!info) {
      error(node, "unknown function '" + node.name + "'");
      node.type = StaticType::unknown();
      return;
    }
    node.function = info->function;
    size_t n = node.children.size();
    if (n < info->min_args || n > info->max_args) {
      error(node, node.name + "() takes " + arguments_text(*info) + ", not " + std::to_string(n));
      node.type = StaticType::unknown();
      return;
    }
    if (info->aggregate) return check_aggregate(node);
    for (auto& child : node.children) check(*child);
    auto arg = [&](size_t i) -> Node& { return *node.children[i]; };
    auto argname = [&](size_t i) { return "argument " + std::to_string(i + 1) + " of " + node.name + "()"; };
    switch (info->function) {
      case Function::Today: node.type = StaticType::of(Type::Date); break;
      case Function::Date:
        expect(arg(0), {Type::String, Type::Date}, argname(0));
        if (arg(0).kind == NodeKind::Literal && arg(0).literal.type == Type::String) {
          auto day = parse_iso_date(arg(0).literal.text);
          if (!day) error(arg(0), "date() needs 'YYYY-MM-DD', not '" + std::string(arg(0).literal.text) + "'");
          else {  // fold the constant
            node.kind = NodeKind::Literal;
            node.literal = Value::of_date(*day);
            node.children.clear();
          }
        }
        node.type = StaticType::of(Type::Date);
        break;
      case Function::DaysBetween:
      case Function::WorkingDaysBetween:
        expect(arg(0), {Type::Date}, argname(0));
        expect(arg(1), {Type::Date}, argname(1));
        node.type = StaticType::of(Type::Number);
        break;
      case Function::AddDays:
      case Function::AddWorkingDays:
      case Function::AddMonths:
        expect(arg(0), {Type::Date}, argname(0));
        expect(arg(1), {Type::Number}, argname(1));
        node.type = StaticType::of(Type::Date);
        break;
      case Function::AgeYears:
        expect(arg(0), {Type::Date}, argname(0));
        node.type = StaticType::of(Type::Number);
        break;
      case Function::Coalesce: {
        StaticType result = StaticType::of(Type::Null);
        for (size_t i = 0; i < n; ++i) {
          StaticType t = arg(i).type;
          if (t.any) { result = t; continue; }
          if (t.type == Type::Null) continue;
          if (!result.any && result.type != Type::Null && result.type != t.type)
            error(arg(i), "coalesce() arguments must have one type: " + static_type_name(result) + " and " + static_type_name(t));
          else if (!result.any) result = t;
        }
        node.type = result;
        break;
      }
      case Function::IsNull: node.type = StaticType::of(Type::Bool); break;
      case Function::Lower:
      case Function::Upper:
        expect(arg(0), {Type::String}, argname(0));
        node.type = StaticType::of(Type::String);
        break;
      case Function::Contains:
      case Function::StartsWith:
        expect(arg(0), {Type::String}, argname(0));
        expect(arg(1), {Type::String}, argname(1));
        node.type = StaticType::of(Type::Bool);
        break;
      case Function::Matches:
        expect(arg(0), {Type::String}, argname(0));
        if (arg(1).kind != NodeKind::Literal || arg(1).literal.type != Type::String) {
          error(arg(1), "the pattern of matches() must be a string literal");
        } else {
          // RE2: matching time is linear in the text, so no pattern can stall an evaluation.
          RE2::Options options;
          options.set_log_errors(false);
          auto regex = std::make_shared<const RE2>(std::string(arg(1).literal.text), options);
          if (!regex->ok()) error(arg(1), "invalid regular expression: " + regex->error());
          else node.regex = std::move(regex);
        }
        node.type = StaticType::of(Type::Bool);
        break;
      case Function::Lookup: {
        node.type = StaticType::unknown();
        if (arg(0).kind != NodeKind::Literal || arg(0).literal.type != Type::String) {
          error(arg(0), "the table name of lookup() must be a string literal");
          break;
        }
        std::string table(arg(0).literal.text);
        if (!scope_.tables || !scope_.tables->has_table(table)) {
          error(arg(0), "unknown table '" + table + "'");
          break;
        }
        if (auto t = scope_.tables->value_type(table)) {
          StaticType def = arg(2).type;
          if (!def.any && def.type != Type::Null && def.type != *t)
            error(arg(2), "the default of lookup() must be a " + std::string(type_name(*t)) + " like the table's values, not " + static_type_name(def));
          node.type = StaticType::of(*t);
        }
        break;
      }
      case Function::FormatDate:
        expect(arg(0), {Type::Date}, argname(0));
        expect(arg(1), {Type::String}, argname(1));
        node.type = StaticType::of(Type::String);
        break;
      case Function::Round:
        expect(arg(0), {Type::Number}, argname(0));
        if (n > 1) expect(arg(1), {Type::Number}, argname(1));
        node.type = StaticType::of(Type::Number);
        break;
      default: break;
    }
  }

  void check_aggregate(Node& node) {
    if (!scope_.allow_aggregates) {
      error(node, node.name + "() is an aggregate: it is only allowed in an aggregate rule's value");
      node.type = StaticType::unknown();
      return;
    }
    if (inside_aggregate_) {
      error(node, "aggregates cannot be nested");
      node.type = StaticType::unknown();
      return;
    }
    inside_aggregate_ = true;
    for (auto& child : node.children) check(*child);
    inside_aggregate_ = false;
    AggregateCall call;
    call.kind = aggregate_kind(node.function);
    if (!node.children.empty()) {
      call.argument = node.children[0].get();
      call.argument_type = node.children[0]->type.any ? Type::Null : node.children[0]->type.type;
    }
    std::string what = "the argument of " + node.name + "()";
    switch (node.function) {
      case Function::Count:
      case Function::Ratio:
        if (!node.children.empty()) expect(*node.children[0], {Type::Bool}, what);
        node.type = StaticType::of(Type::Number);
        break;
      case Function::Sum:
      case Function::Avg:
        expect(*node.children[0], {Type::Number}, what);
        node.type = StaticType::of(Type::Number);
        break;
      case Function::Min:
      case Function::Max:
        expect(*node.children[0], {Type::Number, Type::Date}, what);
        node.type = node.children[0]->type;
        break;
      case Function::CountAtLeast: {
        // n is fixed per rule (how many times a value must occur): a whole number literal.
        const Node& n = *node.children[1];
        if (n.kind != NodeKind::Literal || n.literal.type != Type::Number || n.literal.number < 1 ||
            n.literal.number != std::floor(n.literal.number) || n.literal.number > 1e9)
          error(n, "the second argument of count_at_least() must be a whole number literal of at least 1");
        else
          call.threshold = n.literal.number;
        node.type = StaticType::of(Type::Number);
        break;
      }
      default:
        node.type = StaticType::of(Type::Number);
        break;
    }
    node.kind = NodeKind::Aggregate;
    node.slot = aggregates_.size();
    aggregates_.push_back(call);
  }

  const Scope& scope_;
  std::vector<AggregateCall>& aggregates_;
  std::vector<ExprError>& errors_;
  bool inside_aggregate_ = false;
  std::map<const Node*, StaticType> list_element_;
};

}  // namespace

void check_expression(Node& root, const Scope& scope, std::vector<AggregateCall>& aggregates,
                      std::vector<ExprError>& errors) {
  Checker(scope, aggregates, errors).check(root);
}

}  // namespace casewatch
