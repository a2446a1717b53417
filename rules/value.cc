#include "rules/value.h"

#include <charconv>
#include <cmath>

namespace casewatch {

std::string_view type_name(Type type) {
  switch (type) {
    case Type::Null: return "null";
    case Type::Bool: return "bool";
    case Type::Number: return "number";
    case Type::String: return "string";
    case Type::Date: return "date";
    case Type::List: return "list";
  }
  return "?";
}

bool values_equal(const Value& a, const Value& b) {
  if (a.type != b.type) return false;
  switch (a.type) {
    case Type::Null: return true;
    case Type::Bool: return a.boolean == b.boolean;
    case Type::Number: return a.number == b.number;
    case Type::String: return a.text == b.text;
    case Type::Date: return a.day == b.day;
    case Type::List:
      if (a.list.size() != b.list.size()) return false;
      for (size_t i = 0; i < a.list.size(); ++i)
        if (!values_equal(a.list[i], b.list[i])) return false;
      return true;
  }
  return false;
}

std::string number_to_text(double number) {
  if (std::isnan(number)) return "NaN";
  if (std::isinf(number)) return number > 0 ? "+Inf" : "-Inf";
  if (number == 0) return "0";  // not "-0"
  char buffer[64];
  // A whole number prints as one ("200000"), though "2e+05" would be shorter, while it is far
  // inside the range where a double holds every integer exactly.
  auto result = std::fabs(number) < 1e15 && number == std::trunc(number)
                    ? std::to_chars(buffer, buffer + sizeof buffer, number, std::chars_format::fixed)
                    : std::to_chars(buffer, buffer + sizeof buffer, number);
  return std::string(buffer, result.ptr);
}

std::string value_to_text(const Value& value) {
  switch (value.type) {
    case Type::Null: return "";
    case Type::Bool: return value.boolean ? "true" : "false";
    case Type::Number: return number_to_text(value.number);
    case Type::String: return std::string(value.text);
    case Type::Date: return format_iso(value.day);
    case Type::List: {
      std::string out = "[";
      for (size_t i = 0; i < value.list.size(); ++i) {
        if (i) out += ", ";
        out += value_to_text(value.list[i]);
      }
      return out + "]";
    }
  }
  return "";
}

}  // namespace casewatch
