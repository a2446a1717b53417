#include "rules/date.h"

#include <algorithm>

namespace casewatch {
namespace {

constexpr const char* kMonthNames[12] = {"January", "February", "March",     "April",
                                         "May",     "June",     "July",      "August",
                                         "September", "October", "November", "December"};
constexpr const char* kWeekdayNames[7] = {"Monday", "Tuesday",  "Wednesday", "Thursday",
                                          "Friday", "Saturday", "Sunday"};

// Far wider than any real date, and narrow enough that every valid date fits a Day.
constexpr int kMinYear = -1'000'000;
constexpr int kMaxYear = 1'000'000;

bool is_leap(int64_t year) { return year % 4 == 0 && (year % 100 != 0 || year % 400 == 0); }

unsigned month_length(int64_t year, unsigned month) {
  static constexpr unsigned kLengths[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && is_leap(year) ? 29 : kLengths[month - 1];
}

// Howard Hinnant's days_from_civil, in 64 bits so that intermediate values cannot overflow.
int64_t days_from_civil64(int64_t year, unsigned month, unsigned day) {
  year -= month <= 2;
  const int64_t era = (year >= 0 ? year : year - 399) / 400;
  const auto yoe = static_cast<unsigned>(year - era * 400);
  const unsigned doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

int64_t floor_div(int64_t a, int64_t b) { return a / b - (a % b != 0 && (a < 0) != (b < 0)); }

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool eat(std::string_view& s, char c) {
  if (s.empty() || s.front() != c) return false;
  s.remove_prefix(1);
  return true;
}

// Reads min_digits..max_digits decimal digits (greedily) into value.
bool read_number(std::string_view& s, int min_digits, int max_digits, int& value) {
  int n = 0;
  value = 0;
  while (n < max_digits && n < static_cast<int>(s.size()) && is_digit(s[n])) value = value * 10 + (s[n++] - '0');
  s.remove_prefix(n);
  return n >= min_digits;
}

bool starts_with_nocase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i)
    if (lower(s[i]) != lower(prefix[i])) return false;
  return true;
}

// A month's full name or three-letter abbreviation, any case; "Sept" too, as UK text uses it.
bool read_month_name(std::string_view& s, unsigned& month) {
  for (unsigned i = 0; i < 12; ++i) {
    const std::string_view name = kMonthNames[i];
    size_t length = 0;
    if (starts_with_nocase(s, name)) length = name.size();
    else if (starts_with_nocase(s, name.substr(0, 3))) length = 3 + (i == 8 && starts_with_nocase(s, "sept"));
    if (length) {
      s.remove_prefix(length);
      month = i + 1;
      return true;
    }
  }
  return false;
}

// What may follow a date: nothing, or a time of day (checked, then dropped) after spaces or 'T'.
bool is_time_suffix(std::string_view s) {
  if (s.empty()) return true;
  if (!eat(s, 'T') && !eat(s, 't')) {
    if (!is_space(s.front())) return false;
    while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  }
  int hour, minute, second;
  if (!read_number(s, 1, 2, hour) || hour > 23 || !eat(s, ':') || !read_number(s, 2, 2, minute) || minute > 59)
    return false;
  if (eat(s, ':')) {
    if (!read_number(s, 2, 2, second) || second > 60) return false;  // 60: a leap second
    if (eat(s, '.') || eat(s, ',')) {
      if (s.empty() || !is_digit(s.front())) return false;
      while (!s.empty() && is_digit(s.front())) s.remove_prefix(1);
    }
  }
  if (s.empty() || s == "Z" || s == "z") return true;
  if (!eat(s, '+') && !eat(s, '-')) return false;
  int zone_hours, zone_minutes;
  if (!read_number(s, 2, 2, zone_hours) || zone_hours > 14) return false;
  if (s.empty()) return true;
  eat(s, ':');
  return read_number(s, 2, 2, zone_minutes) && zone_minutes <= 59 && s.empty();
}

// "YYYY-MM-DD" at the start of s, which is left pointing after it.
std::optional<Day> read_iso(std::string_view& s) {
  int year, month, day;
  if (!read_number(s, 4, 4, year) || !eat(s, '-') || !read_number(s, 2, 2, month) || !eat(s, '-') ||
      !read_number(s, 2, 2, day) || !is_valid_civil(year, month, day))
    return std::nullopt;
  return days_from_civil(year, month, day);
}

void append_number(std::string& out, int64_t value, int width, char pad = '0') {
  if (value < 0) {
    out += '-';
    value = -value;
  }
  char digits[24];
  int n = 0;
  do {
    digits[n++] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value);
  for (int i = n; i < width; ++i) out += pad;
  while (n) out += digits[--n];
}

}  // namespace

Day days_from_civil(int year, unsigned month, unsigned day) {
  return static_cast<Day>(days_from_civil64(year, month, day));
}

// Howard Hinnant's civil_from_days.
CivilDate civil_from_days(Day day) {
  const int64_t z = int64_t{day} + 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return {static_cast<int>(int64_t{yoe} + era * 400 + (m <= 2)), m, d};
}

bool is_valid_civil(int year, unsigned month, unsigned day) {
  return year >= kMinYear && year <= kMaxYear && month >= 1 && month <= 12 && day >= 1 &&
         day <= month_length(year, month);
}

int weekday(Day day) {
  // 1970-01-01 was a Thursday (3).
  return static_cast<int>(((int64_t{day} + 3) % 7 + 7) % 7);
}

Day add_months(Day day, int months) {
  if (day == kNullDay) return kNullDay;
  const CivilDate c = civil_from_days(day);
  const int64_t total = int64_t{c.year} * 12 + (c.month - 1) + months;
  const int64_t year = floor_div(total, 12);
  const auto month = static_cast<unsigned>(total - year * 12 + 1);
  const int64_t result = days_from_civil64(year, month, std::min(c.day, month_length(year, month)));
  // Beyond what a Day can hold: no date rather than a wrapped one.
  return result > kNullDay && result <= std::numeric_limits<Day>::max() ? static_cast<Day>(result) : kNullDay;
}

unsigned days_in_month(int year, unsigned month) {
  return month >= 1 && month <= 12 ? month_length(year, month) : 0;
}

std::string format_iso(Day day) { return format_date(day, "%Y-%m-%d"); }

std::string format_date(Day day, std::string_view format) {
  const CivilDate c = civil_from_days(day);
  std::string out;
  out.reserve(format.size() + 16);
  for (size_t i = 0; i < format.size(); ++i) {
    if (format[i] != '%' || i + 1 == format.size()) {
      out += format[i];
      continue;
    }
    switch (format[++i]) {
      case 'd': append_number(out, c.day, 2); break;
      case 'e': append_number(out, c.day, 2, ' '); break;
      case 'm': append_number(out, c.month, 2); break;
      case 'Y': append_number(out, c.year, 4); break;
      case 'y': append_number(out, (c.year % 100 + 100) % 100, 2); break;
      case 'b': out.append(kMonthNames[c.month - 1], 3); break;
      case 'B': out += kMonthNames[c.month - 1]; break;
      case 'a': out.append(kWeekdayNames[weekday(day)], 3); break;
      case 'A': out += kWeekdayNames[weekday(day)]; break;
      case 'j': append_number(out, day - days_from_civil(c.year, 1, 1) + 1, 3); break;
      case '%': out += '%'; break;
      default: out += '%'; out += format[i]; break;
    }
  }
  return out;
}

std::optional<Day> parse_iso_date(std::string_view text) {
  std::optional<Day> day = read_iso(text);
  return day && text.empty() ? day : std::nullopt;
}

std::string DateParser::compile(std::string_view format, std::vector<Token>* tokens) {
  const std::string quoted = "date format \"" + std::string(format) + "\"";
  // The text is trimmed before matching, so spaces at the ends of the format would never match.
  format = trim(format);
  tokens->clear();
  if (format.empty()) return "";
  int days = 0, months = 0, years = 0;
  for (size_t i = 0; i < format.size(); ++i) {
    const char c = format[i];
    if (is_space(c)) {
      if (tokens->empty() || tokens->back().kind != ' ') tokens->push_back({' ', 0});
      continue;
    }
    if (c != '%') {
      tokens->push_back({0, c});
      continue;
    }
    if (++i == format.size()) return quoted + " ends with a lone %";
    const char directive = format[i];
    switch (directive) {
      case 'd': case 'e': ++days; break;
      case 'm': case 'b': case 'B': ++months; break;
      case 'Y': case 'y': ++years; break;
      case '%': tokens->push_back({0, '%'}); continue;
      default:
        return quoted + ": unsupported %" + std::string(1, directive) + " (use %d %e %m %b %B %Y %y %%)";
    }
    tokens->push_back({directive == 'B' ? 'b' : directive, 0});
  }
  if (days != 1) return quoted + (days ? " has more than one day (%d, %e)" : " has no day (%d or %e)");
  if (months != 1) return quoted + (months ? " has more than one month (%m, %b, %B)" : " has no month (%m, %b or %B)");
  if (years != 1) return quoted + (years ? " has more than one year (%Y, %y)" : " has no year (%Y or %y)");
  return "";
}

DateParser::DateParser(std::string format) : format_(std::move(format)) {
  // An invalid format (validate_date_format reports it) leaves ISO only rather than throwing.
  if (!compile(format_, &tokens_).empty()) tokens_.clear();
  if (tokens_.size() == 5 && tokens_[0].kind == 'd' && tokens_[1].kind == 0 && tokens_[2].kind == 'm' &&
      tokens_[3].kind == 0 && tokens_[4].kind == 'Y' && !is_digit(tokens_[1].literal) && !is_digit(tokens_[3].literal)) {
    day_month_year_ = true;
    separators_[0] = tokens_[1].literal;
    separators_[1] = tokens_[3].literal;
  }
}

std::optional<Day> DateParser::parse(std::string_view text) const {
  text = trim(text);
  if (day_month_year_ && text.size() == 10 && text[2] == separators_[0] && text[5] == separators_[1]) {
    // dd?mm?yyyy: what the general path below reads from these ten characters, and no more (a
    // cell it would refuse, or read another way, falls through to it).
    const auto digit = [&](size_t i) { return static_cast<unsigned>(text[i] - '0'); };
    bool digits = true;
    for (size_t i : {0, 1, 3, 4, 6, 7, 8, 9}) digits = digits && digit(i) <= 9;
    if (digits) {
      const int day = static_cast<int>(digit(0) * 10 + digit(1));
      const unsigned month = digit(3) * 10 + digit(4);
      const int year = static_cast<int>(digit(6) * 1000 + digit(7) * 100 + digit(8) * 10 + digit(9));
      if (is_valid_civil(year, month, day)) return days_from_civil(year, month, day);
    }
  }
  if (!tokens_.empty()) {
    std::string_view s = text;
    int year = 0, day = 0, number = 0;
    unsigned month = 0;
    bool ok = true;
    for (const Token& token : tokens_) {
      switch (token.kind) {
        case 0: ok = eat(s, token.literal); break;
        case ' ':
          ok = !s.empty() && is_space(s.front());
          while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
          break;
        case 'e':
          while (!s.empty() && s.front() == ' ') s.remove_prefix(1);  // %e pads with a space
          [[fallthrough]];
        case 'd': ok = read_number(s, 1, 2, day); break;
        case 'm': ok = read_number(s, 1, 2, number); month = number; break;
        case 'b': ok = read_month_name(s, month); break;
        case 'Y': ok = read_number(s, 4, 4, year); break;
        case 'y':
          ok = read_number(s, 2, 2, number);
          year = number < 70 ? 2000 + number : 1900 + number;
          break;
      }
      if (!ok) break;
    }
    if (ok && is_time_suffix(s) && is_valid_civil(year, month, day)) return days_from_civil(year, month, day);
  }
  std::optional<Day> day = read_iso(text);
  return day && is_time_suffix(text) ? day : std::nullopt;
}

std::string validate_date_format(std::string_view format) {
  std::vector<DateParser::Token> tokens;
  return DateParser::compile(format, &tokens);
}

}  // namespace casewatch
