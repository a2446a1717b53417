// The expression language of SPEC 5.1 and templates: lexing, parsing, precedence, type checking
// (exact messages and byte offsets), null semantics, every function, and template printing.
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "rules/calendar.h"
#include "rules/date.h"
#include "rules/expr.h"
#include "rules/table.h"
#include "rules/template.h"
#include "rules/value.h"

namespace casewatch {
namespace {

Day ymd(int y, unsigned m, unsigned d) { return days_from_civil(y, m, d); }

// What an evaluation gave, copied out while the expression (which owns literal strings) lives.
struct Result {
  Type type = Type::Null;
  bool boolean = false;
  double number = 0;
  Day day = kNullDay;
  std::string text;  // value_to_text of the value (strings: the string itself)
};

std::string describe(const std::vector<ExprError>& errors) {
  std::string out;
  for (const auto& e : errors) out += "  @" + std::to_string(e.offset) + ": " + e.message + "\n";
  return out;
}

// A small feed: every type, and a row where the optional fields are null.
//   row 0: C1, Assessment, 7.5 hours, referred 2017-06-01, flag true, n/d/b/s null
//   row 1: C2, Corporate Parenting, 3 hours, referred 2017-08-18, flag false, n=5 ...
class ExprBase : public ::testing::Test {
 protected:
  ExprBase() : calendar_(Calendar::england_and_wales_bank_holidays()) {
    auto schema = std::make_shared<Schema>();
    schema->fields = {{"id", Type::String},     {"team", Type::String}, {"hours", Type::Number},
                      {"referral", Type::Date}, {"closed", Type::Date}, {"flag", Type::Bool},
                      {"n", Type::Number},      {"d", Type::Date},      {"b", Type::Bool},
                      {"s", Type::String},      {"dob", Type::Date},    {"code", Type::String}};
    schema->key = 0;
    schema_ = schema;
    TableBuilder builder(schema_, DateParser("%d/%m/%Y"));
    add(builder, {"C1", "Assessment", "7.5", "2017-06-01", "", "true", "", "", "", "", "2000-06-15", "AB-123"});
    add(builder, {"C2", "Corporate Parenting", "3", "18/08/2017", "2017-09-04", "no", "5", "2017-08-25", "false",
                  "x", "2004-02-29", "zz"});
    table_ = builder.finish();

    tables_.add("caseload_limit", "Assessment", Value::of_number(18));
    tables_.add("caseload_limit", "Corporate Parenting", Value::of_number(15));
    tables_.add("team_code", "Assessment", Value::of_string("ASM"));
    tables_.add("by_number", "3", Value::of_number(2));
    tables_.add("by_number", "100000", Value::of_number(1));
    tables_.add("mixed", "a", Value::of_number(1));
    tables_.add("mixed", "b", Value::of_string("x"));

    scope_.schema = schema_.get();
    scope_.tables = &tables_;
  }

  static void add(TableBuilder& builder, std::vector<std::string_view> cells) {
    auto error = builder.add_row(cells);
    ASSERT_FALSE(error.has_value()) << error->message;
  }

  EvalContext context(size_t row) {
    EvalContext c;
    c.table = &table_;
    c.row = row;
    c.today = today_;
    c.calendar = &calendar_;
    c.tables = &tables_;
    c.arena = &arena_;
    return c;
  }

  std::optional<Expression> compile_ok(const std::string& source) {
    std::vector<ExprError> errors;
    auto e = Expression::compile(source, scope_, errors);
    EXPECT_TRUE(e.has_value() && errors.empty()) << "compiling `" << source << "`:\n" << describe(errors);
    return errors.empty() ? e : std::nullopt;
  }

  Result run(const std::string& source, size_t row = 0) {
    Result r;
    auto e = compile_ok(source);
    if (!e) {
      r.text = "<did not compile>";
      return r;
    }
    Value v = e->eval(context(row));
    r.type = v.type;
    r.boolean = v.boolean;
    r.number = v.number;
    r.day = v.day;
    r.text = value_to_text(v);
    return r;
  }

  // Expects a bool result and returns it.
  bool truth(const std::string& source, size_t row = 0) {
    Result r = run(source, row);
    EXPECT_EQ(r.type, Type::Bool) << "`" << source << "` gave " << type_name(r.type) << " " << r.text;
    return r.boolean;
  }
  double num(const std::string& source, size_t row = 0) {
    Result r = run(source, row);
    EXPECT_EQ(r.type, Type::Number) << "`" << source << "` gave " << type_name(r.type) << " " << r.text;
    return r.number;
  }
  std::string str(const std::string& source, size_t row = 0) {
    Result r = run(source, row);
    EXPECT_EQ(r.type, Type::String) << "`" << source << "` gave " << type_name(r.type) << " " << r.text;
    return r.text;
  }
  Day day(const std::string& source, size_t row = 0) {
    Result r = run(source, row);
    EXPECT_EQ(r.type, Type::Date) << "`" << source << "` gave " << type_name(r.type) << " " << r.text;
    return r.day;
  }
  bool is_null(const std::string& source, size_t row = 0) { return run(source, row).type == Type::Null; }

  // Compiles expecting failure; returns the errors.
  std::vector<ExprError> errors_of(const std::string& source) {
    std::vector<ExprError> errors;
    auto e = Expression::compile(source, scope_, errors);
    EXPECT_FALSE(e.has_value()) << "`" << source << "` compiled";
    EXPECT_FALSE(errors.empty()) << "`" << source << "` gave no error";
    return errors;
  }

  // Exactly one error, with this offset and message.
  void expect_error(const std::string& source, size_t offset, const std::string& message) {
    auto errors = errors_of(source);
    ASSERT_EQ(errors.size(), 1u) << "`" << source << "`:\n" << describe(errors);
    EXPECT_EQ(errors[0].offset, offset) << "`" << source << "`: " << errors[0].message;
    EXPECT_EQ(errors[0].message, message) << "`" << source << "`";
  }

  std::shared_ptr<const Schema> schema_;
  Table table_;
  LookupTables tables_;
  Calendar calendar_;
  Arena arena_;
  Scope scope_;
  Day today_ = ymd(2017, 6, 14);  // a Wednesday
};

class ExprLiterals : public ExprBase {};
class ExprPrecedence : public ExprBase {};
class ExprNull : public ExprBase {};
class ExprDates : public ExprBase {};
class ExprFunctions : public ExprBase {};
class ExprSyntaxErrors : public ExprBase {};
class ExprTypeErrors : public ExprBase {};
class ExprTypes : public ExprBase {};
class TemplateTest : public ExprBase {
 protected:
  std::string render(const std::string& source, size_t row = 0) {
    std::vector<ExprError> errors;
    auto t = Template::compile(source, scope_, errors);
    EXPECT_TRUE(t.has_value() && errors.empty()) << "template `" << source << "`:\n" << describe(errors);
    if (!t) return "<did not compile>";
    return t->render(context(row));
  }
  std::vector<ExprError> template_errors(const std::string& source) {
    std::vector<ExprError> errors;
    auto t = Template::compile(source, scope_, errors);
    EXPECT_FALSE(t.has_value()) << "template `" << source << "` compiled";
    return errors;
  }
};

// ---------------------------------------------------------------------------------------------
// Literals and lexing

TEST_F(ExprLiterals, Numbers) {
  EXPECT_EQ(num("12"), 12);
  EXPECT_EQ(num("3.5"), 3.5);
  EXPECT_EQ(num(".5"), 0.5);
  EXPECT_EQ(num("1e3"), 1000);
  EXPECT_EQ(num("2.5E-1"), 0.25);
  EXPECT_EQ(num("0"), 0);
  EXPECT_EQ(num("007"), 7);
}

TEST_F(ExprLiterals, StringsInBothQuoteStyles) {
  EXPECT_EQ(str("'text'"), "text");
  EXPECT_EQ(str("\"text\""), "text");
  EXPECT_TRUE(truth("'text' == \"text\""));
  EXPECT_EQ(str("''"), "");
  EXPECT_EQ(str("'say \"hi\"'"), "say \"hi\"");
  EXPECT_EQ(str("\"it's\""), "it's");
}

TEST_F(ExprLiterals, StringEscapes) {
  EXPECT_EQ(str(R"('it\'s')"), "it's");
  EXPECT_EQ(str(R"("say \"hi\"")"), "say \"hi\"");
  EXPECT_EQ(str(R"('back\\slash')"), "back\\slash");
  EXPECT_EQ(str(R"('a\tb')"), "a\tb");
  EXPECT_EQ(str(R"('a\nb')"), "a\nb");
  EXPECT_EQ(str(R"('\"')"), "\"");
}

TEST_F(ExprLiterals, BoolsAndNull) {
  EXPECT_TRUE(truth("true"));
  EXPECT_FALSE(truth("false"));
  EXPECT_TRUE(is_null("null"));
}

TEST_F(ExprLiterals, Lists) {
  Result r = run("['a', 'b']");
  EXPECT_EQ(r.type, Type::List);
  EXPECT_EQ(r.text, "[a, b]");
  EXPECT_EQ(run("[]").text, "[]");
  EXPECT_EQ(run("[1, 2.5, -3]").text, "[1, 2.5, -3]");
  EXPECT_TRUE(truth("'b' in ['a', 'b']"));
  EXPECT_FALSE(truth("'c' in ['a', 'b']"));
  EXPECT_TRUE(truth("team in ['Assessment', \"Corporate Parenting\"]"));
  EXPECT_TRUE(truth("team in ['Assessment', 'Corporate Parenting']", 1));
  EXPECT_FALSE(truth("team in ['Assessment']", 1));
  EXPECT_TRUE(truth("hours in [1, 7.5]"));
  EXPECT_TRUE(truth("-3 in [1, -3]"));
  EXPECT_FALSE(truth("'a' in []"));
  EXPECT_TRUE(truth("referral in [date('2017-06-01'), date('2017-08-18')]", 1));
}

TEST_F(ExprLiterals, DateLiteral) {
  Result r = run("date('2017-06-14')");
  EXPECT_EQ(r.type, Type::Date);
  EXPECT_EQ(r.day, ymd(2017, 6, 14));
  EXPECT_EQ(r.text, "2017-06-14");
  EXPECT_EQ(day("date(\"2016-02-29\")"), ymd(2016, 2, 29));
}

TEST_F(ExprLiterals, WhitespaceAndFieldNames) {
  EXPECT_EQ(num("  hours\t+\n1  "), 8.5);
  EXPECT_EQ(num("hours+1"), 8.5);
  EXPECT_EQ(str("team"), "Assessment");
  EXPECT_EQ(str("team", 1), "Corporate Parenting");
  EXPECT_EQ(str("id", 1), "C2");
  EXPECT_EQ(day("referral", 1), ymd(2017, 8, 18));  // read with the feed's date format
  EXPECT_FALSE(truth("flag", 1));                    // "no"
}

// ---------------------------------------------------------------------------------------------
// Precedence: || && ! comparisons in + - * / unary -

TEST_F(ExprPrecedence, AndBindsTighterThanOr) {
  EXPECT_TRUE(truth("true || false && false"));    // true || (false && false)
  EXPECT_TRUE(truth("false && true || true"));     // (false && true) || true
  EXPECT_TRUE(truth("true or false and false"));
  EXPECT_TRUE(truth("false and true or true"));
  EXPECT_FALSE(truth("(true || false) && false"));
}

TEST_F(ExprPrecedence, NotBindsTighterThanAndButLooserThanComparisons) {
  EXPECT_FALSE(truth("!false && false"));          // (!false) && false
  EXPECT_FALSE(truth("not false and false"));
  EXPECT_TRUE(truth("not (false and false)"));
  EXPECT_TRUE(truth("!false || false"));
  // `!hours == 5` is !(hours == 5): with ! tighter it would be a bool compared with a number.
  EXPECT_TRUE(truth("!hours == 5"));
  EXPECT_FALSE(truth("!hours == 7.5"));
  EXPECT_TRUE(truth("not hours > 10"));
  EXPECT_TRUE(truth("!!true"));
  EXPECT_FALSE(truth("not not false"));
  EXPECT_TRUE(truth("! team in ['x']"));
}

TEST_F(ExprPrecedence, InBindsTighterThanComparisons) {
  // (hours in [7.5]) == true; with == tighter it would be `hours in (7.5 == true)`.
  EXPECT_TRUE(truth("hours in [7.5] == true"));
  EXPECT_TRUE(truth("team in ['x'] != true"));
}

TEST_F(ExprPrecedence, ArithmeticBindsTighterThanIn) {
  EXPECT_TRUE(truth("1 + 1 in [2]"));
  EXPECT_TRUE(truth("2 * 3 in [6]"));
  EXPECT_TRUE(truth("hours - 0.5 in [7]"));
}

TEST_F(ExprPrecedence, ArithmeticBindsTighterThanComparisons) {
  EXPECT_TRUE(truth("1 + 2 == 3"));
  EXPECT_TRUE(truth("hours * 2 > 14"));
  EXPECT_TRUE(truth("2 < hours - 5"));
}

TEST_F(ExprPrecedence, MultiplicationBeforeAddition) {
  EXPECT_EQ(num("2 + 3 * 4"), 14);
  EXPECT_EQ(num("(2 + 3) * 4"), 20);
  EXPECT_EQ(num("2 * 3 + 4"), 10);
  EXPECT_EQ(num("10 - 6 / 2"), 7);
}

TEST_F(ExprPrecedence, LeftAssociative) {
  EXPECT_EQ(num("10 - 4 - 3"), 3);
  EXPECT_EQ(num("24 / 4 / 2"), 3);
  EXPECT_EQ(num("10 - 4 + 3"), 9);
  EXPECT_EQ(num("12 / 3 * 2"), 8);
}

TEST_F(ExprPrecedence, UnaryMinusBindsTightest) {
  EXPECT_EQ(num("-2 * 3"), -6);
  EXPECT_EQ(num("2 - -3"), 5);
  EXPECT_EQ(num("-hours * 2"), -15);
  EXPECT_EQ(num("2 * -hours"), -15);
  EXPECT_EQ(num("- - 2"), 2);
  EXPECT_EQ(num("-(1 + 2)"), -3);
  EXPECT_EQ(num("-hours + 10"), 2.5);
  EXPECT_TRUE(truth("-hours < 0"));
}

// ---------------------------------------------------------------------------------------------
// Null semantics

TEST_F(ExprNull, EqualityWithNull) {
  EXPECT_TRUE(truth("n == null"));
  EXPECT_FALSE(truth("n != null"));
  EXPECT_TRUE(truth("null == n"));
  EXPECT_FALSE(truth("hours == null"));
  EXPECT_TRUE(truth("hours != null"));
  EXPECT_TRUE(truth("null != hours"));
  EXPECT_TRUE(truth("null == null"));
  EXPECT_FALSE(truth("null != null"));
  EXPECT_TRUE(truth("d == null"));
  EXPECT_TRUE(truth("s == null"));
  EXPECT_TRUE(truth("b == null"));
  EXPECT_FALSE(truth("d == null", 1));
  EXPECT_TRUE(truth("d != null", 1));
}

TEST_F(ExprNull, AnyOtherComparisonWithNullIsFalse) {
  for (const char* op : {"==", "!=", "<", "<=", ">", ">="}) {
    SCOPED_TRACE(op);
    EXPECT_FALSE(truth(std::string("n ") + op + " 5"));
    EXPECT_FALSE(truth(std::string("5 ") + op + " n"));
    EXPECT_FALSE(truth(std::string("d ") + op + " today()"));
    EXPECT_FALSE(truth(std::string("s ") + op + " 'x'"));
    EXPECT_FALSE(truth(std::string("n ") + op + " hours"));
  }
  // With values present they compare as usual.
  EXPECT_TRUE(truth("n != 4", 1));
  EXPECT_FALSE(truth("n != 5", 1));
  EXPECT_TRUE(truth("s != 'y'", 1));
  // Negating a comparison with null gives true: the comparison is false, not null.
  EXPECT_TRUE(truth("!(n > 5)"));
  EXPECT_TRUE(truth("!(n != 5)"));
}

TEST_F(ExprNull, ArithmeticWithNullIsNull) {
  EXPECT_TRUE(is_null("n + 1"));
  EXPECT_TRUE(is_null("1 - n"));
  EXPECT_TRUE(is_null("n * 2"));
  EXPECT_TRUE(is_null("2 / n"));
  EXPECT_TRUE(is_null("-n"));
  EXPECT_TRUE(is_null("null + 1"));
  EXPECT_TRUE(is_null("referral + n"));
  EXPECT_TRUE(is_null("d + 1"));
  EXPECT_TRUE(is_null("d - referral"));
  EXPECT_TRUE(is_null("referral - d"));
  EXPECT_TRUE(is_null("(n + 1) * 2"));
  EXPECT_EQ(num("n + 1", 1), 6);
}

TEST_F(ExprNull, DivisionByZeroIsNull) {
  EXPECT_TRUE(is_null("hours / 0"));
  EXPECT_TRUE(is_null("hours / (n - 5)", 1));
  EXPECT_EQ(num("0 / hours"), 0);
}

TEST_F(ExprNull, NullCountsAsFalseInBooleanPlaces) {
  EXPECT_TRUE(truth("!b"));
  EXPECT_TRUE(truth("!null"));
  EXPECT_TRUE(truth("not null"));
  EXPECT_FALSE(truth("b && true"));
  EXPECT_FALSE(truth("true && b"));
  EXPECT_TRUE(truth("b || true"));
  EXPECT_FALSE(truth("b || false"));
  EXPECT_FALSE(truth("null || null"));
  EXPECT_FALSE(truth("n in [1, 2]"));
  EXPECT_FALSE(truth("null in [1, 2]"));
  EXPECT_TRUE(truth("!(n in [1, 2])"));
  EXPECT_TRUE(truth("!b", 1));  // b is false in row 1
}

TEST_F(ExprNull, FunctionsOfNull) {
  EXPECT_TRUE(is_null("lower(s)"));
  EXPECT_TRUE(is_null("upper(s)"));
  EXPECT_TRUE(is_null("add_days(d, 1)"));
  EXPECT_TRUE(is_null("add_days(referral, n)"));
  EXPECT_TRUE(is_null("add_working_days(d, 1)"));
  EXPECT_TRUE(is_null("add_months(d, 1)"));
  EXPECT_TRUE(is_null("days_between(d, referral)"));
  EXPECT_TRUE(is_null("days_between(referral, d)"));
  EXPECT_TRUE(is_null("working_days_between(d, referral)"));
  EXPECT_TRUE(is_null("age_years(d)"));
  EXPECT_TRUE(is_null("round(n, 1)"));
  EXPECT_TRUE(is_null("format_date(d, '%Y')"));
  EXPECT_TRUE(is_null("date(s)"));
  EXPECT_TRUE(is_null("contains(s, 'x')"));
  EXPECT_TRUE(is_null("starts_with(s, 'x')"));
  EXPECT_TRUE(is_null("matches(s, 'x')"));
  EXPECT_TRUE(truth("is_null(n)"));
  EXPECT_TRUE(truth("is_null(null)"));
  EXPECT_FALSE(truth("is_null(hours)"));
  EXPECT_FALSE(truth("is_null(n)", 1));
}

// ---------------------------------------------------------------------------------------------
// Dates

TEST_F(ExprDates, DateMinusDateIsDays) {
  Result r = run("date('2017-06-14') - date('2017-06-01')");
  EXPECT_EQ(r.type, Type::Number);
  EXPECT_EQ(r.number, 13);
  EXPECT_EQ(num("date('2017-06-01') - date('2017-06-14')"), -13);
  EXPECT_EQ(num("date('2017-03-01') - date('2017-02-28')"), 1);
  EXPECT_EQ(num("date('2016-03-01') - date('2016-02-28')"), 2);
  EXPECT_EQ(num("today() - referral"), 13);
  EXPECT_EQ(num("closed - referral", 1), 17);
}

TEST_F(ExprDates, DatePlusAndMinusDays) {
  EXPECT_EQ(day("referral + 13"), ymd(2017, 6, 14));
  EXPECT_EQ(day("referral - 1"), ymd(2017, 5, 31));
  EXPECT_EQ(day("referral + 30"), ymd(2017, 7, 1));
  EXPECT_EQ(day("date('2017-12-31') + 1"), ymd(2018, 1, 1));
  EXPECT_EQ(day("referral + -1"), ymd(2017, 5, 31));
}

TEST_F(ExprDates, DatesCompareWithDates) {
  EXPECT_TRUE(truth("referral < date('2017-06-02')"));
  EXPECT_TRUE(truth("referral <= date('2017-06-01')"));
  EXPECT_FALSE(truth("referral < date('2017-06-01')"));
  EXPECT_TRUE(truth("referral == date('2017-06-01')"));
  EXPECT_TRUE(truth("referral != date('2017-06-02')"));
  EXPECT_TRUE(truth("today() > referral"));
  EXPECT_TRUE(truth("today() >= referral + 13"));
  EXPECT_FALSE(truth("today() > referral + 13"));
  EXPECT_TRUE(truth("closed > referral", 1));
}

TEST_F(ExprDates, TodayIsTheContextsDay) {
  EXPECT_EQ(day("today()"), ymd(2017, 6, 14));
  today_ = ymd(2020, 2, 29);
  EXPECT_EQ(day("today()"), ymd(2020, 2, 29));
}

// ---------------------------------------------------------------------------------------------
// Functions

TEST_F(ExprFunctions, Date) {
  EXPECT_EQ(day("date(referral)"), ymd(2017, 6, 1));
  EXPECT_TRUE(is_null("date(code)"));  // not YYYY-MM-DD
  EXPECT_TRUE(truth("date('2017-06-01') == referral"));
}

TEST_F(ExprFunctions, DaysBetween) {
  EXPECT_EQ(num("days_between(referral, today())"), 13);
  EXPECT_EQ(num("days_between(today(), referral)"), -13);
  EXPECT_EQ(num("days_between(referral, referral)"), 0);
  EXPECT_EQ(num("days_between(date('2017-08-25'), date('2017-08-29'))"), 4);  // calendar days
}

TEST_F(ExprFunctions, WorkingDaysBetweenSkipsWeekendsAndBankHolidays) {
  // (Fri 25 Aug, Tue 29 Aug]: Mon 28 Aug 2017 is the summer bank holiday.
  EXPECT_EQ(num("working_days_between(date('2017-08-25'), date('2017-08-29'))"), 1);
  EXPECT_EQ(num("working_days_between(date('2017-08-29'), date('2017-08-25'))"), -1);
  // Christmas 2017: 25, 26 Dec and 1 Jan are holidays; 27, 28, 29 Dec and 2 Jan are not.
  EXPECT_EQ(num("working_days_between(date('2017-12-22'), date('2018-01-02'))"), 4);
  EXPECT_EQ(num("working_days_between(date('2018-01-02'), date('2017-12-22'))"), -4);
  // a < d <= b: the start day is not counted, the end day is.
  EXPECT_EQ(num("working_days_between(date('2017-06-12'), date('2017-06-13'))"), 1);
  EXPECT_EQ(num("working_days_between(date('2017-06-12'), date('2017-06-12'))"), 0);
  EXPECT_EQ(num("working_days_between(date('2017-06-09'), date('2017-06-12'))"), 1);  // Fri -> Mon
  EXPECT_EQ(num("working_days_between(date('2017-06-10'), date('2017-06-11'))"), 0);  // Sat -> Sun
  EXPECT_EQ(num("working_days_between(date('2017-06-12'), date('2017-06-19'))"), 5);  // a week
  // Easter 2017: Good Friday 14 Apr, Easter Monday 17 Apr.
  EXPECT_EQ(num("working_days_between(date('2017-04-13'), date('2017-04-18'))"), 1);
}

TEST_F(ExprFunctions, AddWorkingDaysAcrossBankHolidays) {
  // Referral Fri 18 Aug 2017 + 10 working days skips Mon 28 Aug: Mon 4 Sep, not Fri 1 Sep.
  EXPECT_EQ(day("add_working_days(date('2017-08-18'), 10)"), ymd(2017, 9, 4));
  EXPECT_EQ(day("add_working_days(referral, 10)", 1), ymd(2017, 9, 4));
  // Counting back from a conference on Wed 30 Aug: Tue 29, (Mon 28 holiday), Fri 25, Thu 24.
  EXPECT_EQ(day("add_working_days(date('2017-08-30'), -3)"), ymd(2017, 8, 24));
  EXPECT_EQ(day("add_working_days(date('2017-08-29'), -1)"), ymd(2017, 8, 25));
  // Step 1 is the first working day after the day, step -1 the first before it.
  EXPECT_EQ(day("add_working_days(date('2017-06-10'), 1)"), ymd(2017, 6, 12));   // Sat -> Mon
  EXPECT_EQ(day("add_working_days(date('2017-06-10'), -1)"), ymd(2017, 6, 9));   // Sat -> Fri
  EXPECT_EQ(day("add_working_days(date('2017-06-12'), 1)"), ymd(2017, 6, 13));   // Mon -> Tue
  EXPECT_EQ(day("add_working_days(date('2017-06-12'), -1)"), ymd(2017, 6, 9));   // Mon -> Fri
  EXPECT_EQ(day("add_working_days(date('2017-06-10'), 0)"), ymd(2017, 6, 10));
  EXPECT_EQ(day("add_working_days(date('2017-12-22'), 1)"), ymd(2017, 12, 27));
  EXPECT_EQ(day("add_working_days(date('2017-12-22'), 4)"), ymd(2018, 1, 2));
  EXPECT_EQ(day("add_working_days(date('2017-04-13'), 1)"), ymd(2017, 4, 18));
  // And the two functions agree.
  EXPECT_EQ(num("working_days_between(referral, add_working_days(referral, 45))", 1), 45);
  EXPECT_EQ(num("working_days_between(date('2017-08-30'), add_working_days(date('2017-08-30'), -3))"), -3);
}

TEST_F(ExprFunctions, AddWorkingDaysUsesTheContextsCalendar) {
  std::vector<Day> days = Calendar::england_and_wales_bank_holidays();
  days.push_back(ymd(2017, 12, 27));  // a local closure day
  calendar_ = Calendar(days);
  EXPECT_EQ(day("add_working_days(date('2017-12-22'), 1)"), ymd(2017, 12, 28));
  EXPECT_EQ(num("working_days_between(date('2017-12-22'), date('2018-01-02'))"), 3);
  calendar_ = Calendar();  // weekends only
  EXPECT_EQ(day("add_working_days(date('2017-08-18'), 10)"), ymd(2017, 9, 1));
}

TEST_F(ExprFunctions, AddDays) {
  EXPECT_EQ(day("add_days(referral, 30)"), ymd(2017, 7, 1));
  EXPECT_EQ(day("add_days(referral, -1)"), ymd(2017, 5, 31));
  EXPECT_EQ(day("add_days(referral, 0)"), ymd(2017, 6, 1));
  EXPECT_EQ(day("add_days(date('2016-02-28'), 1)"), ymd(2016, 2, 29));
}

TEST_F(ExprFunctions, AddMonthsClampsToTheMonthsLastDay) {
  EXPECT_EQ(day("add_months(date('2017-01-31'), 1)"), ymd(2017, 2, 28));
  EXPECT_EQ(day("add_months(date('2016-01-31'), 1)"), ymd(2016, 2, 29));
  EXPECT_EQ(day("add_months(date('2017-03-31'), -1)"), ymd(2017, 2, 28));
  EXPECT_EQ(day("add_months(date('2017-01-31'), 3)"), ymd(2017, 4, 30));
  EXPECT_EQ(day("add_months(date('2017-08-31'), 6)"), ymd(2018, 2, 28));
  EXPECT_EQ(day("add_months(date('2016-02-29'), 12)"), ymd(2017, 2, 28));
  EXPECT_EQ(day("add_months(date('2017-05-15'), 12)"), ymd(2018, 5, 15));
  EXPECT_EQ(day("add_months(date('2017-01-15'), -13)"), ymd(2015, 12, 15));
  EXPECT_EQ(day("add_months(date('2017-12-15'), 1)"), ymd(2018, 1, 15));
  EXPECT_EQ(day("add_months(referral, 0)"), ymd(2017, 6, 1));
}

TEST_F(ExprFunctions, AgeYearsIsWholeYearsOnToday) {
  // Born 2000-06-15; today is 2017-06-14.
  EXPECT_EQ(num("age_years(dob)"), 16);
  today_ = ymd(2017, 6, 15);
  EXPECT_EQ(num("age_years(dob)"), 17);
  // Born 29 Feb 2004: 13 on 1 March in a year without 29 Feb.
  today_ = ymd(2017, 2, 28);
  EXPECT_EQ(num("age_years(dob)", 1), 12);
  today_ = ymd(2017, 3, 1);
  EXPECT_EQ(num("age_years(dob)", 1), 13);
  today_ = ymd(2016, 2, 29);
  EXPECT_EQ(num("age_years(dob)", 1), 12);
  today_ = ymd(2016, 2, 28);
  EXPECT_EQ(num("age_years(dob)", 1), 11);
  today_ = ymd(2017, 12, 31);
  EXPECT_EQ(num("age_years(date('2017-01-01'))"), 0);
}

TEST_F(ExprFunctions, Coalesce) {
  EXPECT_EQ(num("coalesce(n, 0)"), 0);
  EXPECT_EQ(num("coalesce(n, 0)", 1), 5);
  EXPECT_EQ(num("coalesce(n, hours, 1)"), 7.5);
  EXPECT_EQ(num("coalesce(null, null, 3)"), 3);
  EXPECT_TRUE(is_null("coalesce(n, n)"));
  EXPECT_TRUE(is_null("coalesce(null)"));
  EXPECT_EQ(str("coalesce(s, team)"), "Assessment");
  EXPECT_EQ(str("coalesce(s, team)", 1), "x");
  EXPECT_EQ(day("coalesce(d, referral)"), ymd(2017, 6, 1));
  EXPECT_EQ(day("coalesce(d, referral)", 1), ymd(2017, 8, 25));
  EXPECT_TRUE(truth("coalesce(b, true)"));
}

TEST_F(ExprFunctions, StringFunctions) {
  EXPECT_EQ(str("lower(team)"), "assessment");
  EXPECT_EQ(str("upper(team)"), "ASSESSMENT");
  EXPECT_EQ(str("upper('aBc 1')"), "ABC 1");
  EXPECT_EQ(str("lower(upper(team))", 1), "corporate parenting");
  EXPECT_TRUE(truth("contains(team, 'sess')"));
  EXPECT_FALSE(truth("contains(team, 'Sess')"));
  EXPECT_TRUE(truth("contains(team, '')"));
  EXPECT_TRUE(truth("starts_with(team, 'Ass')"));
  EXPECT_FALSE(truth("starts_with(team, 'ess')"));
  EXPECT_TRUE(truth("starts_with(team, 'Corporate')", 1));
}

TEST_F(ExprFunctions, Matches) {
  EXPECT_TRUE(truth("matches(code, '^[A-Z]{2}-[0-9]+$')"));
  EXPECT_FALSE(truth("matches(code, '^[A-Z]{2}-[0-9]+$')", 1));
  EXPECT_TRUE(truth("matches(team, 'Parent')", 1));  // found anywhere in the text
  EXPECT_FALSE(truth("matches(team, '^Parent')", 1));
  EXPECT_TRUE(truth(R"(matches(code, '\\d{3}'))"));
}

TEST_F(ExprFunctions, Lookup) {
  EXPECT_EQ(num("lookup('caseload_limit', team, 0)"), 18);
  EXPECT_EQ(num("lookup('caseload_limit', team, 0)", 1), 15);
  EXPECT_EQ(num("lookup('caseload_limit', 'Nobody', 99)"), 99);
  EXPECT_EQ(num("lookup('caseload_limit', s, 7)"), 7);  // a null key gives the default
  EXPECT_TRUE(is_null("lookup('caseload_limit', 'Nobody', null)"));
  EXPECT_EQ(str("lookup('team_code', team, '?')"), "ASM");
  EXPECT_EQ(str("lookup('team_code', team, '?')", 1), "?");
  EXPECT_TRUE(truth("hours < lookup('caseload_limit', team, 0)"));
  // A number key is looked up by its text.
  EXPECT_EQ(num("lookup('by_number', hours, 0)", 1), 2);
  EXPECT_EQ(num("lookup('by_number', 100000, 0)"), 1);
  // Without tables at evaluation the default is used.
  auto e = compile_ok("lookup('caseload_limit', team, 42)");
  ASSERT_TRUE(e);
  EvalContext c = context(0);
  c.tables = nullptr;
  EXPECT_EQ(e->eval(c).number, 42);
}

TEST_F(ExprFunctions, FormatDate) {
  EXPECT_EQ(str("format_date(referral, '%d/%m/%Y')"), "01/06/2017");
  EXPECT_EQ(str("format_date(referral, '%d %B %Y')"), "01 June 2017");
  EXPECT_EQ(str("format_date(referral, '%A %e %b %y')"), "Thursday  1 Jun 17");
  EXPECT_EQ(str("format_date(referral, '%a %j 100%%')"), "Thu 152 100%");
  EXPECT_EQ(str("format_date(referral, 'no directives')"), "no directives");
  EXPECT_EQ(str("format_date(referral, '%d/%m/%Y')", 1), "18/08/2017");
}

TEST_F(ExprFunctions, Round) {
  EXPECT_EQ(num("round(2.346, 2)"), 2.35);
  EXPECT_EQ(num("round(2.344, 2)"), 2.34);
  EXPECT_EQ(num("round(2.5)"), 3);
  EXPECT_EQ(num("round(-2.5)"), -3);
  EXPECT_EQ(num("round(hours)"), 8);
  EXPECT_EQ(num("round(hours, 0)"), 8);
  EXPECT_EQ(num("round(1234.5, -2)"), 1200);
  EXPECT_EQ(num("round(2 / 3, 3)"), 0.667);
  EXPECT_EQ(num("round(0.216449, 3)"), 0.216);
}

// ---------------------------------------------------------------------------------------------
// Static types

TEST_F(ExprTypes, ResultTypes) {
  auto type_of = [&](const std::string& source) {
    auto e = compile_ok(source);
    return e ? static_type_name(e->type()) : std::string("<error>");
  };
  EXPECT_EQ(type_of("hours + 1"), "number");
  EXPECT_EQ(type_of("referral - referral"), "number");
  EXPECT_EQ(type_of("referral + 1"), "date");
  EXPECT_EQ(type_of("referral - 1"), "date");
  EXPECT_EQ(type_of("team"), "string");
  EXPECT_EQ(type_of("hours > 1"), "bool");
  EXPECT_EQ(type_of("!b"), "bool");
  EXPECT_EQ(type_of("[1, 2]"), "list");
  EXPECT_EQ(type_of("null"), "null");
  EXPECT_EQ(type_of("coalesce(n, 1)"), "number");
  EXPECT_EQ(type_of("coalesce(null, d)"), "date");
  EXPECT_EQ(type_of("lookup('caseload_limit', team, 0)"), "number");
  EXPECT_EQ(type_of("lookup('team_code', team, '')"), "string");
  EXPECT_EQ(type_of("lookup('mixed', team, 0)"), "any");
  EXPECT_EQ(type_of("format_date(referral, '%Y')"), "string");
  EXPECT_EQ(type_of("add_working_days(referral, 1)"), "date");
  EXPECT_EQ(type_of("working_days_between(referral, today())"), "number");
  EXPECT_EQ(type_of("age_years(dob)"), "number");
  EXPECT_EQ(type_of("date('2017-01-01')"), "date");
  EXPECT_EQ(type_of("date(team)"), "date");
}

TEST_F(ExprTypes, NullAndAnyFitAnywhere) {
  // Comparing or computing with null, or with a value whose type is only known when evaluated,
  // is not a type error.
  compile_ok("referral == null");
  compile_ok("null < 3");
  compile_ok("null + 1");
  compile_ok("lookup('mixed', team, 0) == 'x'");
  compile_ok("lookup('mixed', team, 0) == 3");
  compile_ok("!null");
  compile_ok("null && true");
}

// ---------------------------------------------------------------------------------------------
// Syntax errors: exact text and byte offset

TEST_F(ExprSyntaxErrors, UnexpectedToken) {
  expect_error("hours + * 2", 8, "unexpected '*'");
  expect_error("hours 2", 6, "unexpected number");
  expect_error("hours team", 6, "unexpected name 'team'");
  expect_error("hours 'x'", 6, "unexpected string");
  expect_error("hours )", 6, "unexpected ')'");
  expect_error("(hours + 1", 10, "expected ')' but found end of expression");
  expect_error("(hours + 1 2)", 11, "expected ')' but found number");
  expect_error("", 0, "unexpected end of expression");
  expect_error("   ", 3, "unexpected end of expression");
  expect_error("hours +", 7, "unexpected end of expression");
  expect_error("[1, 2", 5, "expected ',' or ']' but found end of expression");
  expect_error("lower(team", 10, "expected ',' or ')' but found end of expression");
  expect_error("lower(team 1)", 11, "expected ',' or ')' but found number");
  expect_error("round(hours,)", 12, "unexpected ')'");
  expect_error("hours in [1] in [true]", 13, "unexpected 'in'");
  expect_error("true && || false", 8, "unexpected '||'");
  expect_error("hours == !flag", 9, "unexpected '!'");
}

TEST_F(ExprSyntaxErrors, ChainedComparisons) {
  expect_error("1 < hours < 3", 10, "comparisons cannot be chained; use && between them");
  expect_error("hours == 1 == true", 11, "comparisons cannot be chained; use && between them");
}

TEST_F(ExprSyntaxErrors, UnterminatedString) {
  expect_error("'abc", 0, "unterminated string");
  expect_error("team == 'abc", 8, "unterminated string");
  expect_error("team == \"abc'", 8, "unterminated string");
  expect_error(R"(team == 'abc\')", 8, "unterminated string");
  expect_error("(team == 'abc", 9, "unterminated string");
}

// A config must never exhaust a stack: nesting of any kind is refused past a limit, at once.
TEST_F(ExprSyntaxErrors, NestingDeeperThanTheLimit) {
  const std::string message =
      "the expression nests more than 256 levels deep (a long chain of || is one level each: use 'in [...]')";
  const std::string deep = std::string(200000, '(') + "true" + std::string(200000, ')');
  expect_error(deep, 256, message);
  expect_error(std::string(100000, '!') + "true", 255, message);
  expect_error(std::string(100000, '-') + "hours", 255, message);
  std::string chain = "hours";
  for (int i = 0; i < 300; ++i) chain += " + hours";
  expect_error(chain, 2046, message);  // the '+' that makes the chain one too deep
  std::string call = "hours";
  for (int i = 0; i < 300; ++i) call = "round(" + call + ")";
  expect_error(call, 1536, message);  // the 257th round(
  // Just inside the limit is fine.
  std::string fine = "hours";
  for (int i = 0; i < 200; ++i) fine += " + hours";
  std::vector<ExprError> errors;
  EXPECT_TRUE(Expression::compile(fine, scope_, errors).has_value()) << (errors.empty() ? "" : errors[0].message);
  EXPECT_TRUE(Expression::compile(std::string(250, '(') + "true" + std::string(250, ')'), scope_, errors).has_value());
}

TEST_F(ExprSyntaxErrors, SingleEqualsSign) {
  expect_error("team = 'x'", 5, "unexpected '=' (use '==' to compare)");
  expect_error("hours > 1 && team = 'x'", 18, "unexpected '=' (use '==' to compare)");
}

TEST_F(ExprSyntaxErrors, LexicalErrors) {
  expect_error(R"('a\qb')", 2, "unknown escape '\\q' in string");
  expect_error("12abc", 2, "unexpected character 'a' after a number");
  expect_error("hours # 1", 6, "unexpected character '#'");
  expect_error("hours & 1", 6, "unexpected character '&'");
  expect_error("hours | 1", 6, "unexpected character '|'");
  expect_error("1.2.3", 0, "malformed number '1.2.3'");
}

TEST_F(ExprSyntaxErrors, OnlyTheFirstSyntaxErrorAndNothingElse) {
  // A syntax error stops the compile: neither later syntax nor unknown names are reported.
  auto errors = errors_of("nope + * 2 +");
  ASSERT_EQ(errors.size(), 1u) << describe(errors);
  EXPECT_EQ(errors[0].offset, 7u);
  EXPECT_EQ(errors[0].message, "unexpected '*'");
}

TEST_F(ExprSyntaxErrors, ErrorsAreAppended) {
  std::vector<ExprError> errors = {{99, "earlier"}};
  EXPECT_FALSE(Expression::compile("nope", scope_, errors).has_value());
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[0].message, "earlier");
  EXPECT_EQ(errors[1].message, "unknown field 'nope'");
}

// ---------------------------------------------------------------------------------------------
// Name and type errors: exact text and byte offset

TEST_F(ExprTypeErrors, UnknownField) {
  expect_error("nope > 1", 0, "unknown field 'nope'");
  expect_error("hours > 1 && nope", 13, "unknown field 'nope'");
  expect_error("lower(Team)", 6, "unknown field 'Team'");  // names are case-sensitive
}

TEST_F(ExprTypeErrors, EveryUnknownNameIsReported) {
  auto errors = errors_of("nope1 > 1 && nope2 > 2 || frob(1)");
  ASSERT_EQ(errors.size(), 3u) << describe(errors);
  EXPECT_EQ(errors[0].offset, 0u);
  EXPECT_EQ(errors[0].message, "unknown field 'nope1'");
  EXPECT_EQ(errors[1].offset, 13u);
  EXPECT_EQ(errors[1].message, "unknown field 'nope2'");
  EXPECT_EQ(errors[2].offset, 26u);
  EXPECT_EQ(errors[2].message, "unknown function 'frob'");
}

TEST_F(ExprTypeErrors, UnknownFunction) {
  expect_error("frobnicate(hours)", 0, "unknown function 'frobnicate'");
  expect_error("1 + frob()", 4, "unknown function 'frob'");
  expect_error("now()", 0, "unknown function 'now'");
}

TEST_F(ExprTypeErrors, WrongArgumentCount) {
  expect_error("days_between(referral)", 0, "days_between() takes 2 arguments, not 1");
  expect_error("today(1)", 0, "today() takes 0 arguments, not 1");
  expect_error("round()", 0, "round() takes 1 or 2 arguments, not 0");
  expect_error("round(1, 2, 3)", 0, "round() takes 1 or 2 arguments, not 3");
  expect_error("coalesce()", 0, "coalesce() takes at least 1 argument, not 0");
  expect_error("lookup('caseload_limit', team)", 0, "lookup() takes 3 arguments, not 2");
  expect_error("date('2017-01-01', 1)", 0, "date() takes 1 argument, not 2");
  expect_error("hours > 1 && add_days(referral) > today()", 13, "add_days() takes 2 arguments, not 1");
  expect_error("is_null()", 0, "is_null() takes 1 argument, not 0");
}

TEST_F(ExprTypeErrors, DateComparedWithString) {
  // The offset is the comparison operator's.
  expect_error("referral < '2017-06-14'", 9, "cannot compare date with string");
  expect_error("referral == 'x'", 9, "cannot compare date with string");
  expect_error("'x' != referral", 4, "cannot compare string with date");
  expect_error("hours > 1 && referral >= team", 22, "cannot compare date with string");
  expect_error("hours == 'x'", 6, "cannot compare number with string");
  expect_error("flag == 1", 5, "cannot compare bool with number");
}

TEST_F(ExprTypeErrors, AggregatesOutsideAggregateRules) {
  expect_error("count() > 1", 0, "count() is an aggregate: it is only allowed in an aggregate rule's value");
  expect_error("hours + sum(hours)", 8, "sum() is an aggregate: it is only allowed in an aggregate rule's value");
  expect_error("ratio(flag)", 0, "ratio() is an aggregate: it is only allowed in an aggregate rule's value");
}

TEST_F(ExprTypeErrors, Aggregates) {
  scope_.allow_aggregates = true;
  compile_ok("sum(hours) / count()");
  compile_ok("count(flag) + ratio(hours > 1) + count_distinct(team) + avg(hours) + min(hours) + max(hours)");
  expect_error("sum(count())", 4, "aggregates cannot be nested");
  expect_error("sum(team)", 4, "the argument of sum() must be a number, not string");
  expect_error("count(hours)", 6, "the argument of count() must be a bool, not number");
  expect_error("ratio(team)", 6, "the argument of ratio() must be a bool, not string");
  expect_error("min(team)", 4, "the argument of min() must be a number or date, not string");
  expect_error("count(flag, flag)", 0, "count() takes 0 or 1 arguments, not 2");
}

TEST_F(ExprTypeErrors, LookupOfAnUnknownTable) {
  expect_error("lookup('nope', team, 0)", 7, "unknown table 'nope'");
  expect_error("lookup(team, team, 0)", 7, "the table name of lookup() must be a string literal");
  expect_error("lookup('caseload_limit', team, 'x')", 31,
               "the default of lookup() must be a number like the table's values, not string");
  scope_.tables = nullptr;
  expect_error("lookup('caseload_limit', team, 0)", 7, "unknown table 'caseload_limit'");
}

TEST_F(ExprTypeErrors, OperandTypes) {
  expect_error("!hours", 1, "the operand of '!' must be a bool, not number");
  expect_error("-team", 1, "the operand of unary '-' must be a number, not string");
  expect_error("team + 1", 0, "the left side of '+' must be a number or date, not string");
  expect_error("hours + team", 8, "the right side of '+' must be a number, not string");
  expect_error("hours * referral", 8, "the right side of '*' must be a number, not date");
  expect_error("hours && flag", 0, "the left side of '&&' must be a bool, not number");
  expect_error("flag || team", 8, "the right side of '||' must be a bool, not string");
  expect_error("referral + referral", 11, "the right side of date + must be a number, not date");
  expect_error("flag < 1", 5, "cannot compare bool with number");
  auto errors = errors_of("flag < b");
  ASSERT_EQ(errors.size(), 2u) << describe(errors);
  EXPECT_EQ(errors[0].offset, 0u);
  EXPECT_EQ(errors[0].message, "a compared value must be a number, string or date, not bool");
  EXPECT_EQ(errors[1].offset, 7u);
  EXPECT_EQ(errors[1].message, "a compared value must be a number, string or date, not bool");
  expect_error("hours in ['a']", 6, "cannot look for a number in a list of strings");
  expect_error("hours in 3", 9, "the right side of 'in' must be a list, not number");
  expect_error("['a', 1]", 6, "list items must all have one type: string and number");
  expect_error("[hours]", 1, "list items must be literal values");
}

TEST_F(ExprTypeErrors, FunctionArguments) {
  expect_error("date('2017-6-1')", 5, "date() needs 'YYYY-MM-DD', not '2017-6-1'");
  expect_error("date(hours)", 5, "argument 1 of date() must be a string or date, not number");
  expect_error("add_days(team, 1)", 9, "argument 1 of add_days() must be a date, not string");
  expect_error("add_working_days(referral, '1')", 27, "argument 2 of add_working_days() must be a number, not string");
  expect_error("days_between(referral, 3)", 23, "argument 2 of days_between() must be a date, not number");
  expect_error("lower(hours)", 6, "argument 1 of lower() must be a string, not number");
  expect_error("matches(team, code)", 14, "the pattern of matches() must be a string literal");
  expect_error("coalesce(hours, team)", 16, "coalesce() arguments must have one type: number and string");
  expect_error("round(hours, 'x')", 13, "argument 2 of round() must be a number, not string");
  expect_error("format_date(team, '%Y')", 12, "argument 1 of format_date() must be a date, not string");
  auto errors = errors_of("matches(team, '(')");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].offset, 14u);
  EXPECT_EQ(errors[0].message.rfind("invalid regular expression: ", 0), 0u) << errors[0].message;
}

TEST_F(ExprTypeErrors, FieldsLimitedToAllowedOnes) {
  scope_.allowed_fields = {"team"};
  compile_ok("team == 'x'");
  expect_error("hours > 1", 0, "field 'hours' is not one of this rule's group_by fields");
}

TEST_F(ExprTypeErrors, VariablesShadowFields) {
  scope_.variables = {{"hours", Type::Date}, {"value", Type::Number}};
  std::vector<ExprError> errors;
  auto e = Expression::compile("value > 1 && hours < today()", scope_, errors);
  ASSERT_TRUE(e) << describe(errors);
  Value variables[] = {Value::of_date(ymd(2017, 1, 1)), Value::of_number(2)};  // slot order
  EvalContext c = context(0);
  c.variables = variables;
  EXPECT_TRUE(e->eval(c).truthy());
  variables[0] = Value::of_date(ymd(2017, 12, 1));
  EXPECT_FALSE(e->eval(c).truthy());
}

// ---------------------------------------------------------------------------------------------
// Values: printing and equality

TEST(ExprValues, NumberToText) {
  EXPECT_EQ(number_to_text(3), "3");
  EXPECT_EQ(number_to_text(-3), "-3");
  EXPECT_EQ(number_to_text(0.216), "0.216");
  EXPECT_EQ(number_to_text(2.0 / 3), "0.6666666666666666");
  EXPECT_EQ(number_to_text(10000), "10000");
  EXPECT_EQ(number_to_text(100000), "100000");    // never the shorter "1e+05"
  EXPECT_EQ(number_to_text(200000), "200000");
  EXPECT_EQ(number_to_text(123456789012), "123456789012");
  EXPECT_EQ(number_to_text(-2500000), "-2500000");
  EXPECT_EQ(number_to_text(0.0), "0");
  EXPECT_EQ(number_to_text(-0.0), "0");
  EXPECT_EQ(number_to_text(1e21), "1e+21");
  EXPECT_EQ(number_to_text(0.00001), "1e-05");
}

TEST(ExprValues, ValueToText) {
  EXPECT_EQ(value_to_text(Value::null()), "");
  EXPECT_EQ(value_to_text(Value::of_bool(true)), "true");
  EXPECT_EQ(value_to_text(Value::of_bool(false)), "false");
  EXPECT_EQ(value_to_text(Value::of_number(18)), "18");
  EXPECT_EQ(value_to_text(Value::of_string("a b")), "a b");
  EXPECT_EQ(value_to_text(Value::of_date(ymd(2017, 6, 14))), "2017-06-14");
  EXPECT_EQ(value_to_text(Value::of_date(kNullDay)), "");
  Value items[] = {Value::of_string("a"), Value::of_number(1), Value::null()};
  EXPECT_EQ(value_to_text(Value::of_list(items)), "[a, 1, ]");
}

TEST(ExprValues, Equality) {
  EXPECT_TRUE(values_equal(Value::null(), Value::null()));
  EXPECT_FALSE(values_equal(Value::null(), Value::of_number(0)));
  EXPECT_FALSE(values_equal(Value::of_number(1), Value::of_string("1")));
  EXPECT_TRUE(values_equal(Value::of_number(0), Value::of_number(-0.0)));
  EXPECT_TRUE(values_equal(Value::of_date(ymd(2017, 1, 1)), Value::of_date(ymd(2017, 1, 1))));
  EXPECT_FALSE(values_equal(Value::of_bool(false), Value::null()));
  EXPECT_FALSE(Value::null().truthy());
  EXPECT_FALSE(Value::of_number(1).truthy());
  EXPECT_TRUE(Value::of_bool(true).truthy());
}

TEST_F(ExprTypes, ACopyOutlivesTheOriginal) {
  std::optional<Expression> copy;
  {
    auto e = compile_ok("team in ['Assessment', 'x'] && lower('ABC') == 'abc'");
    ASSERT_TRUE(e);
    copy = *e;
  }
  EXPECT_EQ(copy->source(), "team in ['Assessment', 'x'] && lower('ABC') == 'abc'");
  EXPECT_TRUE(copy->eval(context(0)).truthy());
  EXPECT_FALSE(copy->eval(context(1)).truthy());
}

// ---------------------------------------------------------------------------------------------
// Templates

TEST_F(TemplateTest, PlainTextIsConstant) {
  std::vector<ExprError> errors;
  auto t = Template::compile("no parts here", scope_, errors);
  ASSERT_TRUE(t);
  EXPECT_TRUE(t->is_constant());
  EXPECT_EQ(t->render(context(0)), "no parts here");
  EXPECT_EQ(render(""), "");
  auto u = Template::compile("{{ team }}", scope_, errors);
  ASSERT_TRUE(u);
  EXPECT_FALSE(u->is_constant());
}

TEST_F(TemplateTest, FieldsAndExpressions) {
  EXPECT_EQ(render("Referral for {{ team }} on {{ referral }}"), "Referral for Assessment on 2017-06-01");
  EXPECT_EQ(render("{{team}}/{{id}}", 1), "Corporate Parenting/C2");
  EXPECT_EQ(render("{{ 1 }}{{ 2 }}"), "12");
  EXPECT_EQ(render("{{ upper(team) }}!"), "ASSESSMENT!");
  EXPECT_EQ(render("{{ format_date(referral, '%d/%m/%Y') }}"), "01/06/2017");
  EXPECT_EQ(render("{{ 'a }' }}"), "a }");
}

TEST_F(TemplateTest, DatesPrintAsIso) {
  EXPECT_EQ(render("{{ referral }}"), "2017-06-01");
  EXPECT_EQ(render("{{ referral + 9 }}"), "2017-06-10");
  EXPECT_EQ(render("{{ add_working_days(referral, 10) }}", 1), "2017-09-04");
  EXPECT_EQ(render("{{ today() }}"), "2017-06-14");
}

TEST_F(TemplateTest, WholeNumbersWithoutDecimalPoint) {
  EXPECT_EQ(render("{{ 3 }}"), "3");
  EXPECT_EQ(render("{{ 6 / 2 }}"), "3");
  EXPECT_EQ(render("{{ hours }}", 1), "3");
  EXPECT_EQ(render("{{ today() - referral }} days"), "13 days");
  EXPECT_EQ(render("{{ -4 }}"), "-4");
  EXPECT_EQ(render("{{ 0 }}"), "0");
  EXPECT_EQ(render("{{ 100000 }}"), "100000");
  EXPECT_EQ(render("{{ 200000 }}"), "200000");
  EXPECT_EQ(render("{{ 1000000 }}"), "1000000");
  EXPECT_EQ(render("{{ 25 * 1000000 }}"), "25000000");
  EXPECT_EQ(render("{{ round(-0.4) }}"), "0");
}

TEST_F(TemplateTest, FractionsPrintShortest) {
  EXPECT_EQ(render("{{ hours }}"), "7.5");
  EXPECT_EQ(render("{{ 0.216 }}"), "0.216");
  EXPECT_EQ(render("{{ round(2 / 3, 2) }}"), "0.67");
  EXPECT_EQ(render("{{ 1 / 4 }}"), "0.25");
}

TEST_F(TemplateTest, NullPrintsEmpty) {
  EXPECT_EQ(render("[{{ n }}]"), "[]");
  EXPECT_EQ(render("[{{ s }}]"), "[]");
  EXPECT_EQ(render("[{{ d }}]"), "[]");
  EXPECT_EQ(render("[{{ null }}]"), "[]");
  EXPECT_EQ(render("[{{ n + 1 }}]"), "[]");
  EXPECT_EQ(render("[{{ n }}]", 1), "[5]");
}

TEST_F(TemplateTest, BoolsAndLists) {
  EXPECT_EQ(render("{{ flag }} {{ flag }}"), "true true");
  EXPECT_EQ(render("{{ flag }}", 1), "false");
  EXPECT_EQ(render("{{ ['a', 'b'] }}"), "[a, b]");
}

TEST_F(TemplateTest, Variables) {
  scope_.variables = {{"due_date", Type::Date}, {"days_remaining", Type::Number}};
  std::vector<ExprError> errors;
  auto t = Template::compile("due {{ due_date }} ({{ days_remaining }} days)", scope_, errors);
  ASSERT_TRUE(t) << describe(errors);
  Value variables[] = {Value::of_date(ymd(2017, 9, 4)), Value::of_number(-2)};
  EvalContext c = context(0);
  c.variables = variables;
  EXPECT_EQ(t->render(c), "due 2017-09-04 (-2 days)");
}

TEST_F(TemplateTest, ErrorOffsetsAreIntoTheWholeTemplate) {
  auto errors = template_errors("Team {{ nope }}");
  ASSERT_EQ(errors.size(), 1u) << describe(errors);
  EXPECT_EQ(errors[0].offset, 8u);
  EXPECT_EQ(errors[0].message, "unknown field 'nope'");

  errors = template_errors("a {{ hours + }} b");
  ASSERT_EQ(errors.size(), 1u) << describe(errors);
  EXPECT_EQ(errors[0].offset, 13u);
  EXPECT_EQ(errors[0].message, "unexpected end of expression");

  errors = template_errors("{{ referral < 'x' }} and {{ frob() }}");
  ASSERT_EQ(errors.size(), 2u) << describe(errors);
  EXPECT_EQ(errors[0].offset, 12u);
  EXPECT_EQ(errors[0].message, "cannot compare date with string");
  EXPECT_EQ(errors[1].offset, 28u);
  EXPECT_EQ(errors[1].message, "unknown function 'frob'");

  errors = template_errors("{{ count() }}");
  ASSERT_EQ(errors.size(), 1u) << describe(errors);
  EXPECT_EQ(errors[0].offset, 3u);
}

TEST_F(TemplateTest, UnclosedBraces) {
  auto errors = template_errors("x {{ hours");
  ASSERT_EQ(errors.size(), 1u) << describe(errors);
  EXPECT_EQ(errors[0].offset, 2u);
  EXPECT_EQ(errors[0].message, "'{{' without a matching '}}'");

  errors = template_errors("{{ hours }} then {{ team");
  ASSERT_EQ(errors.size(), 1u) << describe(errors);
  EXPECT_EQ(errors[0].offset, 17u);
}

TEST_F(TemplateTest, EmptyExpressionIsAnError) {
  auto errors = template_errors("a {{ }} b");
  ASSERT_EQ(errors.size(), 1u) << describe(errors);
  EXPECT_EQ(errors[0].offset, 5u);
  EXPECT_EQ(errors[0].message, "unexpected end of expression");
}

}  // namespace
}  // namespace casewatch
