#include "notify/notification.h"

#include <ctime>

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
    if (!a.resolved) return NotificationStatus::Firing;
  return NotificationStatus::Resolved;
}

namespace {

std::map<std::string, std::string> common(const std::vector<NotifiedAlert>& alerts,
                                          std::map<std::string, std::string> Alert::*member) {
  if (alerts.empty()) return {};
  std::map<std::string, std::string> out = alerts.front().alert.*member;
  for (const auto& a : alerts) {
    const auto& map = a.alert.*member;
    for (auto it = out.begin(); it != out.end();) {
      auto other = map.find(it->first);
      if (other == map.end() || other->second != it->second) it = out.erase(it);
      else ++it;
    }
  }
  return out;
}

}  // namespace

std::map<std::string, std::string> Notification::common_labels() const { return common(alerts, &Alert::labels); }
std::map<std::string, std::string> Notification::common_annotations() const { return common(alerts, &Alert::annotations); }

nlohmann::json notification_to_json(const Notification& n) {
  nlohmann::json alerts = nlohmann::json::array();
  for (const auto& a : n.alerts) {
    const Alert& x = a.alert;
    alerts.push_back({{"fingerprint", x.fingerprint}, {"rule", x.rule}, {"key", x.key},
                      {"severity", static_cast<int>(x.severity)}, {"state", static_cast<int>(x.state)},
                      {"active_since", x.active_since}, {"fired_at", x.fired_at}, {"labels", x.labels},
                      {"annotations", x.annotations}, {"due_date", x.due_date},
                      {"value", x.value ? nlohmann::json(*x.value) : nlohmann::json(nullptr)},
                      {"resolved", a.resolved}, {"ends_at", a.ends_at}, {"is_new", a.is_new}});
  }
  return {{"id", n.id}, {"receiver", n.receiver}, {"route", n.route}, {"group_key", n.group_key},
          {"group_labels", n.group_labels}, {"digest", n.digest}, {"created_at", n.created_at},
          {"external_url", n.external_url}, {"fallback_receiver", n.fallback_receiver}, {"whole_state", n.whole_state},
          {"alerts", alerts}};
}

DeliveryHistory delivery_history_of(const Notification& n) {
  DeliveryHistory out;
  for (const NotifiedAlert& a : n.alerts)
    if (!n.whole_state || a.is_new) out.emplace_back(a.alert.fingerprint, a.resolved);
  return out;
}

Notification notification_from_json(const nlohmann::json& j) {
  Notification n;
  n.id = j.value("id", "");
  n.receiver = j.value("receiver", "");
  n.route = j.value("route", "");
  n.group_key = j.value("group_key", "");
  n.group_labels = j.value("group_labels", std::map<std::string, std::string>{});
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
    x.labels = a.value("labels", std::map<std::string, std::string>{});
    x.annotations = a.value("annotations", std::map<std::string, std::string>{});
    x.due_date = a.value("due_date", kNullDay);
    if (a.contains("value") && a["value"].is_number()) x.value = a["value"].get<double>();
    na.resolved = a.value("resolved", false);
    na.ends_at = a.value("ends_at", int64_t{0});
    na.is_new = a.value("is_new", false);
    n.alerts.push_back(std::move(na));
  }
  return n;
}

}  // namespace casewatch
