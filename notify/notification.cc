#include "notify/notification.h"

#include <algorithm>
#include <ctime>

#include "integrations/json_text.h"

namespace casewatch {

std::string rfc3339_utc(int64_t seconds) {
  if (seconds <= 0) return "0001-01-01T00:00:00Z";
  time_t t = static_cast<time_t>(seconds);
  struct tm utc {};
  gmtime_r(&t, &utc);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return buffer;
}

std::string_view notification_status_name(NotificationStatus status) {
  return status == NotificationStatus::Firing ? "firing" : "resolved";
}

NotificationStatus Notification::status() const {
  for (const auto& a : alerts)
    if (!a.resolved && !a.is_acknowledgement()) return NotificationStatus::Firing;
  return NotificationStatus::Resolved;
}

namespace {

StringMap common(const std::vector<NotifiedAlert>& alerts, const StringMap& (Alert::*member)() const) {
  if (alerts.empty()) return {};
  std::vector<std::pair<std::string, std::string>> shared;
  for (const auto& [name, value] : (alerts.front().alert.*member)())
    if (std::all_of(alerts.begin(), alerts.end(), [&](const NotifiedAlert& a) {
          const StringMap& of_alert = (a.alert.*member)();
          auto other = of_alert.find(name);
          return other != of_alert.end() && other->second == value;
        }))
      shared.emplace_back(name, value);
  return StringMap(std::move(shared));
}

}  // namespace

StringMap Notification::common_labels() const { return common(alerts, &Alert::labels); }
StringMap Notification::common_annotations() const { return common(alerts, &Alert::annotations); }

namespace {

void append_int(std::string& out, int64_t number) { out += std::to_string(number); }

}  // namespace

// Keys in nlohmann's order (sorted), so the text is what a JSON tree of the same would dump.
void append_notified_alert_json(std::string& out, const NotifiedAlert& a) {
  if (!a.is_acknowledgement()) return append_notified_alert_json(out, a.alert, a.resolved, a.ends_at, a.is_new);
  out += "{\"acknowledged_at\":";
  append_int(out, a.acknowledged_at);
  out += ",\"acknowledged_by\":";
  append_json_string(out, a.acknowledged_by);
  out += ",\"acknowledged_comment\":";
  append_json_string(out, a.acknowledged_comment);
  out += ',';
  size_t start = out.size();
  append_notified_alert_json(out, a.alert, a.resolved, a.ends_at, a.is_new);
  out.erase(start, 1);  // the rest of the same object: its opening brace goes
}

void append_notified_alert_json(std::string& out, const Alert& x, bool resolved, int64_t ends_at, bool is_new) {
  out += "{\"active_since\":";
  append_int(out, x.active_since);
  out += ",\"annotations\":";
  append_json_object(out, x.annotations());
  out += ",\"due_date\":";
  append_int(out, x.due_date);
  out += ",\"ends_at\":";
  append_int(out, ends_at);
  out += ",\"fingerprint\":";
  append_json_string(out, x.fingerprint);
  out += ",\"fired_at\":";
  append_int(out, x.fired_at);
  out += is_new ? ",\"is_new\":true,\"key\":" : ",\"is_new\":false,\"key\":";
  append_json_string(out, x.key);
  out += ",\"labels\":";
  append_json_object(out, x.labels());
  out += resolved ? ",\"resolved\":true,\"rule\":" : ",\"resolved\":false,\"rule\":";
  append_json_string(out, x.rule);
  out += ",\"severity\":";
  append_int(out, static_cast<int>(x.severity));
  out += ",\"state\":";
  append_int(out, static_cast<int>(x.state));
  out += ",\"value\":";
  if (x.value) append_json_number(out, *x.value);
  else out += "null";
  out += '}';
}

std::string notification_text(const Notification& n) {
  std::string out = "{\"alerts\":[";
  for (const NotifiedAlert& a : n.alerts) {
    if (out.back() != '[') out += ',';
    append_notified_alert_json(out, a);
  }
  auto text_field = [&out](std::string_view name, std::string_view value) {
    out.append(",\"").append(name).append("\":");
    append_json_string(out, value);
  };
  out += "],\"created_at\":";
  append_int(out, n.created_at);
  out += n.digest ? ",\"digest\":true" : ",\"digest\":false";
  text_field("external_url", n.external_url);
  text_field("fallback_receiver", n.fallback_receiver);
  text_field("group_key", n.group_key);
  out += ",\"group_labels\":";
  append_json_object(out, n.group_labels);
  text_field("id", n.id);
  text_field("receiver", n.receiver);
  text_field("route", n.route);
  out += n.whole_state ? ",\"whole_state\":true}" : ",\"whole_state\":false}";
  return out;
}

DeliveryHistory delivery_history_of(const Notification& n) {
  DeliveryHistory out;
  for (const NotifiedAlert& a : n.alerts)
    if ((!n.whole_state || a.is_new) && !a.is_acknowledgement()) out.emplace_back(a.alert.fingerprint, a.resolved);
  return out;
}

Notification notification_from_json(const nlohmann::json& j) {
  Notification n;
  n.id = j.value("id", "");
  n.receiver = j.value("receiver", "");
  n.route = j.value("route", "");
  n.group_key = j.value("group_key", "");
  n.group_labels = j.value("group_labels", StringMap{});
  n.digest = j.value("digest", false);
  n.created_at = j.value("created_at", int64_t{0});
  n.external_url = j.value("external_url", "");
  n.fallback_receiver = j.value("fallback_receiver", "");
  n.whole_state = j.value("whole_state", false);
  for (const auto& a : j.value("alerts", nlohmann::json::array())) {
    NotifiedAlert na;
    Alert& x = na.alert;
    x.fingerprint = a.value("fingerprint", "");
    x.rule = a.value("rule", "");
    x.key = a.value("key", "");
    x.severity = static_cast<Severity>(a.value("severity", 1));
    x.state = static_cast<AlertState>(a.value("state", 1));
    x.active_since = a.value("active_since", int64_t{0});
    x.fired_at = a.value("fired_at", int64_t{0});
    x.set_text(a.value("labels", StringMap{}), a.value("annotations", StringMap{}));
    x.due_date = a.value("due_date", kNullDay);
    if (a.contains("value") && a["value"].is_number()) x.value = a["value"].get<double>();
    na.resolved = a.value("resolved", false);
    na.ends_at = a.value("ends_at", int64_t{0});
    na.is_new = a.value("is_new", false);
    na.acknowledged_at = a.value("acknowledged_at", int64_t{0});
    na.acknowledged_by = a.value("acknowledged_by", "");
    na.acknowledged_comment = a.value("acknowledged_comment", "");
    n.alerts.push_back(std::move(na));
  }
  return n;
}

}  // namespace casewatch
