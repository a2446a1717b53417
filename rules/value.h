// Values of the expression language: null, bool, number, string, date and list.
// A Value is small and trivially copyable; strings are views into a record's columns, the
// compiled expression's constants, or an evaluation Arena. Thread-safe as plain data.
#pragma once

#include <cstdint>
#include <deque>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "rules/date.h"

namespace casewatch {

enum class Type : uint8_t { Null, Bool, Number, String, Date, List };

std::string_view type_name(Type type);

struct Value {
  Type type = Type::Null;
  bool boolean = false;
  Day day = kNullDay;
  double number = 0;
  std::string_view text;
  std::span<const Value> list;

  static Value null() { return {}; }
  static Value of_bool(bool b) { Value v; v.type = Type::Bool; v.boolean = b; return v; }
  static Value of_number(double n) { Value v; v.type = Type::Number; v.number = n; return v; }
  static Value of_string(std::string_view s) { Value v; v.type = Type::String; v.text = s; return v; }
  static Value of_date(Day d) {
    if (!is_representable(d)) return {};  // kNullDay too
    Value v; v.type = Type::Date; v.day = d; return v;
  }
  static Value of_list(std::span<const Value> items) { Value v; v.type = Type::List; v.list = items; return v; }

  bool is_null() const { return type == Type::Null; }
  // In a boolean place null (and anything not a true bool) counts as false.
  bool truthy() const { return type == Type::Bool && boolean; }
};

// Equality as the language's `==`: same type and value; null equals only null; a number never
// equals a string.
bool values_equal(const Value& a, const Value& b);

// Text of a value in a template: dates as YYYY-MM-DD, whole numbers without a decimal point,
// null as the empty string, lists as [a, b].
std::string value_to_text(const Value& value);
// Shortest text that reads back as the same double ("0.216", "3", "1e+21"); whole numbers below
// 1e15 always in plain digits ("200000", never "2e+05"); zero as "0", never "-0".
std::string number_to_text(double number);

// `number` rounded to `digits` decimal places (negative: tens, hundreds), halves away from zero,
// as it is written: on its shortest decimal form, so 0.045 (a double a little below 0.045)
// rounds to 0.05 and 1.005 to 1.01, as the person who wrote them expects.
double round_decimal(double number, int digits);

// Owns strings made during evaluation (lower(), format_date(), ...), so that Values can view
// them. Cleared by the caller between records or groups.
class Arena {
 public:
  std::string_view store(std::string text) {
    strings_.push_back(std::move(text));
    return strings_.back();
  }
  void clear() { strings_.clear(); }

 private:
  std::deque<std::string> strings_;  // deque: growing never moves earlier strings
};

}  // namespace casewatch
