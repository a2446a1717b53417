// Routing, grouping, timing and digests (SPEC 6): which notifications to send, to whom, and
// when. Pure: the caller passes the alerts, what resolved, the time (and the local date and
// minute), and where new ids come from; it persists the group state and the notifications
// returned, in one transaction. Not thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/config.h"
#include "notify/alerts.h"
#include "notify/notification.h"

namespace casewatch {

struct GroupState {
  std::string id;  // route name + group key: the persistence key
  size_t route = 0;
  std::string group_key;
  StringMap group_labels;
  int64_t first_seen = 0;
  int64_t last_sent = 0;                       // 0: nothing sent yet
  std::map<std::string, Alert, std::less<>> sent;  // firing alerts as last notified, by fingerprint
  Day last_digest_day = kNullDay;
  std::set<std::string, std::less<>> last_digest;  // fingerprints in the previous digest
  // Alertmanager routes: alerts resolved in the last 15 minutes, sent again at every evaluation
  // (as Prometheus does) so that a peer that missed one still learns of it; by fingerprint.
  std::map<std::string, std::pair<Alert, int64_t>, std::less<>> recently_resolved;  // alert, when it resolved

  std::string to_text() const;  // JSON, as saved; from_json reads it back
  static GroupState from_json(const nlohmann::json& json);
};

struct DispatchInput {
  std::vector<const Alert*> alerts;          // every current alert
  std::set<std::string> silenced;            // fingerprints silenced or acknowledged
  // The acknowledged among them: a group's next message says who took each one it last had.
  const std::map<std::string, Ack>* acknowledged = nullptr;
  std::set<std::string> resolved;            // fingerprints that resolved since the last tick
  int64_t now = 0;
  Day today = kNullDay;                      // local date
  int minute_of_day = 0;                     // local time
  bool after_evaluation = false;             // alertmanager receivers are sent every evaluation
  int64_t alertmanager_ends_in = 0;          // firing alerts' endsAt = now + this, as Prometheus does
};

struct DispatchOutput {
  std::vector<Notification> notifications;
  std::vector<GroupState> changed_groups;
  std::vector<std::string> deleted_groups;
};

// How long Alertmanager is told of a resolved alert, as Prometheus' resolvedRetention.
inline constexpr int64_t kResolvedRetentionSeconds = 15 * 60;

class Dispatcher {
 public:
  // `ids` makes each notification's id (random in the daemon, counted in tests).
  Dispatcher(const Config& config, std::string external_url, std::function<std::string()> ids)
      : config_(&config), external_url_(std::move(external_url)), ids_(std::move(ids)) {}
  void set_external_url(std::string url) { external_url_ = std::move(url); }
  void restore(std::vector<GroupState> groups);
  // Adopts the groups of the old dispatcher whose route still exists (after a reload).
  void adopt(const Dispatcher& old);
  DispatchOutput tick(const DispatchInput& input);
  const std::map<std::string, GroupState>& groups() const { return groups_; }

 private:
  bool in_active_time(const RouteConfig& route, const DispatchInput& input) const;
  bool escalated(const RouteConfig& route, const Alert& alert, const DispatchInput& input) const;
  Notification make(const GroupState& group, const RouteConfig& route, int64_t now) const;

  const Config* config_;
  std::string external_url_;
  std::function<std::string()> ids_;
  std::map<std::string, GroupState> groups_;
};

// 32 random hex characters: notification and silence ids.
std::string random_id();

}  // namespace casewatch
