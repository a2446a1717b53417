// What every receiver's messages share: headings, summaries, links to the status page, secrets
// read from files, and which HTTP answers are worth retrying. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "notify/notification.h"
#include "notify/team_day.h"

namespace casewatch {
struct ReceiverContext;
}

namespace casewatch::receiver_text {

// Chat messages list at most this many alerts (Slack allows 50 blocks; Teams about 28 KB).
inline constexpr size_t kMaxChatAlerts = 40;
// What one item may show of its summary in a chat message (the alert page has all of it).
inline constexpr size_t kMaxChatItemText = 300;
// Teams refuses cards over about 28 KB: the items stop here, leaving room for the rest.
inline constexpr size_t kMaxTeamsCardBytes = 24000;
// Slack's limits: 50 blocks a message, 3,000 characters a section.
inline constexpr size_t kMaxSlackBlocks = 50;
inline constexpr size_t kMaxSlackSectionText = 3000;

std::string lower(std::string s);
std::string strip(std::string_view s);
// Line breaks and tabs become spaces: for one-line fields (headers, titles).
std::string one_line(std::string s);
std::string count_text(size_t n);  // "1 alert", "2 alerts"
std::string labels_text(const StringMap& labels);  // "team=A, worker=B"
size_t count_new(const Notification& n);
// "2 alerts: team=Assessment", "Digest, 5 alerts (2 new): team=Assessment".
std::string heading(const Notification& n);
// "[FIRING] 2 alerts: team=Assessment".
std::string chat_title(const Notification& n);
int64_t starts_at(const Alert& a);           // when it fired, else when it first matched
std::string status_of(const NotifiedAlert& a);  // "firing" or "resolved"
std::string summary_of(const Alert& a);
std::string due_of(const Alert& a);          // "YYYY-MM-DD" or ""
std::string percent_encode(std::string_view s);
std::string without_trailing_slash(std::string url);
// The rule's section of the status page ("" without an external_url).
std::string generator_url(const Notification& n, const Alert& a);
// At most `max` bytes, cut at a UTF-8 character boundary, with "..." when cut.
std::string truncate_utf8(const std::string& s, size_t max);
// HTTP 4xx other than 408, 425 and 429: retrying cannot help.
bool is_permanent_http(long status);
// A notification as the manager reads it: the team's day of its alerts (the model the team page
// is made from too). Holds pointers into `n`, which must outlive it.
struct ReadableNotification {
  std::vector<Ack> acknowledgements;  // storage for the entries' pointers
  std::vector<DayEntry> entries;
  DayContext context;  // the local date, calendar and wording it was made with
  TeamDay day;
};
// What the group is about: its team, else the rule's title (grouped by rule), else its labels'
// values, else the team all its alerts share.
std::string group_name(const Notification& n, const RuleTitles* titles);
ReadableNotification readable(const Notification& n, const ReceiverContext& context, const MessageTemplates* templates);

// Reads a secret file. `trim_all`: surrounding whitespace goes (tokens); otherwise only the
// line ending(s) at the end (passwords may hold spaces).
bool read_secret(const std::string& path, bool trim_all, std::string& secret, std::string& error);

}  // namespace casewatch::receiver_text
