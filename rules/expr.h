// The expression language of SPEC 5.1: lexed, parsed and type-checked once into an Expression,
// then evaluated any number of times without re-parsing. A compiled Expression is immutable and
// may be evaluated from several threads at once, each with its own EvalContext.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "rules/calendar.h"
#include "rules/table.h"
#include "rules/value.h"

namespace casewatch {

// A problem inside an expression; `offset` is a byte offset into the expression's text.
struct ExprError {
  size_t offset = 0;
  std::string message;
};

// The lookup tables of the config ([tables.NAME]), shared by every expression.
class LookupTables {
 public:
  // A table is known once declared, even while it holds nothing.
  void declare(const std::string& table) { tables_[table]; }
  void add(const std::string& table, const std::string& key, const Value& value);
  bool has_table(std::string_view table) const { return tables_.count(table) > 0; }
  // The single type of a table's values, or nullopt when they mix types.
  std::optional<Type> value_type(std::string_view table) const;
  // nullptr when the table or key is absent.
  const Value* find(std::string_view table, std::string_view key) const;
  std::vector<std::string> names() const;

 private:
  std::map<std::string, std::map<std::string, Value, std::less<>>, std::less<>> tables_;
  std::deque<std::string> strings_;  // owns the string values
};

// Static type: a Type, or Any when it cannot be known before evaluation.
struct StaticType {
  Type type = Type::Null;
  bool any = false;
  static StaticType of(Type t) { return {t, false}; }
  static StaticType unknown() { return {Type::Null, true}; }
};
std::string static_type_name(StaticType type);

// What names an expression may use.
struct Scope {
  const Schema* schema = nullptr;                 // the record's fields; null: no record
  std::vector<std::string> allowed_fields;        // if non-empty, only these fields of the schema
                                                  // (inside an aggregate call: every field)
  std::vector<std::pair<std::string, Type>> variables;  // extra variables, by slot
  bool allow_aggregates = false;                  // an aggregate rule's `value`
  const LookupTables* tables = nullptr;
};

struct EvalContext {
  const Table* table = nullptr;
  size_t row = 0;
  std::span<const Value> variables;
  std::span<const Value> aggregates;  // results of the aggregate calls, by aggregate slot
  Day today = kNullDay;
  const Calendar* calendar = nullptr;
  const LookupTables* tables = nullptr;
  Arena* arena = nullptr;
};

enum class AggregateKind { Count, Sum, Avg, Min, Max, Ratio, CountDistinct, MaxCount, CountAtLeast };

struct Node;

// An aggregate call inside a `value` expression: its argument is evaluated per record.
struct AggregateCall {
  AggregateKind kind;
  const Node* argument = nullptr;  // null for count()
  Type argument_type = Type::Null;
  double threshold = 0;  // count_at_least(x, n): n
};

class Expression {
 public:
  // Copies share the immutable compiled tree.
  Expression();

  // Compiles `source` against `scope`; on problems returns nullopt and appends to `errors`
  // (all that were found, not only the first).
  static std::optional<Expression> compile(std::string_view source, const Scope& scope,
                                           std::vector<ExprError>& errors);

  Value eval(const EvalContext& context) const;
  // Evaluates an aggregate call's argument for one record.
  Value eval_node(const Node* node, const EvalContext& context) const;

  StaticType type() const;
  const std::string& source() const { return source_; }
  // Whether the value can change with the as-of date alone: it calls today() or reads a
  // variable (due_date, days_remaining and the like are computed from the as-of date).
  bool depends_on_as_of() const { return depends_on_as_of_; }
  // The schema fields the expression reads, sorted, each once.
  const std::vector<size_t>& fields_read() const { return fields_read_; }
  const std::vector<AggregateCall>& aggregates() const { return aggregates_; }

 private:
  std::string source_;
  std::shared_ptr<const Node> root_;
  std::vector<AggregateCall> aggregates_;
  bool depends_on_as_of_ = false;
  std::vector<size_t> fields_read_;
};

}  // namespace casewatch
