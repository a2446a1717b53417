#include "config/as_of.h"

#include <chrono>
#include <cstdio>

#include <date/tz.h>

namespace casewatch {
namespace {

// Howard Hinnant's tz over the system's tz database: thread-safe, no process-wide TZ.
const date::time_zone* zone_named(const std::string& timezone) {
  try {
    return date::locate_zone(timezone);
  } catch (const std::exception&) {
    return date::locate_zone("UTC");  // the config refuses unknown zones; tests may not
  }
}

int digits(std::string_view s, size_t at, size_t n, bool& ok) {
  int v = 0;
  for (size_t i = 0; i < n; ++i) {
    char c = at + i < s.size() ? s[at + i] : 'x';
    if (c < '0' || c > '9') { ok = false; return 0; }
    v = v * 10 + (c - '0');
  }
  return v;
}

}  // namespace

AsOf as_of_instant(int64_t epoch_seconds, const std::string& timezone) {
  const date::sys_seconds instant{std::chrono::seconds(epoch_seconds)};
  const date::sys_info info = zone_named(timezone)->get_info(instant);
  const auto local = instant + info.offset;
  AsOf out;
  out.epoch_seconds = epoch_seconds;
  out.day = static_cast<Day>(date::floor<date::days>(local).time_since_epoch().count());
  out.utc_offset_seconds = static_cast<int>(info.offset.count());
  return out;
}

bool is_known_timezone(const std::string& timezone) {
  try {
    date::locate_zone(timezone);
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

std::optional<AsOf> parse_as_of(std::string_view text, const std::string& timezone) {
  if (auto day = parse_iso_date(text)) {
    // 09:00 local time that day (never skipped nor repeated by a clock change in practice; if it
    // were, the earlier instant).
    const date::local_seconds nine{date::local_days{date::days(*day)} + std::chrono::hours(9)};
    const auto instant = zone_named(timezone)->to_sys(nine, date::choose::earliest);
    return as_of_instant(instant.time_since_epoch().count(), timezone);
  }
  // RFC 3339: YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)
  if (text.size() < 20) return std::nullopt;
  auto day = parse_iso_date(text.substr(0, 10));
  if (!day || (text[10] != 'T' && text[10] != 't' && text[10] != ' ')) return std::nullopt;
  bool ok = true;
  int hour = digits(text, 11, 2, ok), minute = digits(text, 14, 2, ok), second = digits(text, 17, 2, ok);
  if (!ok || text[13] != ':' || text[16] != ':' || hour > 23 || minute > 59 || second > 60) return std::nullopt;
  size_t pos = 19;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    if (pos >= text.size() || text[pos] < '0' || text[pos] > '9') return std::nullopt;  // "." 1*DIGIT
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') ++pos;
  }
  if (pos >= text.size()) return std::nullopt;
  int offset = 0;
  if (text[pos] == 'Z' || text[pos] == 'z') {
    if (pos + 1 != text.size()) return std::nullopt;
  } else if (text[pos] == '+' || text[pos] == '-') {
    if (pos + 6 != text.size() || text[pos + 3] != ':') return std::nullopt;
    int oh = digits(text, pos + 1, 2, ok), om = digits(text, pos + 4, 2, ok);
    if (!ok || oh > 23 || om > 59) return std::nullopt;
    offset = (oh * 3600 + om * 60) * (text[pos] == '-' ? -1 : 1);
  } else {
    return std::nullopt;
  }
  int64_t epoch = static_cast<int64_t>(*day) * 86400 + hour * 3600 + minute * 60 + second - offset;
  return as_of_instant(epoch, timezone);
}

std::string format_rfc3339(const AsOf& as_of) {
  int64_t local = as_of.epoch_seconds + as_of.utc_offset_seconds;
  int64_t days = local >= 0 ? local / 86400 : (local - 86399) / 86400;
  int64_t rest = local - days * 86400;
  CivilDate c = civil_from_days(static_cast<Day>(days));
  int offset = as_of.utc_offset_seconds;
  char sign = offset < 0 ? '-' : '+';
  if (offset < 0) offset = -offset;
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%04d-%02u-%02uT%02d:%02d:%02d%c%02d:%02d", c.year, c.month, c.day,
                static_cast<int>(rest / 3600), static_cast<int>(rest / 60 % 60), static_cast<int>(rest % 60), sign,
                offset / 3600, offset / 60 % 60);
  return buffer;
}

}  // namespace casewatch
