#include "tests/reference/random_case.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "rules/calendar.h"

namespace casewatch::difftest {

Random::Random(uint64_t seed) : state_(seed) {
  // Mixed first: neighbouring seeds must not make overlapping sequences.
  for (int i = 0; i < 4; ++i) state_ = next() ^ (seed << 1);
}

uint64_t Random::next() {
  if (from_bytes_) {
    uint64_t v = 0;
    for (int i = 0; i < 2; ++i) v = (v << 8) | (used_ < size_ ? data_[used_++] : 0);
    return v;
  }
  // splitmix64
  uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

int Random::uniform(int lo, int hi) {
  if (hi <= lo) return lo;
  return lo + static_cast<int>(next() % static_cast<uint64_t>(hi - lo + 1));
}

namespace {

using reference::Kind;
using reference::Val;

Kind kind_of(Type type) {
  switch (type) {
    case Type::Bool: return Kind::Bool;
    case Type::Number: return Kind::Number;
    case Type::Date: return Kind::Date;
    default: return Kind::String;
  }
}

Day ymd(int y, unsigned m, unsigned d) { return days_from_civil(y, m, d); }

// Days where timescales are easy to get wrong: bank holidays and the days around them, month
// ends, leap days, the ends of the built-in calendar's years, weekends.
std::vector<Day> interesting_days() {
  std::vector<Day> days;
  for (Day holiday : Calendar::england_and_wales_bank_holidays()) {
    int year = civil_from_days(holiday).year;
    if (year >= 2016 && year <= 2027)
      for (int d = -3; d <= 3; ++d) days.push_back(holiday + d);
  }
  for (int year : {2016, 2017, 2020, 2023, 2024, 2026, 2028})
    for (unsigned month = 1; month <= 12; ++month) {
      Day end = ymd(year, month, days_in_month(year, month));
      days.push_back(end);
      days.push_back(end + 1);
    }
  for (Day d : {ymd(2016, 2, 29), ymd(2020, 2, 29), ymd(2024, 2, 29), ymd(2028, 2, 29), ymd(2014, 12, 31),
                ymd(2015, 1, 1), ymd(2030, 12, 31), ymd(2031, 1, 1), ymd(2017, 6, 14), ymd(2026, 12, 2)})
    days.push_back(d);
  return days;
}

const std::vector<std::string> kStrings = {"A",  "B",     "Team North", "team north", "Assessment", "G4",
                                           "G5", "F1",    "Zoë",        "x y",        "2017-06-14", "a'b",
                                           "\"q\"", "ÉCOLE", "0",       "10",         "1",
                                           // group keys join values with '/': these would collide unescaped
                                           "a/b", "c", "a", "b/c", "a\\"};
// Small counts, halves and decimals that round awkwardly (2.675 is 2.67499... as a double), and
// numbers either side of where whole numbers stop printing as plain digits (10^15).
const std::vector<double> kNumbers = {0,    1,     2,     3,    5,    10,   18,      25,      -1,   -4,
                                      0.5,  2.25,  1000,  1234.5678,  0.1,  0.2,     -0.0,    7,    0.125,
                                      2.675, 1.005, -2.5, 0.045, 1e15, 999999999999999, 1e-7, 123456.789};
const std::vector<std::string> kDateFormats = {"%d/%m/%Y", "%d %b %Y", "%d/%m/%y"};
const std::vector<std::string> kPatterns = {"^A", "North$", "[0-9]", "e.m", "^$", "(?i)team", "o", "^[A-Z]+$"};
const std::vector<std::string> kFormats = {"%d/%m/%Y", "%e %B %Y", "%a %j %y", "%A %b", "%q %%", "100%", "%Y-%m-%d", ""};

std::string number_literal(Random& r, double x) {
  // The same number written in the ways a rule author might.
  std::string plain = number_to_text(std::fabs(x));
  std::string sign = std::signbit(x) ? "-" : "";
  if (x == std::trunc(x) && std::fabs(x) < 1e6) {
    switch (r.uniform(0, 3)) {
      case 0: return sign + plain + ".0";
      case 1: return sign + plain + "e0";
      default: return sign + plain;
    }
  }
  if (plain.starts_with("0.") && r.chance(30)) return sign + plain.substr(1);  // ".5"
  return sign + plain;
}

std::string quote(Random& r, const std::string& text) {
  char q = r.chance(50) ? '\'' : '"';
  std::string out(1, q);
  for (char c : text) {
    if (c == q || c == '\\') out += '\\';
    if (c == '\n') { out += "\\n"; continue; }
    if (c == '\t') { out += "\\t"; continue; }
    out += c;
  }
  return out + q;
}

// Operator levels, loosest first, as SPEC 5.1 lists them: a child needs parentheses when it is
// looser than its place allows.
enum Level { kOr = 1, kAnd, kNot, kCompare, kIn, kAdd, kMul, kUnary, kPrimary };

struct Expr {
  std::string text;
  int level = kPrimary;
};

struct Scope {
  const std::vector<FieldDef>* fields = nullptr;
  std::vector<std::string> group_fields;  // when set: outside aggregate calls only these
  bool group_only = false;
  std::vector<std::pair<std::string, Type>> variables;
  bool aggregates = false;  // the value of an aggregate rule
  bool inside_aggregate = false;
  bool allow_today = true;
  bool no_null = false;  // no null literal anywhere in the expression being made
};

class ExprGen {
 public:
  ExprGen(Random& r, Day base) : r_(r), base_(base) {}

  Expr gen(Type type, int depth, Scope& scope) {
    switch (type) {
      case Type::Bool: return gen_bool(depth, scope);
      case Type::Number: return gen_number(depth, scope);
      case Type::Date: return gen_date(depth, scope);
      default: return gen_string(depth, scope);
    }
  }

  // An aggregate rule's value: at least one aggregate call, maybe combined with others or with
  // the group's fields.
  Expr aggregate_value(Scope& scope) {
    Expr first = aggregate_call(r_.uniform(0, 2), scope);
    if (r_.chance(50)) return first;
    static const std::vector<std::string> ops = {"+", "-", "*", "/"};
    std::string op = r_.pick(ops);
    int level = op == "+" || op == "-" ? kAdd : kMul;
    Expr other = gen_number(r_.uniform(0, 2), scope);
    if (r_.chance(50)) return {at(first, level) + " " + op + " " + at(other, level + 1), level};
    return {at(other, level) + " " + op + " " + at(first, level + 1), level};
  }

  // Text of `e` in a place that needs at least `level`.
  std::string at(const Expr& e, int level) {
    if (e.level < level || r_.chance(5)) return "(" + e.text + ")";
    return e.text;
  }

  std::string date_literal(Day d) { return "date(" + quote(r_, format_iso(d)) + ")"; }

  Day near_day() {
    switch (r_.uniform(0, 3)) {
      case 0: return r_.pick(interesting_);
      default: return base_ + r_.uniform(-150, 60);
    }
  }

 private:
  std::vector<std::string> fields_of(Type type, const Scope& scope) {
    std::vector<std::string> out;
    for (const FieldDef& f : *scope.fields) {
      if (f.type != type) continue;
      if (scope.group_only && !scope.inside_aggregate &&
          std::find(scope.group_fields.begin(), scope.group_fields.end(), f.name) == scope.group_fields.end())
        continue;
      out.push_back(f.name);
    }
    return out;
  }
  std::vector<std::string> variables_of(Type type, const Scope& scope) {
    std::vector<std::string> out;
    if (scope.inside_aggregate) return out;
    for (const auto& [name, t] : scope.variables)
      if (t == type) out.push_back(name);
    return out;
  }

  // `date - x` and `date + x` take their type from the left side: a bare null there would make
  // them numbers.
  Expr non_null(Type type, int depth, Scope& scope) {
    bool before = scope.no_null;
    scope.no_null = true;
    Expr e = gen(type, depth, scope);
    scope.no_null = before;
    return e;
  }

  // A field, variable or literal of the type: where recursion stops.
  Expr leaf(Type type, Scope& scope) {
    auto fields = fields_of(type, scope);
    auto variables = variables_of(type, scope);
    int choice = r_.uniform(0, 9);
    if (choice < 5 && !fields.empty()) return {r_.pick(fields)};
    if (choice < 7 && !variables.empty()) return {r_.pick(variables)};
    if (!scope.no_null && r_.chance(8)) return {"null"};
    switch (type) {
      case Type::Bool: return {r_.chance(50) ? "true" : "false"};
      case Type::Number: {
        std::string text = number_literal(r_, r_.pick(kNumbers));
        return {text, text[0] == '-' ? kUnary : kPrimary};
      }
      case Type::Date:
        if (scope.allow_today && r_.chance(30)) return {"today()"};
        return {date_literal(near_day())};
      default: return {quote(r_, r_.chance(10) ? "" : r_.pick(kStrings))};
    }
  }

  Expr call(const std::string& name, const std::vector<std::string>& args) {
    std::string text = name + "(";
    for (size_t i = 0; i < args.size(); ++i) text += (i ? (r_.chance(50) ? ", " : ",") : "") + args[i];
    return {text + ")"};
  }

  // A small count of days, months or working days, so that dates stay in range.
  Expr small_number(Scope& scope) {
    auto fields = fields_of(Type::Number, scope);
    switch (r_.uniform(0, 5)) {
      case 0:
        if (!fields.empty()) return {r_.pick(fields)};
        [[fallthrough]];
      case 1: {
        double n = r_.pick(std::vector<double>{0.5, 2.9, -1.5, -0.5, 1.0});
        std::string text = number_literal(r_, n);
        return {text, text[0] == '-' ? kUnary : kPrimary};
      }
      case 2:
        if (!fields.empty()) return {r_.pick(fields) + " + " + std::to_string(r_.uniform(0, 5)), kAdd};
        [[fallthrough]];
      default: {
        int n = r_.uniform(-25, 40);
        return {std::to_string(n), n < 0 ? kUnary : kPrimary};
      }
    }
  }

  Expr gen_bool(int depth, Scope& scope) {
    if (depth <= 0) return leaf(Type::Bool, scope);
    switch (r_.uniform(0, 14)) {
      case 0: return leaf(Type::Bool, scope);
      case 1:
      case 2: {  // an ordering or equality of two values of one type
        Type t = r_.pick(std::vector<Type>{Type::Number, Type::Date, Type::String, Type::Date});
        static const std::vector<std::string> ops = {"==", "!=", "<", "<=", ">", ">="};
        Expr a = gen(t, depth - 1, scope), b = gen(t, depth - 1, scope);
        return {at(a, kIn) + " " + r_.pick(ops) + " " + at(b, kIn), kCompare};
      }
      case 3: {  // against null, on either side, with == or !=
        Type t = r_.pick(std::vector<Type>{Type::Number, Type::Date, Type::String, Type::Bool});
        Expr a = gen(t, depth - 1, scope);
        std::string op = r_.chance(50) ? "==" : "!=";
        if (r_.chance(30)) return {"null " + op + " " + at(a, kIn), kCompare};
        return {at(a, kIn) + " " + op + " null", kCompare};
      }
      case 4: {  // x in [literals]
        Type t = r_.pick(std::vector<Type>{Type::String, Type::Number, Type::String, Type::Date});
        Expr a = gen(t, depth - 1, scope);
        std::string list = "[";
        int n = r_.uniform(0, 3);
        for (int i = 0; i < n; ++i) {
          if (i) list += ", ";
          if (r_.chance(10)) { list += "null"; continue; }
          if (t == Type::String) list += quote(r_, r_.pick(kStrings));
          else if (t == Type::Number) list += number_literal(r_, r_.pick(kNumbers));
          else list += date_literal(near_day());
        }
        return {at(a, kAdd) + " in " + list + "]", kIn};
      }
      case 5:
      case 6: {
        bool is_and = r_.chance(50);
        std::string op = is_and ? (r_.chance(70) ? "&&" : "and") : (r_.chance(70) ? "||" : "or");
        int level = is_and ? kAnd : kOr;
        Expr a = gen_bool(depth - 1, scope), b = gen_bool(depth - 1, scope);
        return {at(a, level) + " " + op + " " + at(b, level + 1), level};
      }
      case 7: {
        Expr a = gen_bool(depth - 1, scope);
        return {(r_.chance(70) ? "!" : "not ") + at(a, kNot), kNot};
      }
      case 8: {
        Type t = r_.pick(std::vector<Type>{Type::Number, Type::Date, Type::String, Type::Bool});
        return call("is_null", {gen(t, depth - 1, scope).text});
      }
      case 9: {
        Expr s = gen_string(depth - 1, scope);
        Expr part = r_.chance(60) ? Expr{quote(r_, r_.pick(std::vector<std::string>{"A", "North", "", "e", "G"}))}
                                  : gen_string(depth - 1, scope);
        return call(r_.chance(50) ? "contains" : "starts_with", {s.text, part.text});
      }
      case 10: return call("matches", {gen_string(depth - 1, scope).text, quote(r_, r_.pick(kPatterns))});
      case 11: return call("coalesce", {gen_bool(depth - 1, scope).text, gen_bool(depth - 1, scope).text});
      case 12: return call("lookup", {quote(r_, "flags"), gen_string(depth - 1, scope).text, gen_bool(0, scope).text});
      default: {
        // The age of a date, the bug that started this test: age_years reads the as-of date.
        auto dates = fields_of(Type::Date, scope);
        std::string d = dates.empty() ? gen_date(depth - 1, scope).text : r_.pick(dates);
        static const std::vector<std::string> ops = {">=", "<", "=="};
        return {"age_years(" + d + ") " + r_.pick(ops) + " " + std::to_string(r_.uniform(0, 12)), kCompare};
      }
    }
  }

  Expr gen_number(int depth, Scope& scope) {
    if (scope.aggregates && !scope.inside_aggregate && r_.chance(45)) return aggregate_call(depth, scope);
    if (depth <= 0) return leaf(Type::Number, scope);
    switch (r_.uniform(0, 12)) {
      case 0:
      case 1: return leaf(Type::Number, scope);
      case 2:
      case 3: {
        static const std::vector<std::string> ops = {"+", "-", "*", "/"};
        std::string op = r_.pick(ops);
        int level = op == "+" || op == "-" ? kAdd : kMul;
        Expr a = gen_number(depth - 1, scope), b = gen_number(depth - 1, scope);
        return {at(a, level) + " " + op + " " + at(b, level + 1), level};
      }
      case 4: return {"-" + at(gen_number(depth - 1, scope), kUnary), kUnary};
      case 5: {
        Expr a = non_null(Type::Date, depth - 1, scope), b = non_null(Type::Date, depth - 1, scope);
        switch (r_.uniform(0, 2)) {
          case 0: return call("days_between", {a.text, b.text});
          case 1: return call("working_days_between", {a.text, b.text});
          default: return {at(a, kAdd) + " - " + at(b, kMul), kAdd};
        }
      }
      case 6: return call("age_years", {gen_date(depth - 1, scope).text});
      case 7:
        if (r_.chance(50)) return call("round", {gen_number(depth - 1, scope).text});
        return call("round", {gen_number(depth - 1, scope).text, std::to_string(r_.uniform(-1, 3))});
      case 8: return call("coalesce", {gen_number(depth - 1, scope).text, gen_number(depth - 1, scope).text});
      case 9:
        if (r_.chance(50))
          return call("lookup", {quote(r_, "limits"), gen_string(depth - 1, scope).text, gen_number(0, scope).text});
        return call("lookup", {quote(r_, r_.chance(70) ? "codes" : "empty"), gen_number(depth - 1, scope).text,
                               gen_number(0, scope).text});
      default: return leaf(Type::Number, scope);
    }
  }

  Expr aggregate_call(int depth, Scope& scope) {
    scope.inside_aggregate = true;
    Expr out;
    switch (r_.uniform(0, 10)) {
      case 0: out = call("count", {}); break;
      case 9: {
        Type t = r_.pick(std::vector<Type>{Type::String, Type::Number, Type::Date, Type::Bool});
        out = call("max_count", {gen(t, depth, scope).text});
        break;
      }
      case 10: {
        Type t = r_.pick(std::vector<Type>{Type::String, Type::Number, Type::Date, Type::Bool});
        out = call("count_at_least", {gen(t, depth, scope).text, std::to_string(r_.uniform(1, 3))});
        break;
      }
      case 1: out = call("count", {gen_bool(depth, scope).text}); break;
      case 2: out = call("sum", {gen_number(depth, scope).text}); break;
      case 3: out = call("avg", {gen_number(depth, scope).text}); break;
      case 4:
        out = call(r_.chance(50) ? "min" : "max", {gen_number(depth, scope).text});
        break;
      case 5: out = call("ratio", {gen_bool(depth, scope).text}); break;
      case 6: {
        Type t = r_.pick(std::vector<Type>{Type::String, Type::Number, Type::Date, Type::Bool});
        out = call("count_distinct", {gen(t, depth, scope).text});
        break;
      }
      default: {  // the span of dates in the group, in days
        Expr a = call("max", {non_null(Type::Date, depth, scope).text});
        Expr b = call("min", {non_null(Type::Date, depth, scope).text});
        out = {a.text + " - " + b.text, kAdd};
        break;
      }
    }
    scope.inside_aggregate = false;
    return out;
  }

  Expr gen_date(int depth, Scope& scope) {
    if (depth <= 0) return leaf(Type::Date, scope);
    switch (r_.uniform(0, 10)) {
      case 0:
      case 1: return leaf(Type::Date, scope);
      case 2: return call("add_days", {gen_date(depth - 1, scope).text, small_number(scope).text});
      case 3: return call("add_working_days", {gen_date(depth - 1, scope).text, small_number(scope).text});
      case 4: return call("add_months", {gen_date(depth - 1, scope).text, small_number(scope).text});
      case 5: {
        Expr d = non_null(Type::Date, depth - 1, scope);
        Expr n = small_number(scope);
        return {at(d, kAdd) + (r_.chance(50) ? " + " : " - ") + at(n, kMul), kAdd};
      }
      case 6: return call("coalesce", {gen_date(depth - 1, scope).text, gen_date(depth - 1, scope).text});
      case 7: {
        // date() of a literal is checked when the rule compiles: only ISO text may stand there.
        Expr s = gen_string(depth - 1, scope);
        if (s.text.starts_with("'") || s.text.starts_with("\"")) s.text = quote(r_, format_iso(near_day()));
        return call("date", {s.text});
      }
      default: return leaf(Type::Date, scope);
    }
  }

  Expr gen_string(int depth, Scope& scope) {
    if (depth <= 0) return leaf(Type::String, scope);
    switch (r_.uniform(0, 7)) {
      case 0:
      case 1: return leaf(Type::String, scope);
      case 2: return call(r_.chance(50) ? "lower" : "upper", {gen_string(depth - 1, scope).text});
      case 3: return call("format_date", {gen_date(depth - 1, scope).text, quote(r_, r_.pick(kFormats))});
      case 4: return call("coalesce", {gen_string(depth - 1, scope).text, gen_string(depth - 1, scope).text});
      case 5:
        return call("lookup", {quote(r_, "names"), gen_string(depth - 1, scope).text, gen_string(0, scope).text});
      default: return leaf(Type::String, scope);
    }
  }

  Random& r_;
  Day base_;
  std::vector<Day> interesting_ = interesting_days();
};

std::string template_text(Random& r, ExprGen& gen, Scope& scope) {
  std::string out;
  int parts = r.uniform(0, 3);
  for (int i = 0; i < parts; ++i) {
    if (r.chance(50)) out += r.pick(std::vector<std::string>{"Due ", " / ", "case ", "é ", "{ "});
    Type t = r.pick(std::vector<Type>{Type::String, Type::Number, Type::Date, Type::Bool, Type::String});
    out += r.chance(50) ? "{{ " : "{{";
    out += gen.gen(t, r.uniform(0, 2), scope).text;
    out += r.chance(50) ? " }}" : "}}";
  }
  if (parts == 0) out = r.chance(50) ? "" : "fixed text";
  return out;
}

std::string period_text(Random& r, bool for_warning) {
  static const std::vector<std::string> units = {"day", "working day", "week", "month"};
  std::string unit = r.pick(units);
  int n = unit == "month" ? r.uniform(0, 12) : (unit == "week" ? r.uniform(0, 8) : r.uniform(0, 30));
  if (for_warning) n = std::min(n, unit == "month" ? 2 : 10);
  return std::to_string(n) + " " + unit + (n == 1 && r.chance(50) ? "" : "s");
}

Val cell_value(Random& r, Type type, const std::vector<Day>& days, Day base) {
  switch (type) {
    case Type::Number: return Val::of_number(r.pick(kNumbers));
    case Type::Bool: return Val::of_bool(r.chance(50));
    case Type::Date:
      if (r.chance(2)) return Val::of_date(r.chance(50) ? -25202 : 47481);  // the ends of valid_dates
      return Val::of_date(r.chance(40) ? r.pick(days) : base + r.uniform(-200, 40));
    default: return Val::of_string(r.pick(kStrings));
  }
}

// The text an extract might hold for a value: any accepted spelling.
std::string render(Random& r, const Val& v, Type type, const std::string& date_format) {
  switch (type) {
    case Type::Number: {
      std::string text = number_to_text(v.number);
      if (std::signbit(v.number) && v.number == 0) text = "-0";
      if (r.chance(10) && !std::signbit(v.number)) text = "+" + text;
      if (r.chance(10) && text.find('e') == std::string::npos && v.number == std::trunc(v.number)) text += ".0";
      return text;
    }
    case Type::Bool: {
      static const std::vector<std::string> yes = {"true", "TRUE", "Yes", "y", "1", "True", "t"};
      static const std::vector<std::string> no = {"false", "No", "n", "0", "FALSE", "N", "F"};
      return r.pick(v.boolean ? yes : no);
    }
    case Type::Date: {
      CivilDate c = civil_from_days(v.day);
      std::string text;
      if (date_format.empty() || r.chance(25)) {
        text = format_iso(v.day);
      } else if (date_format.starts_with("%d/%m/%Y")) {
        text = format_date(v.day, "%d/%m/%Y");
      } else if (date_format == "%d %b %Y") {
        text = format_date(v.day, r.chance(50) ? "%d %b %Y" : "%d %B %Y");
      } else {  // %d/%m/%y reads years 1970-2069
        text = c.year >= 1970 && c.year <= 2069 ? format_date(v.day, "%d/%m/%y") : format_iso(v.day);
      }
      if (r.chance(10)) text += r.pick(std::vector<std::string>{" 14:30", " 09:00:00", "T09:00:00Z", "T23:59:59+01:00"});
      return text;
    }
    default: return v.text;
  }
}

// Text that no field of the type accepts.
std::string bad_text(Random& r, Type type, const std::string& date_format) {
  switch (type) {
    case Type::Number: return r.pick(std::vector<std::string>{"abc", "1.2.3", "+-3", "1e400", "12 %", "nan", "inf"});
    case Type::Bool: return r.pick(std::vector<std::string>{"maybe", "2", "yes please", "tru", "ja"});
    case Type::Date:
      // Impossible dates, and the placeholders extracts use for "not known" (outside valid_dates).
      return r.pick(std::vector<std::string>{"31/02/2017", "2017-13-01", "2017-02-30", "14/06/17x", "tomorrow",
                                             "2017-6-1", "2017-06-14 25:00", "1900-01-01", "0000-01-01",
                                             "2100-01-01", "1900-12-31"});
    default: return "";
  }
}

std::vector<Cell> make_row(Random& r, const FeedCase& feed, const std::vector<Day>& days, Day base, int serial,
                           const std::vector<std::string>& earlier_keys) {
  std::vector<Cell> row;
  for (size_t f = 0; f < feed.fields.size(); ++f) {
    const FieldDef& field = feed.fields[f];
    if (f == feed.key) {
      std::string key = "K" + std::to_string(serial);
      if (!earlier_keys.empty() && r.chance(3)) key = r.pick(earlier_keys);  // a repeated key
      if (r.chance(2)) key = "";                                            // no key
      if (r.chance(2)) key = r.pick(std::vector<std::string>{"K\n1", std::string("K\0x", 3), "K\t"});  // control
      bool good = !key.empty() && std::none_of(key.begin(), key.end(), [](char ch) {
        return static_cast<unsigned char>(ch) < 0x20;
      });
      row.push_back({key, good ? std::optional<Val>(Val::of_string(key)) : std::nullopt});
      continue;
    }
    if (r.chance(15)) {  // an empty cell: null
      row.push_back({"", Val::null()});
      continue;
    }
    if (field.type != Type::String && r.chance(2)) {
      row.push_back({bad_text(r, field.type, feed.date_format), std::nullopt});
      continue;
    }
    Val v = cell_value(r, field.type, days, base);
    row.push_back({render(r, v, field.type, feed.date_format), v});
  }
  return row;
}

FeedCase make_feed(Random& r, size_t index) {
  FeedCase feed;
  feed.name = "feed" + std::to_string(index);
  feed.date_format = r.chance(25) ? "" : r.pick(kDateFormats);
  feed.fields.push_back({"id", Type::String});
  feed.key = 0;
  int strings = r.uniform(1, 2), numbers = r.uniform(1, 2), dates = r.uniform(2, 3), bools = r.uniform(0, 1);
  for (int i = 0; i < strings; ++i) feed.fields.push_back({"s" + std::to_string(i), Type::String});
  for (int i = 0; i < numbers; ++i) feed.fields.push_back({"n" + std::to_string(i), Type::Number});
  for (int i = 0; i < dates; ++i) feed.fields.push_back({"d" + std::to_string(i), Type::Date});
  for (int i = 0; i < bools; ++i) feed.fields.push_back({"b" + std::to_string(i), Type::Bool});
  return feed;
}

RuleCase make_rule(Random& r, const Case& c, size_t index, Day base) {
  RuleCase rule;
  rule.name = "r" + std::to_string(index);
  size_t feed = static_cast<size_t>(r.uniform(0, static_cast<int>(c.feeds.size()) - 1));
  rule.feed = c.feeds[feed].name;
  const std::vector<FieldDef>& fields = c.feeds[feed].fields;
  ExprGen gen(r, base);
  Scope record;
  record.fields = &fields;
  int kind = r.uniform(0, 9);
  rule.kind = kind < 5 ? "deadline" : (kind < 7 ? "condition" : "aggregate");
  rule.enabled = !r.chance(4);
  if (r.chance(55)) rule.where = gen.gen(Type::Bool, r.uniform(1, 3), record).text;

  auto severity = [&] {
    if (r.chance(25)) return std::string("warning");  // the default, written out
    return r.pick(std::vector<std::string>{"info", "warning", "critical"});
  };
  auto templates = [&](Scope& scope) {
    int labels = r.uniform(0, 2), annotations = r.uniform(0, 2);
    for (int i = 0; i < labels; ++i) rule.labels.emplace_back("l" + std::to_string(i), template_text(r, gen, scope));
    for (int i = 0; i < annotations; ++i)
      rule.annotations.emplace_back(i == 0 ? "summary" : "a" + std::to_string(i), template_text(r, gen, scope));
  };

  if (rule.kind == "deadline") {
    // Dates mostly as the rule files write them (a field, a field moved), now and then with today().
    Scope dates = record;
    dates.allow_today = r.chance(15);
    auto date_expression = [&]() -> std::string {
      std::vector<std::string> date_fields;
      for (const FieldDef& f : fields)
        if (f.type == Type::Date) date_fields.push_back(f.name);
      if (r.chance(60)) return r.pick(date_fields);
      return gen.gen(Type::Date, r.uniform(1, 2), dates).text;
    };
    bool use_due = r.chance(25);
    if (!use_due || r.chance(50)) rule.start = date_expression();
    if (use_due) rule.due = date_expression();
    else rule.due_in = period_text(r, false);
    if (r.chance(65)) rule.done = date_expression();
    if (r.chance(65)) rule.warn_before = period_text(r, true);
    Scope with_variables = record;
    with_variables.variables = {{"due_date", Type::Date}, {"days_remaining", Type::Number},
                                {"working_days_remaining", Type::Number}};
    templates(with_variables);
  } else if (rule.kind == "condition") {
    rule.severity = severity();
    rule.when = gen.gen(Type::Bool, r.uniform(1, 3), record).text;
    templates(record);
  } else {
    rule.severity = severity();
    int groups = r.uniform(0, 2);
    std::vector<std::string> candidates;
    for (const FieldDef& f : fields) candidates.push_back(f.name);
    for (int i = 0; i < groups; ++i) {
      std::string name = r.pick(candidates);
      if (r.chance(60)) {  // string fields group best; prefer them
        for (const FieldDef& f : fields)
          if (f.type == Type::String && f.name != "id" && r.chance(50)) name = f.name;
      }
      if (std::find(rule.group_by.begin(), rule.group_by.end(), name) == rule.group_by.end()) rule.group_by.push_back(name);
    }
    Scope value_scope = record;
    value_scope.group_only = true;
    value_scope.group_fields = rule.group_by;
    value_scope.aggregates = true;
    rule.value = gen.aggregate_value(value_scope).text;
    Scope group = record;
    group.group_only = true;
    group.group_fields = rule.group_by;
    group.variables = {{"value", Type::Number}};
    if (r.chance(75)) {
      if (r.chance(60)) {
        static const std::vector<std::string> ops = {">", ">=", "<", "==", "!="};
        rule.when = "value " + r.pick(ops) + " " + number_literal(r, r.pick(std::vector<double>{0, 1, 2, 0.5, 3, 10}));
        if (r.chance(30)) rule.when += " && " + gen.gen(Type::Bool, 1, group).text;
      } else {
        rule.when = gen.gen(Type::Bool, r.uniform(1, 2), group).text;
      }
    }
    templates(group);
  }
  return rule;
}

Snapshot first_snapshot(Random& r, const FeedCase& feed, const std::vector<Day>& days, Day base, int& serial) {
  Snapshot s;
  int rows = r.chance(5) ? 0 : r.uniform(1, 50);
  std::vector<std::string> keys;
  for (int i = 0; i < rows; ++i) {
    s.rows.push_back(make_row(r, feed, days, base, serial++, keys));
    keys.push_back(s.rows.back()[feed.key].text);
  }
  return s;
}

// A later extract: some records changed, some gone, some new.
Snapshot next_snapshot(Random& r, const FeedCase& feed, const Snapshot& before, const std::vector<Day>& days, Day base,
                       int& serial) {
  Snapshot s;
  std::vector<std::string> keys;
  for (const auto& row : before.rows) {
    if (r.chance(10)) continue;
    std::vector<Cell> copy = row;
    if (r.chance(25)) {
      size_t f = static_cast<size_t>(r.uniform(1, static_cast<int>(feed.fields.size()) - 1));
      std::vector<Cell> fresh = make_row(r, feed, days, base, serial++, {});
      copy[f] = fresh[f];
    }
    s.rows.push_back(std::move(copy));
    keys.push_back(s.rows.back()[feed.key].text);
  }
  int added = r.uniform(0, 5);
  for (int i = 0; i < added; ++i) {
    s.rows.push_back(make_row(r, feed, days, base, serial++, keys));
    keys.push_back(s.rows.back()[feed.key].text);
  }
  return s;
}

}  // namespace

Case make_case(Random& r) {
  Case c;
  std::vector<Day> days = interesting_days();
  Day base = r.chance(70) ? r.pick(days) : ymd(2016, 1, 1) + r.uniform(0, 365 * 12);
  c.valid_from = ymd(1901, 1, 1);
  c.valid_until = ymd(2099, 12, 31);

  int feeds = r.uniform(1, 2);
  for (int i = 0; i < feeds; ++i) c.feeds.push_back(make_feed(r, static_cast<size_t>(i)));

  c.table_names = {"limits", "names", "flags", "codes", "empty"};
  c.table_entries = {{"limits", "A", Val::of_number(3)},          {"limits", "B", Val::of_number(5.5)},
                     {"limits", "Team North", Val::of_number(2)}, {"limits", "", Val::of_number(1)},
                     {"names", "A", Val::of_string("Alpha")},     {"names", "G4", Val::of_string("NEET")},
                     {"flags", "A", Val::of_bool(true)},          {"flags", "B", Val::of_bool(false)},
                     {"codes", "1", Val::of_string("one")},       {"codes", "0.5", Val::of_string("half")},
                     {"codes", "-4", Val::of_string("minus four")}};
  // `codes` holds strings but is looked up by number: its values must all be one type.
  for (TableEntry& e : c.table_entries)
    if (e.table == "codes") e.value = Val::of_number(static_cast<double>(e.key.size()));

  int closures = r.uniform(0, 3);
  for (int i = 0; i < closures; ++i) c.extra_non_working_days.push_back(base + r.uniform(-60, 30));

  int rules = r.uniform(2, 8);
  for (int i = 0; i < rules; ++i) c.rules.push_back(make_rule(r, c, static_cast<size_t>(i), base));

  int serial = 0;
  std::vector<Snapshot> current;
  for (const FeedCase& feed : c.feeds) current.push_back(first_snapshot(r, feed, days, base, serial));
  int steps = r.uniform(2, 10);
  Day as_of = base + r.uniform(-20, 20);
  static const std::vector<int> moves = {1, 1, 1, 2, 3, 7, -1, -3, -10, 30, 0, 1, 5, -40, 60};
  for (int s = 0; s < steps; ++s) {
    Step step;
    step.as_of = as_of;
    for (size_t f = 0; f < c.feeds.size(); ++f) {
      bool change = s > 0 && r.chance(25);
      if (change) current[f] = next_snapshot(r, c.feeds[f], current[f], days, base, serial);
      step.changed.push_back(s == 0 || change);
    }
    step.snapshots = current;
    c.steps.push_back(std::move(step));
    as_of += r.pick(moves);
  }
  return c;
}

reference::FeedData accepted_records(const FeedCase& feed, const Snapshot& snapshot) {
  reference::FeedData data;
  data.name = feed.name;
  for (const FieldDef& f : feed.fields) data.fields.emplace_back(f.name, kind_of(f.type));
  data.key = feed.fields[feed.key].name;
  std::set<std::string> keys;
  for (const auto& row : snapshot.rows) {
    bool good = std::all_of(row.begin(), row.end(), [](const Cell& cell) { return cell.value.has_value(); });
    if (!good) continue;
    if (!keys.insert(row[feed.key].text).second) continue;  // a repeated key
    std::vector<Val> record;
    for (const Cell& cell : row) record.push_back(*cell.value);
    data.records.push_back(std::move(record));
  }
  return data;
}

std::string describe(const Case& c, size_t step) {
  std::string out = "case seed " + std::to_string(c.seed) + "\n";
  for (const RuleCase& rule : c.rules) {
    out += "  rule " + rule.name + " (" + rule.kind + (rule.enabled ? "" : ", disabled") + ") on " + rule.feed + "\n";
    auto line = [&](const char* key, const std::string& text) {
      if (!text.empty()) out += "    " + std::string(key) + " = " + text + "\n";
    };
    line("where", rule.where);
    line("start", rule.start);
    line("done", rule.done);
    line("due", rule.due);
    line("due_in", rule.due_in);
    line("warn_before", rule.warn_before);
    line("when", rule.when);
    line("value", rule.value);
    line("severity", rule.kind == "deadline" ? "" : rule.severity);
    std::string group;
    for (const auto& g : rule.group_by) group += (group.empty() ? "" : ", ") + g;
    line("group_by", group);
    for (const auto& [name, text] : rule.labels) line(("labels." + name).c_str(), text);
    for (const auto& [name, text] : rule.annotations) line(("annotations." + name).c_str(), text);
  }
  for (size_t s = 0; s <= step && s < c.steps.size(); ++s) out += (s ? ", " : "  as of ") + format_iso(c.steps[s].as_of);
  out += "\n";
  if (step < c.steps.size()) {
    for (size_t f = 0; f < c.feeds.size(); ++f) {
      const FeedCase& feed = c.feeds[f];
      out += "  " + feed.name + " (date_format \"" + feed.date_format + "\"):\n    ";
      for (size_t i = 0; i < feed.fields.size(); ++i)
        out += (i ? "," : "") + feed.fields[i].name + ":" + std::string(type_name(feed.fields[i].type));
      out += "\n";
      for (const auto& row : c.steps[step].snapshots[f].rows) {
        out += "    ";
        for (size_t i = 0; i < row.size(); ++i) out += (i ? "," : "") + row[i].text + (row[i].value ? "" : "(bad)");
        out += "\n";
      }
    }
  }
  return out;
}

}  // namespace casewatch::difftest
