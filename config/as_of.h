// Turning DATE arguments and the clock into the engine's as-of date, in the engine's timezone.
// Howard Hinnant's date/tz over the system's tz database: thread-safe, no process-wide TZ.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "rules/date.h"

namespace casewatch {

struct AsOf {
  Day day = kNullDay;            // the local date
  int64_t epoch_seconds = 0;     // the instant
  int utc_offset_seconds = 0;    // local offset at that instant
};

// "YYYY-MM-DD" means 09:00 local time that day; an RFC 3339 timestamp is converted to local time.
std::optional<AsOf> parse_as_of(std::string_view text, const std::string& timezone);
AsOf as_of_instant(int64_t epoch_seconds, const std::string& timezone);
// Whether the tz database knows the zone ("Europe/London"; not "Europe" nor "zone.tab").
bool is_known_timezone(const std::string& timezone);
// "2017-06-14T09:00:00+01:00"
std::string format_rfc3339(const AsOf& as_of);

}  // namespace casewatch
