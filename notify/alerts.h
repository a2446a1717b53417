// The alert lifecycle of SPEC 6: inactive -> pending (matched, `for` not yet over) -> firing ->
// resolved (no longer matched), with severity changes. Pure: the caller passes the time.
// Not thread-safe: owned by the evaluation loop.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "rules/engine.h"
#include "rules/rule.h"

namespace casewatch {

enum class AlertState { Pending, Firing };
std::string_view alert_state_name(AlertState state);

// Derived from the rule name and the key alone: stable across restarts and label changes.
std::string alert_fingerprint(std::string_view rule, std::string_view key);

struct Alert {
  std::string fingerprint;
  std::string rule;
  std::string key;
  Severity severity = Severity::Warning;
  AlertState state = AlertState::Pending;
  int64_t active_since = 0;  // when it first matched
  int64_t fired_at = 0;      // when it started firing; 0 while pending
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
  Day due_date = kNullDay;
  std::optional<double> value;
  // When its record (or group) was first found gone from the feed; 0 while present. A missing
  // record is not a done one: the alert stays until the record is back or the grace has passed.
  int64_t missing_since = 0;
};

struct AlertChange {
  enum class Kind { Pending, Fired, SeverityChanged, Updated, Resolved };
  Kind kind;
  Alert alert;              // the alert after the change (for Resolved: as it last was)
  Severity previous = Severity::Warning;  // SeverityChanged
  int64_t at = 0;
};

// Whether an alert's key is still in what its rule read: the record in the snapshot (deadline
// and condition rules) or the group among the aggregate's groups.
using Presence = std::function<bool(std::string_view key)>;

class AlertBook {
 public:
  // Applies one evaluation of `rule` at `now`: `matches` are that rule's matches (any order).
  // An alert no longer matched resolves when `present` says its key is still there (or when no
  // `present` is given); a missing one resolves only once it has been missing for
  // `resolve_missing_after` seconds. Returns every change.
  std::vector<AlertChange> apply(const Rule& rule, const std::vector<const Match*>& matches, int64_t now,
                                 const Presence& present = {}, int64_t resolve_missing_after = 0);
  // Resolves every alert of a rule that no longer exists (after a reload).
  std::vector<AlertChange> drop_rules_except(const std::vector<std::string>& rule_names, int64_t now);

  void restore(Alert alert) { alerts_[alert.fingerprint] = std::move(alert); }
  const std::map<std::string, Alert>& alerts() const { return alerts_; }

 private:
  std::map<std::string, Alert> alerts_;  // by fingerprint
};

}  // namespace casewatch
