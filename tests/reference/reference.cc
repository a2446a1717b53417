// Reference evaluator of casewatch rules: a naive, independent reading of docs/spec.md (sections
// 5 and 12) that the differential test compares with the real engine in rules/. Tests only.

#include "tests/reference/reference.h"

#include <re2/re2.h>

#include <algorithm>
#include <charconv>
#include <climits>
#include <cmath>
#include <cstddef>
#include <memory>
#include <string_view>
#include <tuple>

namespace casewatch::reference {
namespace {

[[noreturn]] void fail(const std::string& message) { throw std::runtime_error("reference evaluator: " + message); }

// ---------------------------------------------------------------------------------------------
// Civil dates. Day numbers count from 1970-01-01 in the proleptic Gregorian calendar; the
// conversions are H. Hinnant's well-known days_from_civil / civil_from_days.

int64_t floor_div(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }
int64_t floor_mod(int64_t a, int64_t b) { return a - floor_div(a, b) * b; }

struct Ymd {
  int64_t year;
  int month;  // 1-12
  int day;    // 1-31
};

int64_t days_from_civil(int64_t y, int m, int d) {
  y -= m <= 2;
  const int64_t era = floor_div(y, 400);
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

Ymd civil_from_days(int64_t z) {
  z += 719468;
  const int64_t era = floor_div(z, 146097);
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int d = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  const int m = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  return {yoe + era * 400 + (m <= 2), m, d};
}

bool is_leap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int days_in_month(int64_t y, int m) {
  static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : kDays[m - 1];
}

// 0 = Monday ... 6 = Sunday; 1970-01-01 was a Thursday.
int weekday(int64_t day) { return static_cast<int>(floor_mod(day + 3, 7)); }

// Dates lie in 0001-01-01 .. 9999-12-31 (section 12); anything else is null.
constexpr int64_t kFirstDay = -719162, kLastDay = 2932896;
// More days (or working days) than that span: out of range from any start, without stepping.
constexpr int64_t kSpanDays = kLastDay - kFirstDay + 1;
constexpr int64_t kSpanMonths = 120000;

std::optional<int32_t> representable(int64_t day) {
  if (day < kFirstDay || day > kLastDay) return std::nullopt;
  return static_cast<int32_t>(day);
}

// Day counts are truncated toward zero (section 12); a count that is not a finite number gives
// no date.
std::optional<int64_t> day_count(double n) {
  if (!std::isfinite(n)) return std::nullopt;
  if (std::fabs(n) > 1e12) return n < 0 ? -kSpanDays * 100 : kSpanDays * 100;  // far past every limit
  return static_cast<int64_t>(std::trunc(n));
}

std::string pad(int64_t n, int width, char fill = '0') {
  std::string digits = std::to_string(n < 0 ? -n : n);
  if (static_cast<int>(digits.size()) < width) digits.insert(0, width - digits.size(), fill);
  return n < 0 ? "-" + digits : digits;
}

std::string date_text(int32_t day) {
  const Ymd c = civil_from_days(day);
  return pad(c.year, 4) + "-" + pad(c.month, 2) + "-" + pad(c.day, 2);
}

// Exactly YYYY-MM-DD naming a real calendar day; anything else is no date.
std::optional<int32_t> parse_iso_date(std::string_view s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return std::nullopt;
  for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9})
    if (s[i] < '0' || s[i] > '9') return std::nullopt;
  auto num = [&](size_t from, size_t len) {
    int v = 0;
    for (size_t i = from; i < from + len; ++i) v = v * 10 + (s[i] - '0');
    return v;
  };
  const int y = num(0, 4), m = num(5, 2), d = num(8, 2);
  if (m < 1 || m > 12 || d < 1 || d > days_in_month(y, m)) return std::nullopt;
  return representable(days_from_civil(y, m, d));
}

std::optional<int32_t> add_months(int32_t day, int64_t months) {
  if (months > kSpanMonths || months < -kSpanMonths) return std::nullopt;
  const Ymd c = civil_from_days(day);
  const int64_t total = c.year * 12 + (c.month - 1) + months;
  const int64_t y = floor_div(total, 12);
  const int m = static_cast<int>(floor_mod(total, 12)) + 1;
  return representable(days_from_civil(y, m, std::min(c.day, days_in_month(y, m))));
}

bool is_working_day(int64_t day, const Environment& env) {
  return weekday(day) < 5 && env.non_working_days.count(static_cast<int32_t>(day)) == 0;
}

// Naive on purpose: one calendar day at a time (SPEC 5.1: the first working day after d is
// step 1, the first before d is step -1; n == 0 is d itself).
std::optional<int32_t> add_working_days(int32_t day, int64_t n, const Environment& env) {
  if (n > kSpanDays || n < -kSpanDays) return std::nullopt;
  int64_t d = day;
  while (n > 0) {
    ++d;
    if (is_working_day(d, env)) --n;
  }
  while (n < 0) {
    --d;
    if (is_working_day(d, env)) ++n;
  }
  return representable(d);
}

// The number of working days w with a < w <= b; negative (the same count with a and b swapped)
// when b < a.
int64_t working_days_between(int32_t a, int32_t b, const Environment& env) {
  if (b < a) return -working_days_between(b, a, env);
  int64_t count = 0;
  for (int64_t d = int64_t{a} + 1; d <= b; ++d)
    if (is_working_day(d, env)) ++count;
  return count;
}

// Birthdays passed up to and including today. Comparing (month, day) pairs makes someone born on
// 29 February have their birthday on 1 March in a year without one, as section 12 asks.
int64_t age_years(int32_t birth, int32_t today) {
  const Ymd b = civil_from_days(birth), t = civil_from_days(today);
  int64_t years = t.year - b.year;
  if (t.month < b.month || (t.month == b.month && t.day < b.day)) --years;
  return years;
}

const char* const kMonthShort[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
const char* const kMonthLong[] = {"January", "February", "March",     "April",   "May",      "June",
                                  "July",    "August",   "September", "October", "November", "December"};
const char* const kDayShort[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
const char* const kDayLong[] = {"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"};

std::string format_date(int32_t day, const std::string& format) {
  const Ymd c = civil_from_days(day);
  std::string out;
  for (size_t i = 0; i < format.size(); ++i) {
    if (format[i] != '%' || i + 1 == format.size()) {
      out += format[i];
      continue;
    }
    const char spec = format[++i];
    switch (spec) {
      case 'd': out += pad(c.day, 2); break;
      case 'e': out += pad(c.day, 2, ' '); break;
      case 'm': out += pad(c.month, 2); break;
      case 'Y': out += pad(c.year, 4); break;
      case 'y': out += pad(floor_mod(c.year, 100), 2); break;
      case 'b': out += kMonthShort[c.month - 1]; break;
      case 'B': out += kMonthLong[c.month - 1]; break;
      case 'a': out += kDayShort[weekday(day)]; break;
      case 'A': out += kDayLong[weekday(day)]; break;
      case 'j': out += pad(day - days_from_civil(c.year, 1, 1) + 1, 3); break;
      case '%': out += '%'; break;
      default:  // unknown directives are copied as they are
        out += '%';
        out += spec;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Values. Lists exist only inside expressions, so the evaluator's value is a Val or a list.

struct Value {
  Val v;
  bool is_list = false;
  std::vector<Val> items;
};

Value scalar(Val v) { return Value{std::move(v), false, {}}; }
Value null_value() { return Value{}; }
bool is_null(const Value& x) { return !x.is_list && x.v.kind == Kind::Null; }
bool is_true(const Value& x) { return !x.is_list && x.v.kind == Kind::Bool && x.v.boolean; }

const char* kind_name(const Value& x) {
  if (x.is_list) return "list";
  switch (x.v.kind) {
    case Kind::Null: return "null";
    case Kind::Bool: return "bool";
    case Kind::Number: return "number";
    case Kind::String: return "string";
    case Kind::Date: return "date";
  }
  return "?";
}

std::string number_text(double n) {
  if (std::trunc(n) == n && std::fabs(n) < 1e15) return std::to_string(static_cast<long long>(n));  // -0 too
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, n);  // shortest text that reads back
  return std::string(buf, r.ptr);
}

std::string text_of(const Value& x) {
  if (!x.is_list) return to_text(x.v);
  std::string out = "[";
  for (size_t i = 0; i < x.items.size(); ++i) out += (i ? ", " : "") + to_text(x.items[i]);
  return out + "]";
}

bool equal(const Val& a, const Val& b) {
  if (a.kind != b.kind) return false;
  switch (a.kind) {
    case Kind::Null: return true;
    case Kind::Bool: return a.boolean == b.boolean;
    case Kind::Number: return a.number == b.number;  // IEEE: 0 == -0, NaN is equal to nothing
    case Kind::String: return a.text == b.text;
    case Kind::Date: return a.day == b.day;
  }
  return false;
}

bool equal(const Value& a, const Value& b) {
  if (a.is_list != b.is_list) return false;
  if (!a.is_list) return equal(a.v, b.v);
  if (a.items.size() != b.items.size()) return false;
  for (size_t i = 0; i < a.items.size(); ++i)
    if (!equal(a.items[i], b.items[i])) return false;
  return true;
}

// Rounds the exact binary value of x to `digits` decimal places, halves away from zero, by
// decimal arithmetic on its exact expansion (so no error creeps in from scaling by 10^digits).
// Rounds the number as it is written: its shortest decimal form in plain digits (section 12), so
// that round(0.045, 2) is 0.05 although the double 0.045 lies a little below it.
double round_to(double x, int digits) {
  if (!std::isfinite(x) || x == 0) return x;
  std::string buf(400, '\0');
  const auto r = std::to_chars(buf.data(), buf.data() + buf.size(), std::fabs(x), std::chars_format::fixed);
  if (r.ec != std::errc()) fail("cannot write a number");
  std::string s(buf.data(), r.ptr);
  if (s.find('.') == std::string::npos) s += ".";
  const size_t dot = s.find('.');
  const std::string all = s.substr(0, dot) + s.substr(dot + 1);
  const long keep = static_cast<long>(dot) + digits;  // how many leading digits survive
  if (keep >= static_cast<long>(all.size())) return x;  // no digit below that place
  if (keep < 0) return std::copysign(0.0, x);
  std::string kept = all.substr(0, static_cast<size_t>(keep));
  const char next = static_cast<size_t>(keep) < all.size() ? all[static_cast<size_t>(keep)] : '0';
  if (next >= '5') {
    long i = static_cast<long>(kept.size()) - 1;
    for (; i >= 0 && kept[static_cast<size_t>(i)] == '9'; --i) kept[static_cast<size_t>(i)] = '0';
    if (i < 0) kept.insert(kept.begin(), '1');
    else ++kept[static_cast<size_t>(i)];
  }
  if (kept.empty()) kept = "0";
  const std::string text = kept + "e" + std::to_string(-digits);
  double out = 0;
  const auto p = std::from_chars(text.data(), text.data() + text.size(), out);
  if (p.ec != std::errc()) fail("cannot round a number");
  return std::copysign(out, x);
}

// ---------------------------------------------------------------------------------------------
// Lexer.

struct Token {
  enum Type { Number, String, Ident, Symbol, End } type = End;
  std::string text;  // identifier, symbol or decoded string
  double number = 0;
  size_t pos = 0;
};

bool is_ident_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_ident_char(char c) { return is_ident_start(c) || is_digit(c); }

std::vector<Token> lex(const std::string& s) {
  std::vector<Token> out;
  size_t i = 0;
  auto error = [&](const std::string& what, size_t at) -> void {
    fail(what + " at offset " + std::to_string(at) + " in '" + s + "'");
  };
  while (true) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) ++i;
    Token t;
    t.pos = i;
    if (i == s.size()) {
      out.push_back(t);
      return out;
    }
    const char c = s[i];
    if (is_digit(c) || (c == '.' && i + 1 < s.size() && is_digit(s[i + 1]))) {
      size_t j = i;
      while (j < s.size() && is_digit(s[j])) ++j;
      if (j < s.size() && s[j] == '.') {
        ++j;
        while (j < s.size() && is_digit(s[j])) ++j;
      }
      if (j < s.size() && (s[j] == 'e' || s[j] == 'E')) {
        size_t k = j + 1;
        if (k < s.size() && (s[k] == '+' || s[k] == '-')) ++k;
        if (k >= s.size() || !is_digit(s[k])) error("malformed number exponent", j);
        while (k < s.size() && is_digit(s[k])) ++k;
        j = k;
      }
      if (j < s.size() && (is_ident_char(s[j]) || s[j] == '.')) error("malformed number", i);
      std::string text = s.substr(i, j - i);
      if (text[0] == '.') text.insert(0, "0");
      const auto r = std::from_chars(text.data(), text.data() + text.size(), t.number);
      if (r.ec != std::errc() || r.ptr != text.data() + text.size()) error("number out of range", i);
      t.type = Token::Number;
      t.text = text;
      i = j;
    } else if (is_ident_start(c)) {
      size_t j = i;
      while (j < s.size() && is_ident_char(s[j])) ++j;
      t.type = Token::Ident;
      t.text = s.substr(i, j - i);
      i = j;
    } else if (c == '\'' || c == '"') {
      size_t j = i + 1;
      std::string text;
      while (true) {
        if (j >= s.size()) error("unterminated string", i);
        if (s[j] == c) break;
        if (s[j] == '\\') {
          if (j + 1 >= s.size()) error("unterminated string", i);
          switch (s[j + 1]) {
            case 'n': text += '\n'; break;
            case 't': text += '\t'; break;
            case '\\': text += '\\'; break;
            case '\'': text += '\''; break;
            case '"': text += '"'; break;
            default: error("unknown escape in string", j);
          }
          j += 2;
        } else {
          text += s[j++];
        }
      }
      t.type = Token::String;
      t.text = std::move(text);
      i = j + 1;
    } else {
      static const char* const kTwo[] = {"||", "&&", "==", "!=", "<=", ">="};
      t.type = Token::Symbol;
      for (const char* two : kTwo)
        if (s.compare(i, 2, two) == 0) t.text = two;
      if (t.text.empty()) {
        if (std::string_view("!<>+-*/()[],").find(c) == std::string_view::npos)
          error(std::string("unexpected character '") + c + "'", i);
        t.text = std::string(1, c);
      }
      i += t.text.size();
    }
    out.push_back(std::move(t));
  }
}

// ---------------------------------------------------------------------------------------------
// Syntax tree and parser.

enum class Op { Literal, Ident, Call, Or, And, Not, Eq, Ne, Lt, Le, Gt, Ge, In, Add, Sub, Mul, Div, Neg };

struct Node {
  Op op = Op::Literal;
  Value literal;              // Literal: a scalar or a list
  bool null_keyword = false;  // Literal: the keyword `null` as written, for the strict != rule
  std::string name;           // Ident, Call
  std::vector<std::unique_ptr<Node>> args;
  std::shared_ptr<const RE2> regex;  // matches(): compiled once at parse time
};
using NodePtr = std::unique_ptr<Node>;

struct Arity {
  int min, max;
};
const std::map<std::string, Arity>& functions() {
  static const std::map<std::string, Arity> kFunctions = {
      {"today", {0, 0}},        {"date", {1, 1}},         {"days_between", {2, 2}},
      {"working_days_between", {2, 2}}, {"add_days", {2, 2}}, {"add_working_days", {2, 2}},
      {"add_months", {2, 2}},   {"age_years", {1, 1}},    {"coalesce", {1, INT_MAX}},
      {"is_null", {1, 1}},      {"lower", {1, 1}},        {"upper", {1, 1}},
      {"contains", {2, 2}},     {"starts_with", {2, 2}},  {"matches", {2, 2}},
      {"lookup", {3, 3}},       {"format_date", {2, 2}},  {"round", {1, 2}},
  };
  return kFunctions;
}
const std::map<std::string, Arity>& aggregates() {
  static const std::map<std::string, Arity> kAggregates = {
      {"count", {0, 1}}, {"sum", {1, 1}},   {"avg", {1, 1}},           {"min", {1, 1}},
      {"max", {1, 1}},   {"ratio", {1, 1}}, {"count_distinct", {1, 1}},
      {"max_count", {1, 1}}, {"count_at_least", {2, 2}},
  };
  return kAggregates;
}

bool is_keyword(const std::string& s) {
  return s == "and" || s == "or" || s == "not" || s == "in" || s == "true" || s == "false" || s == "null";
}

Value date_of(const Value& x);

class Parser {
 public:
  explicit Parser(const std::string& source) : source_(source), tokens_(lex(source)) {}

  NodePtr parse() {
    NodePtr n = parse_or();
    if (peek().type != Token::End) error("unexpected '" + peek().text + "'");
    return n;
  }

 private:
  const Token& peek(size_t ahead = 0) const { return tokens_[std::min(i_ + ahead, tokens_.size() - 1)]; }
  bool is_symbol(const char* s, size_t ahead = 0) const {
    return peek(ahead).type == Token::Symbol && peek(ahead).text == s;
  }
  bool is_word(const char* s) const { return peek().type == Token::Ident && peek().text == s; }
  bool accept_symbol(const char* s) {
    if (!is_symbol(s)) return false;
    ++i_;
    return true;
  }
  bool accept_word(const char* s) {
    if (!is_word(s)) return false;
    ++i_;
    return true;
  }
  void expect_symbol(const char* s) {
    if (!accept_symbol(s)) error(std::string("expected '") + s + "'");
  }
  [[noreturn]] void error(const std::string& what) const {
    fail(what + " at offset " + std::to_string(peek().pos) + " in '" + source_ + "'");
  }

  static NodePtr make(Op op, NodePtr a, NodePtr b = nullptr) {
    auto n = std::make_unique<Node>();
    n->op = op;
    n->args.push_back(std::move(a));
    if (b) n->args.push_back(std::move(b));
    return n;
  }

  NodePtr parse_or() {
    NodePtr left = parse_and();
    while (accept_symbol("||") || accept_word("or")) left = make(Op::Or, std::move(left), parse_and());
    return left;
  }
  NodePtr parse_and() {
    NodePtr left = parse_not();
    while (accept_symbol("&&") || accept_word("and")) left = make(Op::And, std::move(left), parse_not());
    return left;
  }
  // `!` is looser than comparisons: `!a == b` is `!(a == b)`, and `a == !b` is not an expression.
  NodePtr parse_not() {
    if (accept_symbol("!") || accept_word("not")) return make(Op::Not, parse_not());
    return parse_comparison();
  }
  std::optional<Op> comparison_op() const {
    static const std::pair<const char*, Op> kOps[] = {{"==", Op::Eq}, {"!=", Op::Ne}, {"<", Op::Lt},
                                                      {"<=", Op::Le}, {">", Op::Gt},  {">=", Op::Ge}};
    for (const auto& [text, op] : kOps)
      if (is_symbol(text)) return op;
    return std::nullopt;
  }
  NodePtr parse_comparison() {
    NodePtr left = parse_in();
    const auto op = comparison_op();
    if (!op) return left;
    ++i_;
    NodePtr n = make(*op, std::move(left), parse_in());
    if (comparison_op()) error("comparisons cannot be chained");
    return n;
  }
  NodePtr parse_in() {
    NodePtr left = parse_additive();
    while (accept_word("in")) left = make(Op::In, std::move(left), parse_additive());
    return left;
  }
  NodePtr parse_additive() {
    NodePtr left = parse_multiplicative();
    while (true) {
      if (accept_symbol("+")) left = make(Op::Add, std::move(left), parse_multiplicative());
      else if (accept_symbol("-")) left = make(Op::Sub, std::move(left), parse_multiplicative());
      else return left;
    }
  }
  NodePtr parse_multiplicative() {
    NodePtr left = parse_unary();
    while (true) {
      if (accept_symbol("*")) left = make(Op::Mul, std::move(left), parse_unary());
      else if (accept_symbol("/")) left = make(Op::Div, std::move(left), parse_unary());
      else return left;
    }
  }
  NodePtr parse_unary() {
    if (accept_symbol("-")) return make(Op::Neg, parse_unary());
    return parse_primary();
  }

  static NodePtr literal(Value v, bool null_keyword = false) {
    auto n = std::make_unique<Node>();
    n->op = Op::Literal;
    n->literal = std::move(v);
    n->null_keyword = null_keyword;
    return n;
  }

  // A list item is a literal: a number (a leading minus allowed), a string, true, false, null
  // or date('YYYY-MM-DD').
  Val list_item() {
    const Token& t = peek();
    if (accept_symbol("-")) {
      if (peek().type != Token::Number) error("list items must be literals");
      return Val::of_number(-tokens_[i_++].number);
    }
    if (t.type == Token::Number) return Val::of_number(tokens_[i_++].number);
    if (t.type == Token::String) return Val::of_string(tokens_[i_++].text);
    if (accept_word("true")) return Val::of_bool(true);
    if (accept_word("false")) return Val::of_bool(false);
    if (accept_word("null")) return Val::null();
    if (is_word("date") && is_symbol("(", 1) && peek(2).type == Token::String && is_symbol(")", 3)) {
      const Value d = date_of(scalar(Val::of_string(peek(2).text)));
      i_ += 4;
      return d.v;
    }
    error("list items must be literals");
  }

  NodePtr parse_primary() {
    const Token& t = peek();
    if (t.type == Token::Number) {
      ++i_;
      return literal(scalar(Val::of_number(t.number)));
    }
    if (t.type == Token::String) {
      ++i_;
      return literal(scalar(Val::of_string(t.text)));
    }
    if (accept_symbol("(")) {
      NodePtr n = parse_or();
      expect_symbol(")");
      return n;
    }
    if (accept_symbol("[")) {
      Value list;
      list.is_list = true;
      if (!accept_symbol("]")) {
        do list.items.push_back(list_item());
        while (accept_symbol(","));
        expect_symbol("]");
      }
      return literal(std::move(list));
    }
    if (t.type != Token::Ident)
      error(t.type == Token::End ? "unexpected end of expression" : "unexpected '" + t.text + "'");
    if (accept_word("true")) return literal(scalar(Val::of_bool(true)));
    if (accept_word("false")) return literal(scalar(Val::of_bool(false)));
    if (accept_word("null")) return literal(null_value(), true);
    if (is_keyword(t.text)) error("unexpected '" + t.text + "'");
    const std::string name = t.text;
    ++i_;
    auto n = std::make_unique<Node>();
    n->name = name;
    if (!accept_symbol("(")) {
      n->op = Op::Ident;
      return n;
    }
    n->op = Op::Call;
    if (!accept_symbol(")")) {
      do n->args.push_back(parse_or());
      while (accept_symbol(","));
      expect_symbol(")");
    }
    check_call(*n);
    return n;
  }

  void check_call(Node& n) const {
    const auto& fs = functions();
    const auto& as = aggregates();
    const auto f = fs.find(n.name);
    const auto g = as.find(n.name);
    if (f == fs.end() && g == as.end()) error("unknown function '" + n.name + "'");
    const Arity arity = f != fs.end() ? f->second : g->second;
    const int count = static_cast<int>(n.args.size());
    if (count < arity.min || count > arity.max)
      error("wrong number of arguments to " + n.name + "()");
    auto string_literal = [](const Node& a) {
      return a.op == Op::Literal && !a.literal.is_list && a.literal.v.kind == Kind::String;
    };
    if (n.name == "matches") {
      if (!string_literal(*n.args[1])) error("the pattern of matches() must be a string literal");
      auto re = std::make_shared<RE2>(n.args[1]->literal.v.text, RE2::Quiet);
      if (!re->ok()) error("bad regular expression: " + re->error());
      n.regex = std::move(re);
    }
    if (n.name == "lookup" && !string_literal(*n.args[0])) error("the table of lookup() must be a string literal");
  }

  std::string source_;
  std::vector<Token> tokens_;
  size_t i_ = 0;
};

NodePtr parse_expression(const std::string& source) { return Parser(source).parse(); }

// Names an expression may use, checked once so that an unknown name fails even on a branch that
// short-circuiting would skip. `record_names` non-null: aggregate calls are allowed and see those.
void check_names(const Node& n, const std::set<std::string>& names, const std::set<std::string>* record_names,
                 const Environment& env) {
  if (n.op == Op::Ident && names.count(n.name) == 0) fail("unknown name '" + n.name + "'");
  if (n.op == Op::Call) {
    if (n.name == "lookup" && env.tables.count(n.args[0]->literal.v.text) == 0)
      fail("unknown table '" + n.args[0]->literal.v.text + "'");
    if (aggregates().count(n.name)) {
      if (!record_names) fail(n.name + "() is allowed only in an aggregate rule's value");
      for (const auto& a : n.args) check_names(*a, *record_names, nullptr, env);
      return;
    }
  }
  for (const auto& a : n.args) check_names(*a, names, record_names, env);
}

// ---------------------------------------------------------------------------------------------
// Evaluator.

struct Context {
  int32_t today = 0;
  const Environment* env = nullptr;
  const std::map<std::string, size_t>* fields = nullptr;   // the feed's field positions
  const std::vector<Val>* record = nullptr;                // the current record, if any
  const std::map<std::string, Value>* vars = nullptr;      // extra variables; they win over fields
  const std::vector<const std::vector<Val>*>* group = nullptr;  // an aggregate value's records
};

Value eval(const Node& n, const Context& c);

Value date_of(const Value& x) {
  if (x.is_list) return null_value();
  if (x.v.kind == Kind::Date) return x;
  if (x.v.kind != Kind::String) return null_value();
  std::string_view s = x.v.text;
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  const auto d = parse_iso_date(s);
  return d ? scalar(Val::of_date(*d)) : null_value();
}

const Val& need(const Value& x, Kind kind, const std::string& where) {
  if (x.is_list || x.v.kind != kind) fail(where + ": unexpected " + kind_name(x));
  return x.v;
}

Value date_of_day(std::optional<int32_t> day) { return day ? scalar(Val::of_date(*day)) : null_value(); }

Value date_shift(int32_t day, double n) {
  const auto count = day_count(n);
  if (!count || *count > kSpanDays || *count < -kSpanDays) return null_value();
  return date_of_day(representable(int64_t{day} + *count));
}

Value arithmetic(Op op, const Value& a, const Value& b) {
  if (is_null(a) || is_null(b)) return null_value();
  const char* sym = op == Op::Add ? "+" : op == Op::Sub ? "-" : op == Op::Mul ? "*" : "/";
  if (!a.is_list && !b.is_list) {
    const Val &x = a.v, &y = b.v;
    if (x.kind == Kind::Number && y.kind == Kind::Number) {
      switch (op) {
        case Op::Add: return scalar(Val::of_number(x.number + y.number));
        case Op::Sub: return scalar(Val::of_number(x.number - y.number));
        case Op::Mul: return scalar(Val::of_number(x.number * y.number));
        default: return y.number == 0 ? null_value() : scalar(Val::of_number(x.number / y.number));
      }
    }
    if (op == Op::Add && x.kind == Kind::Date && y.kind == Kind::Number) return date_shift(x.day, y.number);
    if (op == Op::Add && x.kind == Kind::Number && y.kind == Kind::Date) return date_shift(y.day, x.number);
    if (op == Op::Sub && x.kind == Kind::Date && y.kind == Kind::Number) return date_shift(x.day, -y.number);
    if (op == Op::Sub && x.kind == Kind::Date && y.kind == Kind::Date)
      return scalar(Val::of_number(static_cast<double>(int64_t{x.day} - y.day)));
  }
  fail(std::string("cannot apply ") + sym + " to " + kind_name(a) + " and " + kind_name(b));
}

// <, <=, >, >= order two numbers, two dates or two strings (bytes); anything else is false.
bool ordered(Op op, const Value& a, const Value& b) {
  if (a.is_list || b.is_list || a.v.kind != b.v.kind) return false;
  int cmp = 0;  // -1, 0, 1; NaN compares false everywhere
  switch (a.v.kind) {
    case Kind::Number:
      if (std::isnan(a.v.number) || std::isnan(b.v.number)) return false;
      cmp = a.v.number < b.v.number ? -1 : a.v.number > b.v.number ? 1 : 0;
      break;
    case Kind::Date: cmp = a.v.day < b.v.day ? -1 : a.v.day > b.v.day ? 1 : 0; break;
    case Kind::String: cmp = a.v.text.compare(b.v.text) < 0 ? -1 : a.v.text == b.v.text ? 0 : 1; break;
    default: return false;
  }
  switch (op) {
    case Op::Lt: return cmp < 0;
    case Op::Le: return cmp <= 0;
    case Op::Gt: return cmp > 0;
    default: return cmp >= 0;
  }
}

Value boolean(bool b) { return scalar(Val::of_bool(b)); }
Value number(double n) { return scalar(Val::of_number(n)); }

Value aggregate(const Node& n, const Context& c) {
  if (!c.group) fail(n.name + "() outside an aggregate rule's value");
  const auto& records = *c.group;
  std::vector<Value> xs;  // the argument's value on each record
  for (const auto* record : records) {
    if (n.args.empty()) break;
    Context inner;
    inner.today = c.today;
    inner.env = c.env;
    inner.fields = c.fields;
    inner.record = record;
    xs.push_back(eval(*n.args[0], inner));
  }
  auto count_true = [&] {
    double k = 0;
    for (const auto& x : xs) k += is_true(x) ? 1 : 0;
    return k;
  };
  std::vector<const Value*> present;  // sum, avg, min, max and count_distinct skip nulls
  for (const auto& x : xs)
    if (!is_null(x)) present.push_back(&x);

  if (n.name == "count") return number(n.args.empty() ? static_cast<double>(records.size()) : count_true());
  if (n.name == "ratio")
    return records.empty() ? null_value() : number(count_true() / static_cast<double>(records.size()));
  if (n.name == "sum" || n.name == "avg") {
    if (present.empty()) return null_value();
    double total = 0;  // in feed order, left to right
    for (const Value* x : present) total += need(*x, Kind::Number, n.name + "()").number;
    return number(n.name == "sum" ? total : total / static_cast<double>(present.size()));
  }
  if (n.name == "min" || n.name == "max") {
    if (present.empty()) return null_value();
    const Value* best = present[0];
    if (best->is_list || (best->v.kind != Kind::Number && best->v.kind != Kind::Date))
      fail(n.name + "() of " + kind_name(*best));
    for (const Value* x : present) {
      need(*x, best->v.kind, n.name + "()");
      if (ordered(n.name == "min" ? Op::Lt : Op::Gt, *x, *best)) best = x;
    }
    return *best;
  }
  if (n.name == "count_distinct") {
    std::set<double> numbers;
    std::set<std::string> strings;
    std::set<int32_t> dates;
    std::set<bool> bools;
    double nans = 0;  // NaN differs from everything, itself included
    for (const Value* x : present) {
      if (x->is_list) fail("count_distinct() of a list");
      switch (x->v.kind) {
        case Kind::Number:
          if (std::isnan(x->v.number)) ++nans;
          else numbers.insert(x->v.number == 0 ? 0.0 : x->v.number);  // 0 == -0
          break;
        case Kind::String: strings.insert(x->v.text); break;
        case Kind::Date: dates.insert(x->v.day); break;
        case Kind::Bool: bools.insert(x->v.boolean); break;
        case Kind::Null: break;
      }
    }
    return number(static_cast<double>(numbers.size() + strings.size() + dates.size() + bools.size()) + nans);
  }
  if (n.name == "max_count" || n.name == "count_at_least") {
    // Spec: records per non-null value (values equal under ==); max_count the most of one
    // value (null with none), count_at_least how many values have at least n records.
    std::vector<std::pair<const Value*, double>> classes;
    for (const Value* x : present) {
      if (x->is_list) fail(n.name + "() of a list");
      bool found = false;
      for (auto& [representative, k] : classes)
        if (equal(*representative, *x)) {
          k += 1;
          found = true;
          break;
        }
      if (!found) classes.push_back({x, 1});
    }
    if (n.name == "max_count") {
      if (classes.empty()) return null_value();
      double most = 0;
      for (const auto& entry : classes) most = std::max(most, entry.second);
      return number(most);
    }
    Context none;
    none.today = c.today;
    none.env = c.env;
    none.fields = c.fields;
    const Value at_least = eval(*n.args[1], none);
    double k = 0;
    for (const auto& entry : classes) k += entry.second >= need(at_least, Kind::Number, "count_at_least()").number ? 1 : 0;
    return number(k);
  }
  fail("unknown aggregate " + n.name);
}

Value call(const Node& n, const Context& c) {
  const std::string& f = n.name;
  if (aggregates().count(f)) return aggregate(n, c);
  if (f == "today") return scalar(Val::of_date(c.today));
  if (f == "coalesce") {
    for (const auto& a : n.args) {
      Value x = eval(*a, c);
      if (!is_null(x)) return x;
    }
    return null_value();
  }
  if (f == "is_null") return boolean(is_null(eval(*n.args[0], c)));
  if (f == "lookup") {
    const auto table = c.env->tables.find(n.args[0]->literal.v.text);
    if (table == c.env->tables.end()) fail("unknown table '" + n.args[0]->literal.v.text + "'");
    const Value key = eval(*n.args[1], c);
    if (!is_null(key)) {
      const auto it = table->second.find(text_of(key));
      if (it != table->second.end()) return scalar(it->second);
    }
    return eval(*n.args[2], c);
  }

  // Every other function gives null when any argument is null.
  std::vector<Value> a;
  for (const auto& arg : n.args) a.push_back(eval(*arg, c));
  for (const auto& x : a)
    if (is_null(x)) return null_value();
  const std::string where = f + "()";
  const Environment& env = *c.env;

  if (f == "date") return date_of(a[0]);
  if (f == "days_between")
    return number(static_cast<double>(int64_t{need(a[1], Kind::Date, where).day} - need(a[0], Kind::Date, where).day));
  if (f == "working_days_between")
    return number(static_cast<double>(
        working_days_between(need(a[0], Kind::Date, where).day, need(a[1], Kind::Date, where).day, env)));
  if (f == "add_days") return date_shift(need(a[0], Kind::Date, where).day, need(a[1], Kind::Number, where).number);
  if (f == "add_working_days") {
    const auto count = day_count(need(a[1], Kind::Number, where).number);
    return count ? date_of_day(add_working_days(need(a[0], Kind::Date, where).day, *count, env)) : null_value();
  }
  if (f == "add_months") {
    const auto count = day_count(need(a[1], Kind::Number, where).number);
    return count ? date_of_day(add_months(need(a[0], Kind::Date, where).day, *count)) : null_value();
  }
  if (f == "age_years") return number(static_cast<double>(age_years(need(a[0], Kind::Date, where).day, c.today)));
  if (f == "lower" || f == "upper") {
    std::string s = need(a[0], Kind::String, where).text;
    for (char& ch : s) {
      if (f == "lower" && ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
      if (f == "upper" && ch >= 'a' && ch <= 'z') ch = static_cast<char>(ch - 'a' + 'A');
    }
    return scalar(Val::of_string(std::move(s)));
  }
  if (f == "contains")
    return boolean(need(a[0], Kind::String, where).text.find(need(a[1], Kind::String, where).text) !=
                   std::string::npos);
  if (f == "starts_with") {
    const std::string& s = need(a[0], Kind::String, where).text;
    const std::string& part = need(a[1], Kind::String, where).text;
    return boolean(s.compare(0, part.size(), part) == 0 && s.size() >= part.size());
  }
  if (f == "matches") return boolean(RE2::PartialMatch(need(a[0], Kind::String, where).text, *n.regex));
  if (f == "format_date")
    return scalar(Val::of_string(format_date(need(a[0], Kind::Date, where).day, need(a[1], Kind::String, where).text)));
  if (f == "round") {
    const double x = need(a[0], Kind::Number, where).number;
    double digits = 0;
    if (a.size() > 1) {
      digits = need(a[1], Kind::Number, where).number;
      if (std::isnan(digits)) fail("round(): digits is not a number");
      digits = std::clamp(std::trunc(digits), -15.0, 15.0);
    }
    return number(round_to(x, static_cast<int>(digits)));
  }
  fail("unknown function " + f);
}

Value eval(const Node& n, const Context& c) {
  switch (n.op) {
    case Op::Literal: return n.literal;
    case Op::Ident: {
      if (c.vars) {
        const auto it = c.vars->find(n.name);
        if (it != c.vars->end()) return it->second;
      }
      if (c.record) {
        const auto it = c.fields->find(n.name);
        if (it != c.fields->end()) return scalar((*c.record)[it->second]);
      }
      fail("unknown name '" + n.name + "'");
    }
    case Op::Call: return call(n, c);
    case Op::Or: return boolean(is_true(eval(*n.args[0], c)) || is_true(eval(*n.args[1], c)));
    case Op::And: return boolean(is_true(eval(*n.args[0], c)) && is_true(eval(*n.args[1], c)));
    case Op::Not: return boolean(!is_true(eval(*n.args[0], c)));
    case Op::Eq: return boolean(equal(eval(*n.args[0], c), eval(*n.args[1], c)));
    case Op::Ne: {
      const Value a = eval(*n.args[0], c), b = eval(*n.args[1], c);
      const bool a_null = is_null(a), b_null = is_null(b);
      // Strict null rule: with one side null, true only when that side is the keyword null.
      if (a_null != b_null) return boolean(a_null ? n.args[0]->null_keyword : n.args[1]->null_keyword);
      return boolean(!equal(a, b));
    }
    case Op::Lt:
    case Op::Le:
    case Op::Gt:
    case Op::Ge: return boolean(ordered(n.op, eval(*n.args[0], c), eval(*n.args[1], c)));
    case Op::In: {
      const Value x = eval(*n.args[0], c), list = eval(*n.args[1], c);
      if (!list.is_list) fail(std::string("'in' needs a list, not ") + kind_name(list));
      if (is_null(x)) return boolean(false);
      if (x.is_list) fail("'in' of a list");
      for (const Val& item : list.items)
        if (equal(x.v, item)) return boolean(true);
      return boolean(false);
    }
    case Op::Add:
    case Op::Sub:
    case Op::Mul:
    case Op::Div: return arithmetic(n.op, eval(*n.args[0], c), eval(*n.args[1], c));
    case Op::Neg: {
      const Value x = eval(*n.args[0], c);
      if (is_null(x)) return x;
      return number(-need(x, Kind::Number, "unary -").number);
    }
  }
  fail("bad expression node");
}

// ---------------------------------------------------------------------------------------------
// Templates: text with {{ EXPRESSION }} parts. An expression ends at the first "}}" that is not
// inside a string literal.

struct Template {
  struct Part {
    std::string text;
    NodePtr expr;  // null: the part is plain text
  };
  std::vector<Part> parts;
};

Template parse_template(const std::string& source) {
  Template t;
  size_t i = 0;
  while (i < source.size()) {
    const size_t open = source.find("{{", i);
    if (open == std::string::npos) {
      t.parts.push_back({source.substr(i), nullptr});
      break;
    }
    if (open > i) t.parts.push_back({source.substr(i, open - i), nullptr});
    size_t j = open + 2;
    char quote = 0;
    for (; j < source.size(); ++j) {
      if (quote) {
        if (source[j] == '\\') ++j;
        else if (source[j] == quote) quote = 0;
      } else if (source[j] == '\'' || source[j] == '"') {
        quote = source[j];
      } else if (source.compare(j, 2, "}}") == 0) {
        break;
      }
    }
    if (j >= source.size()) fail("unclosed '{{' in template '" + source + "'");
    t.parts.push_back({"", parse_expression(source.substr(open + 2, j - open - 2))});
    i = j + 2;
  }
  return t;
}

std::string render(const Template& t, const Context& c) {
  std::string out;
  for (const auto& part : t.parts) out += part.expr ? text_of(eval(*part.expr, c)) : part.text;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Rules.

struct Span {
  enum Unit { Days, WorkingDays, Weeks, Months } unit = Days;
  int64_t n = 0;
};

// "N days", "N working days", "N weeks", "N months", singular units too.
Span parse_span(const std::string& text, const char* key) {
  std::vector<std::string> words;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
    size_t j = i;
    while (j < text.size() && text[j] != ' ' && text[j] != '\t') ++j;
    if (j > i) words.push_back(text.substr(i, j - i));
    i = j;
  }
  auto bad = [&]() -> Span { fail(std::string("bad ") + key + " '" + text + "'"); };
  if (words.size() < 2 || words.size() > 3 || words[0].size() > 7) return bad();
  for (char ch : words[0])
    if (!is_digit(ch)) return bad();
  Span s;
  s.n = std::stoll(words[0]);
  const std::string unit = words.size() == 3 ? words[1] + " " + words[2] : words[1];
  if (unit == "day" || unit == "days") s.unit = Span::Days;
  else if (unit == "working day" || unit == "working days") s.unit = Span::WorkingDays;
  else if (unit == "week" || unit == "weeks") s.unit = Span::Weeks;
  else if (unit == "month" || unit == "months") s.unit = Span::Months;
  else return bad();
  return s;
}

// day + sign * span, each unit counted its own way (SPEC 5.2).
std::optional<int32_t> shift(int32_t day, const Span& s, int sign, const Environment& env) {
  const int64_t n = sign * s.n;
  switch (s.unit) {
    case Span::Days: return representable(int64_t{day} + n);
    case Span::Weeks: return representable(int64_t{day} + 7 * n);
    case Span::WorkingDays: return add_working_days(day, n, env);
    case Span::Months: return add_months(day, n);
  }
  fail("bad span");
}

struct CompiledRule {
  const RuleText* rule = nullptr;
  const FeedData* feed = nullptr;
  std::map<std::string, size_t> fields;
  NodePtr where, when, start, done, due, value;
  std::optional<Span> due_in, warn_before;
  std::vector<std::pair<std::string, Template>> labels, annotations;
  std::vector<size_t> group_by;  // field positions
};

NodePtr optional_expression(const std::string& source, const std::set<std::string>& names,
                            const std::set<std::string>* record_names, const Environment& env) {
  if (source.empty()) return nullptr;
  NodePtr n = parse_expression(source);
  check_names(*n, names, record_names, env);
  return n;
}

std::vector<std::pair<std::string, Template>> templates(const std::vector<std::pair<std::string, std::string>>& texts,
                                                       const std::set<std::string>& names, const Environment& env) {
  std::vector<std::pair<std::string, Template>> out;
  for (const auto& [name, text] : texts) {
    Template t = parse_template(text);
    for (const auto& part : t.parts)
      if (part.expr) check_names(*part.expr, names, nullptr, env);
    out.emplace_back(name, std::move(t));
  }
  return out;
}

CompiledRule compile(const RuleText& r, const std::vector<FeedData>& feeds, const Environment& env) {
  CompiledRule c;
  c.rule = &r;
  for (const auto& f : feeds)
    if (f.name == r.feed) {
      c.feed = &f;
      break;
    }
  if (!c.feed) fail("rule " + r.name + ": unknown feed '" + r.feed + "'");
  std::set<std::string> record_names;
  for (size_t i = 0; i < c.feed->fields.size(); ++i) {
    c.fields.emplace(c.feed->fields[i].first, i);
    record_names.insert(c.feed->fields[i].first);
  }
  if (!c.fields.count(c.feed->key)) fail("feed " + c.feed->name + ": unknown key field");
  for (const auto& rec : c.feed->records)
    if (rec.size() != c.feed->fields.size()) fail("feed " + c.feed->name + ": a record of the wrong width");

  c.where = optional_expression(r.where, record_names, nullptr, env);
  if (r.kind == "deadline") {
    if (!r.due_in.empty() && !r.due.empty()) fail("rule " + r.name + ": both due_in and due");
    if (r.due_in.empty() && r.due.empty()) fail("rule " + r.name + ": neither due_in nor due");
    if (!r.due_in.empty() && r.start.empty()) fail("rule " + r.name + ": due_in without start");
    c.start = optional_expression(r.start, record_names, nullptr, env);
    c.done = optional_expression(r.done, record_names, nullptr, env);
    c.due = optional_expression(r.due, record_names, nullptr, env);
    if (!r.due_in.empty()) c.due_in = parse_span(r.due_in, "due_in");
    if (!r.warn_before.empty()) c.warn_before = parse_span(r.warn_before, "warn_before");
    std::set<std::string> names = record_names;
    names.insert({"due_date", "days_remaining", "working_days_remaining"});
    c.labels = templates(r.labels, names, env);
    c.annotations = templates(r.annotations, names, env);
  } else if (r.kind == "condition") {
    if (r.when.empty()) fail("rule " + r.name + ": condition without when");
    c.when = optional_expression(r.when, record_names, nullptr, env);
    c.labels = templates(r.labels, record_names, env);
    c.annotations = templates(r.annotations, record_names, env);
  } else if (r.kind == "aggregate") {
    std::set<std::string> group_names;
    for (const auto& g : r.group_by) {
      const auto it = c.fields.find(g);
      if (it == c.fields.end()) fail("rule " + r.name + ": unknown group_by field '" + g + "'");
      c.group_by.push_back(it->second);
      group_names.insert(g);
    }
    if (r.value.empty()) fail("rule " + r.name + ": aggregate without value");
    c.value = optional_expression(r.value, group_names, &record_names, env);
    std::set<std::string> names = group_names;
    names.insert("value");
    c.when = optional_expression(r.when, names, nullptr, env);
    c.labels = templates(r.labels, names, env);
    c.annotations = templates(r.annotations, names, env);
  } else {
    fail("rule " + r.name + ": unknown kind '" + r.kind + "'");
  }
  if (r.kind != "deadline" && r.severity != "info" && r.severity != "warning" && r.severity != "critical")
    fail("rule " + r.name + ": unknown severity '" + r.severity + "'");
  return c;
}

std::optional<int32_t> date_or_null(const NodePtr& n, const Context& c, const char* key) {
  const Value v = eval(*n, c);
  if (is_null(v)) return std::nullopt;
  return need(v, Kind::Date, key).day;
}

Alert make_alert(const CompiledRule& r, const std::string& key, const std::string& severity, const Context& c) {
  Alert a;
  a.rule = r.rule->name;
  a.key = key;
  a.severity = severity;
  for (const auto& [name, t] : r.labels) a.labels[name] = render(t, c);
  a.labels["alertname"] = a.rule;  // these three always win over the rule's labels
  a.labels["key"] = a.key;
  a.labels["severity"] = a.severity;
  for (const auto& [name, t] : r.annotations) a.annotations[name] = render(t, c);
  return a;
}

Context record_context(const CompiledRule& r, const std::vector<Val>& record, int32_t as_of, const Environment& env) {
  Context c;
  c.today = as_of;
  c.env = &env;
  c.fields = &r.fields;
  c.record = &record;
  return c;
}

void run_deadline(const CompiledRule& r, int32_t as_of, const Environment& env, Result& out) {
  const size_t key_index = r.fields.at(r.feed->key);
  for (const auto& record : r.feed->records) {
    Context c = record_context(r, record, as_of, env);
    if (r.where && !is_true(eval(*r.where, c))) continue;
    std::optional<int32_t> start;
    if (r.start) {
      start = date_or_null(r.start, c, "start");
      if (!start || *start > as_of) continue;  // a clock that has not started as of D
    }
    if (r.done) {
      const auto done = date_or_null(r.done, c, "done");
      if (done && *done <= as_of) continue;  // done later than D counts as not done
    }
    std::optional<int32_t> due;
    if (r.due_in) due = shift(*start, *r.due_in, +1, env);
    else due = date_or_null(r.due, c, "due");
    if (!due) continue;
    const char* severity = nullptr;
    if (as_of > *due) severity = "critical";
    else if (r.warn_before) {
      const auto from = shift(*due, *r.warn_before, -1, env);
      if (from && as_of >= *from) severity = "warning";
    }
    if (!severity) continue;

    std::map<std::string, Value> vars;
    vars["due_date"] = scalar(Val::of_date(*due));
    vars["days_remaining"] = number(static_cast<double>(int64_t{*due} - as_of));
    vars["working_days_remaining"] = number(static_cast<double>(working_days_between(as_of, *due, env)));
    c.vars = &vars;
    Alert a = make_alert(r, to_text(record[key_index]), severity, c);
    a.due_date = *due;
    out.alerts.push_back(std::move(a));
  }
}

void run_condition(const CompiledRule& r, int32_t as_of, const Environment& env, Result& out) {
  const size_t key_index = r.fields.at(r.feed->key);
  for (const auto& record : r.feed->records) {
    const Context c = record_context(r, record, as_of, env);
    if (r.where && !is_true(eval(*r.where, c))) continue;
    if (!is_true(eval(*r.when, c))) continue;
    out.alerts.push_back(make_alert(r, to_text(record[key_index]), r.rule->severity, c));
  }
}

void run_aggregate(const CompiledRule& r, int32_t as_of, const Environment& env, Result& out) {
  struct Group {
    std::vector<Val> values;  // the group_by fields' values, from the group's first record
    std::vector<const std::vector<Val>*> records;
  };
  // Only to avoid a quadratic search: groups whose values have the same kinds and texts are the
  // candidates; == (null with null) still decides.
  std::map<std::string, std::vector<size_t>> candidates;
  std::vector<Group> groups;
  if (r.group_by.empty()) {  // one group, even when no record passes
    groups.emplace_back();
    candidates[""].push_back(0);
  }
  for (const auto& record : r.feed->records) {
    const Context c = record_context(r, record, as_of, env);
    if (r.where && !is_true(eval(*r.where, c))) continue;
    std::vector<Val> values;
    std::string hint;
    for (size_t i : r.group_by) {
      values.push_back(record[i]);
      const std::string text = to_text(record[i]);
      hint += std::to_string(static_cast<int>(record[i].kind)) + ":" + std::to_string(text.size()) + ":" + text;
    }
    size_t home = groups.size();
    for (size_t g : candidates[hint]) {
      bool same = true;
      for (size_t k = 0; k < values.size() && same; ++k) same = equal(groups[g].values[k], values[k]);
      if (same) {
        home = g;
        break;
      }
    }
    if (home == groups.size()) {
      groups.push_back(Group{values, {}});
      candidates[hint].push_back(home);
    }
    groups[home].records.push_back(&record);
  }

  for (const auto& g : groups) {
    std::map<std::string, Value> vars;
    GroupValue gv;
    gv.rule = r.rule->name;
    for (size_t k = 0; k < r.group_by.size(); ++k) {
      const std::string& name = r.rule->group_by[k];
      vars[name] = scalar(g.values[k]);
      gv.group.emplace_back(name, g.values[k]);
      // Spec: values joined with '/', a '/' or '\\' inside one preceded by '\\'.
      std::string part = to_text(g.values[k]);
      std::string escaped;
      for (char ch : part) escaped += (ch == '/' || ch == '\\') ? std::string("\\") + ch : std::string(1, ch);
      gv.key += (k ? "/" : "") + escaped;
    }
    Context c;
    c.today = as_of;
    c.env = &env;
    c.fields = &r.fields;
    c.vars = &vars;
    c.group = &g.records;
    const Value v = eval(*r.value, c);
    if (!is_null(v)) gv.value = need(v, Kind::Number, "aggregate value").number;
    c.group = nullptr;  // aggregate calls belong to `value` only
    vars["value"] = v;
    if (r.when && is_true(eval(*r.when, c))) {
      Alert a = make_alert(r, gv.key, r.rule->severity, c);
      a.value = gv.value;
      out.alerts.push_back(std::move(a));
    }
    out.values.push_back(std::move(gv));
  }
}

}  // namespace

std::string to_text(const Val& value) {
  switch (value.kind) {
    case Kind::Null: return "";
    case Kind::Bool: return value.boolean ? "true" : "false";
    case Kind::Number: return number_text(value.number);
    case Kind::String: return value.text;
    case Kind::Date: return date_text(value.day);
  }
  return "";
}

Result evaluate(const std::vector<RuleText>& rules, const std::vector<FeedData>& feeds, int32_t as_of,
                const Environment& environment) {
  Result out;
  for (const auto& rule : rules) {
    if (!rule.enabled) continue;
    const CompiledRule c = compile(rule, feeds, environment);  // each expression parsed once
    if (rule.kind == "deadline") run_deadline(c, as_of, environment, out);
    else if (rule.kind == "condition") run_condition(c, as_of, environment, out);
    else run_aggregate(c, as_of, environment, out);
  }
  // Stable: groups whose keys read the same keep their order of first appearance.
  std::stable_sort(out.alerts.begin(), out.alerts.end(), [](const Alert& a, const Alert& b) {
    return std::tie(a.rule, a.key) < std::tie(b.rule, b.key);
  });
  std::stable_sort(out.values.begin(), out.values.end(), [](const GroupValue& a, const GroupValue& b) {
    return std::tie(a.rule, a.key) < std::tie(b.rule, b.key);
  });
  return out;
}

}  // namespace casewatch::reference
