// Notification routing and receivers (SPEC 6): [[route]] and [[receiver]] tables validated into
// plain structs, and the time windows and schedules they use. Immutable once loaded.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <re2/re2.h>
#include <string>
#include <vector>

#include "config/message_templates.h"
#include "rules/calendar.h"
#include "rules/rule.h"
#include "rules/string_map.h"
#include "rules/template.h"

namespace casewatch {

struct LabelMatcher {
  std::string label;
  std::string value;                    // exact match, or
  std::shared_ptr<const RE2> regex;  // the whole value must match (RE2: linear time)
  std::string pattern;                  // the regex as written
  bool matches(const StringMap& labels) const;
};

// Days a window or schedule applies: a set of weekdays, or working days (Monday to Friday less
// bank holidays and local closure days).
struct DaySet {
  uint8_t weekdays = 0x7f;  // bit 0 = Monday ... bit 6 = Sunday
  bool working_days = false;
  bool includes(Day day, const Calendar& calendar) const;
};

// "mon-fri 08:00-18:00", "working-days 08:00-18:00", "daily 07:00-22:00", "sat,sun 10:00-12:00".
struct TimeWindow {
  DaySet days;
  int start_minute = 0;  // minutes after local midnight
  int end_minute = 0;    // exclusive
  bool contains(Day day, int minute, const Calendar& calendar) const;
};

// "working-days 08:30", "daily 09:00", "mon 09:00".
struct DailySchedule {
  DaySet days;
  int minute = 0;
};

// Label matcher regexes (routes, silences posted over the API) compile with RE2, whose matching
// time is linear: a pattern from the API can never stall the event loop.
std::shared_ptr<const RE2> compile_matcher_regex(const std::string& pattern);

std::optional<TimeWindow> parse_time_window(std::string_view text, std::string& error);
std::optional<DailySchedule> parse_daily_schedule(std::string_view text, std::string& error);

struct RouteConfig {
  std::vector<LabelMatcher> match;
  std::string receiver;
  std::vector<std::string> group_by;
  int64_t group_wait_seconds = 30;
  int64_t group_interval_seconds = 300;
  int64_t repeat_interval_seconds = 4 * 3600;
  bool send_resolved = true;
  std::vector<TimeWindow> active_time;     // empty: always
  std::optional<DailySchedule> digest;
  std::optional<Period> escalate_after;
  std::string fallback_receiver;
  bool continue_matching = false;
  std::string name;                        // "route N" (1-based), for logs and notifications
};

enum class ReceiverType { Email, Webhook, Alertmanager, File };
enum class WebhookFormat { Json, Teams, Slack };

// Rules' titles, by rule name.
using RuleTitles = std::map<std::string, std::string, std::less<>>;

struct ReceiverConfig {
  std::string name;
  ReceiverType type = ReceiverType::Webhook;
  int max_attempts = 10;
  int64_t max_age_seconds = 86400;
  int64_t timeout_seconds = 10;
  // email
  std::string smtp_url;
  std::string username;
  std::string password_file;
  std::string from;
  std::shared_ptr<const Template> to;       // over the group's labels; may use lookup()
  std::shared_ptr<const Template> subject;
  std::string to_source, subject_source;
  std::vector<std::string> allowed_recipient_domains;
  // email and chat webhooks: the wording (templates/messages.toml with `templates` over it)
  std::shared_ptr<const MessageTemplates> templates;
  std::string templates_path;
  // webhook
  std::string url;
  std::string url_file;  // where url came from, when it is a secret
  WebhookFormat format = WebhookFormat::Json;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string bearer_token_file;
  // alertmanager
  std::vector<std::string> urls;
  // file
  std::string path;
};

// The variables a receiver's templates see: one per label name any rule can produce, plus
// "count" (alerts in the group) and "status". Filled per notification by slot.
struct ReceiverTemplateScope {
  std::vector<std::string> names;  // by slot
};

}  // namespace casewatch
