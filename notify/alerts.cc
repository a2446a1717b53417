#include "notify/alerts.h"

#include <cstdio>
#include <algorithm>
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

MatchText& Alert::edit_text() {
  auto copy = std::make_shared<MatchText>(*text);
  MatchText& editable = *copy;
  text = std::move(copy);
  return editable;
}

void Alert::set_text(StringMap labels, StringMap annotations) {
  text = std::make_shared<const MatchText>(MatchText{std::move(labels), std::move(annotations)});
}

const std::shared_ptr<const MatchText>& Alert::empty_text() {
  static const auto empty = std::make_shared<const MatchText>();
  return empty;
}

bool Alert::operator==(const Alert& other) const {
  return fingerprint == other.fingerprint && rule == other.rule && key == other.key && severity == other.severity &&
         state == other.state && active_since == other.active_since && fired_at == other.fired_at &&
         (text == other.text || (labels() == other.labels() && annotations() == other.annotations())) &&
         due_date == other.due_date &&
         value == other.value && missing_since == other.missing_since && rejected_since == other.rejected_since;
}

namespace {

// A pending alert fires once it has matched for the rule's `for`.
bool fires(const Rule& rule, const Alert& alert, int64_t now) {
  return alert.state == AlertState::Pending && now - alert.active_since >= rule.spec.for_seconds;
}

// Alerts that time alone can change: pending ones (but not one held on a rejected row, which
// stays as it was), and those whose record is missing.
bool waits(const Alert& alert) {
  return (alert.state == AlertState::Pending && alert.rejected_since == 0) || alert.missing_since != 0;
}

}  // namespace

std::vector<AlertChange> AlertBook::apply(const Rule& rule, std::span<const Match> matches,
                                          std::span<const std::shared_ptr<const MatchText>> texts, int64_t now,
                                          const Presence& present, int64_t resolve_missing_after) {
  std::vector<AlertChange> changes;
  KeyIndex& of_rule = by_rule_.try_emplace(rule.spec.name).first->second;
  const uint64_t this_apply = ++applied_;
  bool text_refreshed = false;
  for (size_t i = 0; i < matches.size(); ++i) {
    const Match& match = matches[i];
    const std::shared_ptr<const MatchText>& text = texts[i];
    auto indexed = of_rule.find(match.key);
    const bool inserted = indexed == of_rule.end();
    if (inserted) {
      std::string fingerprint = alert_fingerprint(rule.spec.name, match.key);
      // Taken by another rule and key only on a 64-bit hash collision: the new one wins.
      if (auto taken = alerts_.find(fingerprint); taken != alerts_.end()) erase(taken);
      Alert& alert = alerts_[fingerprint];
      alert.fingerprint = std::move(fingerprint);
      alert.rule = rule.spec.name;
      alert.key = match.key;
      alert.active_since = now;
      alert.state = AlertState::Pending;
      indexed = of_rule.emplace(alert.key, Indexed{&alert, 0}).first;
    }
    indexed->second.seen = this_apply;
    Alert& alert = *indexed->second.alert;
    Severity previous = alert.severity;
    bool was_firing = !inserted && alert.state == AlertState::Firing;
    bool content_changed = inserted || alert.severity != match.severity || alert.labels() != text->labels ||
                           alert.due_date != match.due_date || alert.value != match.value || alert.missing_since != 0 ||
                           alert.rejected_since != 0;
    if (content_changed) {
      alert.missing_since = 0;
      alert.rejected_since = 0;
      alert.severity = match.severity;
      alert.text = text;
      alert.due_date = match.due_date;
      alert.value = match.value;
    } else if (alert.text != text && alert.annotations() != text->annotations) {
      alert.text = text;
      text_refreshed = true;
    }
    if (fires(rule, alert, now)) {
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
    if (waits(alert)) waiting_.insert(&alert);
    else if (!waiting_.empty()) waiting_.erase(&alert);
  }
  // The rule's alerts not matched now, in fingerprint order.
  std::vector<Alert*> unmatched;
  for (const auto& [key, indexed] : of_rule)
    if (indexed.seen != this_apply) unmatched.push_back(indexed.alert);
  std::sort(unmatched.begin(), unmatched.end(), [](const Alert* a, const Alert* b) { return a->fingerprint < b->fingerprint; });
  for (Alert* alert : unmatched) {
    const KeyPresence presence = present ? present(alert->key) : KeyPresence::Present;
    if (presence == KeyPresence::Rejected) {
      // Its record is in the source, unreadable this time: neither done nor gone.
      if (alert->rejected_since == 0 || alert->missing_since != 0) {
        if (alert->rejected_since == 0) alert->rejected_since = now;
        alert->missing_since = 0;
        if (!waits(*alert)) waiting_.erase(alert);
        changes.push_back({AlertChange::Kind::Updated, *alert, alert->severity, now});
      }
      continue;
    }
    if (presence == KeyPresence::Absent) {
      if (alert->missing_since == 0) {
        alert->missing_since = now;
        alert->rejected_since = 0;
        waiting_.insert(alert);
        changes.push_back({AlertChange::Kind::Updated, *alert, alert->severity, now});
      }
      if (now - alert->missing_since < resolve_missing_after) continue;
    }
    changes.push_back({AlertChange::Kind::Resolved, *alert, alert->severity, now});
    erase(alerts_.find(alert->fingerprint));
  }
  if (!changes.empty()) ++change_version_;
  if (!changes.empty() || text_refreshed) ++version_;
  return changes;
}

std::vector<AlertChange> AlertBook::advance(const Rule& rule, int64_t now, int64_t resolve_missing_after) {
  std::vector<Alert*> due;
  for (Alert* alert : waiting_)
    if (alert->rule == rule.spec.name) due.push_back(alert);
  std::sort(due.begin(), due.end(), [](const Alert* a, const Alert* b) { return a->fingerprint < b->fingerprint; });
  std::vector<AlertChange> changes;
  for (Alert* alert : due) {
    if (alert->missing_since == 0) {
      if (!fires(rule, *alert, now)) continue;
      alert->state = AlertState::Firing;
      alert->fired_at = now;
      waiting_.erase(alert);
      changes.push_back({AlertChange::Kind::Fired, *alert, alert->severity, now});
    } else if (now - alert->missing_since >= resolve_missing_after) {
      changes.push_back({AlertChange::Kind::Resolved, *alert, alert->severity, now});
      erase(alerts_.find(alert->fingerprint));
    }
  }
  if (!changes.empty()) ++version_, ++change_version_;
  return changes;
}

void AlertBook::restore(Alert alert) {
  auto existing = alerts_.find(alert.fingerprint);
  if (existing != alerts_.end()) erase(existing);
  Alert& restored = alerts_.emplace(alert.fingerprint, std::move(alert)).first->second;
  index(restored);
  if (waits(restored)) waiting_.insert(&restored);
  ++version_, ++change_version_;
}

void AlertBook::index(Alert& alert) {
  KeyIndex& of_rule = by_rule_[alert.rule];
  auto [it, inserted] = of_rule.emplace(alert.key, Indexed{&alert, 0});
  if (!inserted) {  // another fingerprint for the same rule and key (a state from another version): this one wins
    Alert* other = it->second.alert;
    of_rule.erase(it);
    waiting_.erase(other);
    alerts_.erase(other->fingerprint);
    of_rule.emplace(alert.key, Indexed{&alert, 0});
  }
}

void AlertBook::erase(std::map<std::string, Alert>::iterator it) {
  Alert* alert = &it->second;
  waiting_.erase(alert);
  auto rule = by_rule_.find(alert->rule);
  if (rule != by_rule_.end()) {
    auto indexed = rule->second.find(alert->key);
    if (indexed != rule->second.end() && indexed->second.alert == alert) rule->second.erase(indexed);
  }
  alerts_.erase(it);
}

std::vector<AlertChange> AlertBook::drop_rules_except(const std::vector<std::string>& rule_names, int64_t now) {
  std::set<std::string> keep(rule_names.begin(), rule_names.end());
  std::vector<AlertChange> changes;
  for (auto it = alerts_.begin(); it != alerts_.end();) {
    auto next = std::next(it);
    if (!keep.count(it->second.rule)) {
      changes.push_back({AlertChange::Kind::Resolved, it->second, it->second.severity, now});
      erase(it);
    }
    it = next;
  }
  if (!changes.empty()) ++version_, ++change_version_;
  return changes;
}

}  // namespace casewatch
