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

double round_decimal(double number, int digits) {
  if (!std::isfinite(number) || number == 0) return number;
  // The shortest digits d1 d2 ... and exponent e with |number| = d1.d2d3... x 10^e.
  char buffer[64];
  auto written = std::to_chars(buffer, buffer + sizeof buffer, std::fabs(number), std::chars_format::scientific);
  std::string_view text(buffer, static_cast<size_t>(written.ptr - buffer));
  const size_t e = text.find('e');
  std::string mantissa;
  for (char c : text.substr(0, e))
    if (c != '.') mantissa += c;
  int exponent = 0;
  std::from_chars(text.data() + e + 1 + (text[e + 1] == '+'), text.data() + text.size(), exponent);
  // Digit i stands for 10^(exponent - i): those down to 10^-digits stay.
  const int keep = exponent + digits + 1;
  if (keep >= static_cast<int>(mantissa.size())) return number;  // nothing below that place
  if (keep < 0) return std::copysign(0.0, number);
  std::string kept = mantissa.substr(0, static_cast<size_t>(keep));
  if (mantissa[static_cast<size_t>(keep)] >= '5') {
    int i = keep - 1;
    for (; i >= 0 && kept[static_cast<size_t>(i)] == '9'; --i) kept[static_cast<size_t>(i)] = '0';
    if (i < 0) kept.insert(kept.begin(), '1');
    else ++kept[static_cast<size_t>(i)];
  }
  if (kept.empty()) return std::copysign(0.0, number);
  // The last digit kept stands for 10^(exponent - keep + 1) whether or not a carry added a digit.
  std::string result = kept + "e" + std::to_string(exponent - keep + 1);
  double out = 0;
  std::from_chars(result.data(), result.data() + result.size(), out);
  return std::copysign(out, number);
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
