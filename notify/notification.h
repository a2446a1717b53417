// A notification: one message to one receiver about one group of alerts, as stored in the
// outbox and rendered by the receivers. Plain data; thread-safe as such.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "notify/alerts.h"

namespace casewatch {

enum class NotificationStatus { Firing, Resolved };
std::string_view notification_status_name(NotificationStatus status);  // "firing", "resolved"

struct NotifiedAlert {
  Alert alert;
  bool resolved = false;
  // When it resolved (resolved alerts); for firing alerts sent to Alertmanager, when Alertmanager
  // may consider it resolved if no update arrives (as Prometheus sets endsAt); 0 otherwise.
  int64_t ends_at = 0;
  // Digests: not in the previous digest. Other notifications: not in the group's last one. For
  // Alertmanager: the first time it is told of the alert firing, or of its resolution.
  bool is_new = false;
  // Acknowledged since the group's last message, and so no longer firing in it: told once, so the
  // reader knows who took it (never in delivery histories, Alertmanager or JSON webhooks).
  std::string acknowledged_by;
  int64_t acknowledged_at = 0;  // 0: not an acknowledgement
  std::string acknowledged_comment;
  bool is_acknowledgement() const { return acknowledged_at != 0; }
};

struct Notification {
  std::string id;                 // stable across retries: receivers may use it to deduplicate
  std::string receiver;
  std::string route;              // the route's position, e.g. "route 2"
  std::string group_key;          // e.g. {team="Assessment"}
  StringMap group_labels;
  bool digest = false;
  int64_t created_at = 0;
  std::string external_url;       // the status page, for links
  std::string fallback_receiver;  // where it goes when `receiver` gives up; may be empty
  std::vector<NotifiedAlert> alerts;
  // Alertmanager: the group's whole state (every firing alert, every recently resolved one), sent
  // at every evaluation. A newer one for the same group replaces it while it is undelivered, and
  // only its new alerts go into the delivery history: a resend is not news.
  bool whole_state = false;

  // Firing when any alert is firing, else resolved.
  NotificationStatus status() const;
  StringMap common_labels() const;
  StringMap common_annotations() const;
};

// As JSON text (the outbox's), written straight from the notification: a group of a hundred
// thousand alerts is never built as a JSON tree. notification_from_json reads it back.
std::string notification_text(const Notification& notification);
// One alert of it, as notification_text writes each (the group state reuses it).
void append_notified_alert_json(std::string& out, const NotifiedAlert& alert);
void append_notified_alert_json(std::string& out, const Alert& alert, bool resolved, int64_t ends_at, bool is_new);
// What is recorded in its alerts' delivery history when it is delivered: (fingerprint, resolved)
// for each alert, or for a whole-state notification only each new one.
using DeliveryHistory = std::vector<std::pair<std::string, bool>>;
DeliveryHistory delivery_history_of(const Notification& notification);
Notification notification_from_json(const nlohmann::json& json);

// RFC 3339 in UTC: "2017-06-14T08:00:00Z"; "0001-01-01T00:00:00Z" for 0 (Alertmanager's zero time).
std::string rfc3339_utc(int64_t seconds);

}  // namespace casewatch
