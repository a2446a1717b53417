// Compiles arbitrary text as an expression and as a template against a small schema, and
// evaluates whatever compiles on a few records: nothing may crash, hang or read out of bounds,
// and every reported error offset must lie within the text.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string_view>

#include "rules/calendar.h"
#include "rules/expr.h"
#include "rules/table.h"
#include "rules/template.h"

namespace {

using namespace casewatch;

struct World {
  std::shared_ptr<Schema> schema = std::make_shared<Schema>();
  Table table;
  Calendar calendar{Calendar::england_and_wales_bank_holidays()};
  LookupTables tables;

  World() {
    schema->fields = {{"id", Type::String}, {"team", Type::String}, {"start", Type::Date},
                      {"done", Type::Date}, {"hours", Type::Number}, {"open", Type::Bool}};
    TableBuilder builder(schema, DateParser("%d/%m/%Y"));
    std::string_view rows[][6] = {{"A1", "Assessment", "02/06/2017", "", "3.5", "yes"},
                                  {"A2", "", "", "2017-06-20", "", ""},
                                  {"A3", "Corporate Parenting", "31/12/2016", "01/01/2017", "-2", "n"}};
    for (auto& row : rows) builder.add_row(row);
    table = builder.finish();
    tables.add("limit", "Assessment", Value::of_number(18));
    tables.add("limit", "Corporate Parenting", Value::of_number(15));
  }
};

void check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static World world;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  Scope scope;
  scope.schema = world.schema.get();
  scope.tables = &world.tables;
  scope.variables = {{"due_date", Type::Date}, {"value", Type::Number}};
  scope.allow_aggregates = size % 2 == 1;
  Value variables[] = {Value::of_date(17000), Value::of_number(4)};
  Arena arena;
  EvalContext context{&world.table, 0, variables, {}, 17331, &world.calendar, &world.tables, &arena};

  std::vector<ExprError> errors;
  auto expression = Expression::compile(text, scope, errors);
  for (const auto& e : errors) check(e.offset <= size);
  check(expression.has_value() == errors.empty());
  if (expression) {
    std::vector<Value> aggregates(expression->aggregates().size(), Value::of_number(1));
    context.aggregates = aggregates;
    for (size_t row = 0; row < world.table.rows(); ++row) {
      context.row = row;
      expression->eval(context);
      for (const auto& call : expression->aggregates())
        if (call.argument) expression->eval_node(call.argument, context);
      arena.clear();
    }
    context.aggregates = {};
  }
  errors.clear();
  auto tmpl = Template::compile(text, scope, errors);
  for (const auto& e : errors) check(e.offset <= size);
  if (tmpl) tmpl->render(context);
  return 0;
}
