#include "notify/alerts.h"

#include <cstdio>
#include <set>

namespace casewatch {

std::string_view alert_state_name(AlertState state) {
  return state == AlertState::Pending ? "pending" : "firing";
}

std::string alert_fingerprint(std::string_view rule, std::string_view key) {
  // FNV-1a 64 over "rule\0key": stable, cheap, and the same on every platform.
  uint64_t hash = 1469598103934665603ull;
  auto mix = [&](std::string_view text) {
    for (unsigned char c : text) {
      hash ^= c;
      hash *= 1099511628211ull;
    }
  };
  mix(rule);
  mix(std::string_view("\0", 1));
  mix(key);
  char buffer[17];
  std::snprintf(buffer, sizeof buffer, "%016llx", static_cast<unsigned long long>(hash));
  return buffer;
}

std::vector<AlertChange> AlertBook::apply(const Rule& rule, const std::vector<const Match*>& matches, int64_t now,
                                          const Presence& present, int64_t resolve_missing_after) {
  std::vector<AlertChange> changes;
  std::set<std::string> seen;
  for (const Match* match : matches) {
    std::string fingerprint = alert_fingerprint(rule.spec.name, match->key);
    seen.insert(fingerprint);
    auto [it, inserted] = alerts_.try_emplace(fingerprint);
    Alert& alert = it->second;
    Severity previous = alert.severity;
    bool was_firing = !inserted && alert.state == AlertState::Firing;
    if (inserted) {
      alert.fingerprint = fingerprint;
      alert.rule = rule.spec.name;
      alert.key = match->key;
      alert.active_since = now;
      alert.state = AlertState::Pending;
    }
    bool content_changed = inserted || alert.severity != match->severity || alert.labels != match->labels ||
                           alert.annotations != match->annotations || alert.due_date != match->due_date ||
                           alert.value != match->value || alert.missing_since != 0;
    alert.missing_since = 0;
    alert.severity = match->severity;
    alert.labels = match->labels;
    alert.annotations = match->annotations;
    alert.due_date = match->due_date;
    alert.value = match->value;
    if (alert.state == AlertState::Pending && now - alert.active_since >= rule.spec.for_seconds) {
      alert.state = AlertState::Firing;
      alert.fired_at = now;
      changes.push_back({AlertChange::Kind::Fired, alert, previous, now});
    } else if (inserted) {
      changes.push_back({AlertChange::Kind::Pending, alert, previous, now});
    } else if (was_firing && previous != alert.severity) {
      changes.push_back({AlertChange::Kind::SeverityChanged, alert, previous, now});
    } else if (content_changed) {
      changes.push_back({AlertChange::Kind::Updated, alert, previous, now});
    }
  }
  for (auto it = alerts_.begin(); it != alerts_.end();) {
    Alert& alert = it->second;
    if (alert.rule != rule.spec.name || seen.count(it->first)) {
      ++it;
      continue;
    }
    if (present && !present(alert.key)) {
      if (alert.missing_since == 0) {
        alert.missing_since = now;
        changes.push_back({AlertChange::Kind::Updated, alert, alert.severity, now});
      }
      if (now - alert.missing_since < resolve_missing_after) {
        ++it;
        continue;
      }
    }
    changes.push_back({AlertChange::Kind::Resolved, alert, alert.severity, now});
    it = alerts_.erase(it);
  }
  return changes;
}

std::vector<AlertChange> AlertBook::drop_rules_except(const std::vector<std::string>& rule_names, int64_t now) {
  std::set<std::string> keep(rule_names.begin(), rule_names.end());
  std::vector<AlertChange> changes;
  for (auto it = alerts_.begin(); it != alerts_.end();) {
    if (!keep.count(it->second.rule)) {
      changes.push_back({AlertChange::Kind::Resolved, it->second, it->second.severity, now});
      it = alerts_.erase(it);
    } else {
      ++it;
    }
  }
  return changes;
}

}  // namespace casewatch
