// The file receiver: appends one JSON line per notification (names, not internal codes: severity
// "critical", dates as YYYY-MM-DD or null, times as RFC 3339), created 0600, written whole or not
// at all and synced before it counts as delivered.
#pragma once

#include <nlohmann/json.hpp>

#include "notify/notification.h"

namespace casewatch {

nlohmann::json file_record(const Notification& n);

}  // namespace casewatch
