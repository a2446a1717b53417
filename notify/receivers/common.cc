#include "notify/receivers/common.h"

#include <algorithm>
#include <cctype>

#include "config/as_of.h"
#include "integrations/file_bytes.h"
#include "notify/receivers/receiver.h"
#include "rules/date.h"

namespace casewatch::receiver_text {

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string strip(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return std::string(s.substr(b, e - b));
}

// Line breaks and tabs become spaces: for one-line fields (headers, titles).
std::string one_line(std::string s) {
  for (char& c : s)
    if (c == '\r' || c == '\n' || c == '\t') c = ' ';
  return strip(s);
}


std::string count_text(size_t n) { return std::to_string(n) + (n == 1 ? " alert" : " alerts"); }

std::string labels_text(const StringMap& labels) {
  std::string out;
  for (const auto& [name, value] : labels) {
    if (!out.empty()) out += ", ";
    out.append(name).append("=").append(value);
  }
  return out;
}

size_t count_new(const Notification& n) {
  return static_cast<size_t>(std::count_if(n.alerts.begin(), n.alerts.end(), [](const auto& a) { return a.is_new; }));
}

// "2 alerts: team=Assessment", "Digest, 5 alerts (2 new): team=Assessment".
std::string heading(const Notification& n) {
  std::string out = count_text(n.alerts.size());
  if (n.digest) out = "Digest, " + out + " (" + std::to_string(count_new(n)) + " new)";
  std::string labels = labels_text(n.group_labels);
  if (!labels.empty()) out += ": " + labels;
  return one_line(out);
}

// "[FIRING] 2 alerts: team=Assessment".
std::string chat_title(const Notification& n) {
  std::string status = n.status() == NotificationStatus::Firing ? "FIRING" : "RESOLVED";
  return "[" + status + "] " + heading(n);
}

int64_t starts_at(const Alert& a) { return a.fired_at != 0 ? a.fired_at : a.active_since; }

std::string status_of(const NotifiedAlert& a) { return a.resolved ? "resolved" : "firing"; }

std::string summary_of(const Alert& a) {
  return std::string(a.annotations().value_or_empty("summary"));
}

std::string due_of(const Alert& a) { return a.due_date == kNullDay ? std::string() : format_iso(a.due_date); }

std::string percent_encode(std::string_view s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

std::string without_trailing_slash(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

// The rule's section of the status page.
std::string generator_url(const Notification& n, const Alert& a) {
  if (n.external_url.empty()) return "";
  return without_trailing_slash(n.external_url) + "/#rule-" + percent_encode(a.rule);
}


// At most `max` bytes, cut at a UTF-8 character boundary, with "..." when cut.
std::string truncate_utf8(const std::string& s, size_t max) {
  if (s.size() <= max) return s;
  size_t cut = max >= 3 ? max - 3 : 0;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  return s.substr(0, cut) + "...";
}

bool is_permanent_http(long status) { return status >= 400 && status < 500 && status != 408 && status != 425 && status != 429; }

namespace {

// The team of the group, or the one team all its alerts share; "" otherwise.
std::string team_of(const Notification& n) {
  if (auto team = n.group_labels.value_or_empty("team"); !team.empty()) return std::string(team);
  std::string shared;
  for (const NotifiedAlert& a : n.alerts) {
    std::string_view team = a.alert.labels().value_or_empty("team");
    if (team.empty() || (!shared.empty() && team != shared)) return "";
    shared = team;
  }
  return shared;
}

}  // namespace

std::string group_name(const Notification& n, const RuleTitles* titles) {
  if (auto team = n.group_labels.value_or_empty("team"); !team.empty()) return one_line(std::string(team));
  std::string values;
  for (const auto& [name, value] : n.group_labels) {
    if (value.empty()) continue;
    values += (values.empty() ? "" : ", ") + (name == "alertname" ? rule_title(value, titles) : std::string(value));
  }
  if (!values.empty()) return one_line(values);
  std::string team = team_of(n);
  return team.empty() ? "casewatch" : one_line(team);
}

ReadableNotification readable(const Notification& n, const ReceiverContext& context, const MessageTemplates* templates) {
  ReadableNotification r;
  r.acknowledgements.reserve(n.alerts.size());
  for (const NotifiedAlert& a : n.alerts) {
    const Ack* ack = nullptr;
    if (a.is_acknowledgement()) {
      r.acknowledgements.push_back({a.alert.fingerprint, a.alert.severity, a.acknowledged_by, a.acknowledged_comment,
                                    a.acknowledged_at});
      ack = &r.acknowledgements.back();
    }
    r.entries.push_back({&a.alert, a.resolved, a.is_new, ack, a.is_acknowledgement()});
  }
  static const Calendar kWeekendsOnly;
  DayContext& c = r.context;
  c.calendar = context.calendar ? context.calendar.get() : &kWeekendsOnly;
  c.timezone = context.timezone;
  c.today = n.created_at > 0 ? as_of_instant(n.created_at, context.timezone).day : kNullDay;
  c.base_url = n.external_url;
  c.templates = templates;
  c.titles = context.rule_titles.get();
  c.digest = n.digest;
  r.day = make_team_day(group_name(n, c.titles), team_of(n), r.entries, c);
  return r;
}

// Reads a secret file. `trim_all`: surrounding whitespace goes (tokens); otherwise only the
// line ending(s) at the end (passwords may hold spaces).
bool read_secret(const std::string& path, bool trim_all, std::string& secret, std::string& error) {
  FileBytes file;
  std::string why;
  if (!file.open(path, why)) {
    error = "cannot read secret: " + why;
    return false;
  }
  std::string_view bytes = file.bytes();
  if (trim_all) {
    secret = strip(bytes);
  } else {
    while (!bytes.empty() && (bytes.back() == '\n' || bytes.back() == '\r')) bytes.remove_suffix(1);
    secret = std::string(bytes);
  }
  return true;
}

}  // namespace casewatch::receiver_text
