// The alert lifecycle of SPEC 6: inactive -> pending (matched, `for` not yet over) -> firing ->
// resolved (no longer matched), with severity changes. Pure: the caller passes the time.
// Not thread-safe: owned by the evaluation loop.
#pragma once

#include <cstdint>
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
};

struct AlertChange {
  enum class Kind { Pending, Fired, SeverityChanged, Updated, Resolved };
  Kind kind;
  Alert alert;              // the alert after the change (for Resolved: as it last was)
  Severity previous = Severity::Warning;  // SeverityChanged
  int64_t at = 0;
};

class AlertBook {
 public:
  // Applies one evaluation of `rule` at `now`: `matches` are that rule's matches (any order).
  // Returns every change, in fingerprint order.
  std::vector<AlertChange> apply(const Rule& rule, const std::vector<const Match*>& matches, int64_t now);
  // Resolves every alert of a rule that no longer exists (after a reload).
  std::vector<AlertChange> drop_rules_except(const std::vector<std::string>& rule_names, int64_t now);

  void restore(Alert alert) { alerts_[alert.fingerprint] = std::move(alert); }
  const std::map<std::string, Alert>& alerts() const { return alerts_; }

 private:
  std::map<std::string, Alert> alerts_;  // by fingerprint
};

}  // namespace casewatch
