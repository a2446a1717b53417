// The alert lifecycle of SPEC 6: inactive -> pending (matched, `for` not yet over) -> firing ->
// resolved (no longer matched), with severity changes. Pure: the caller passes the time.
// Not thread-safe: owned by the evaluation loop.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
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
  // Its labels and annotations, immutable and shared: the book, the published snapshot and every
  // notification that carries the alert hold the same text, so copying an alert copies no maps.
  std::shared_ptr<const MatchText> text = empty_text();
  Day due_date = kNullDay;
  std::optional<double> value;
  // When its record (or group) was first found gone from the feed; 0 while present. A missing
  // record is not a done one: the alert stays until the record is back or the grace has passed.
  int64_t missing_since = 0;
  // When its record was first found present only as a rejected row (a bad cell, its key still
  // readable); 0 otherwise. Such an alert is held as it was: its record is there, only unreadable.
  int64_t rejected_since = 0;

  // (A moved-from alert has no text: it reads as empty.)
  const StringMap& labels() const { return (text ? text : empty_text())->labels; }
  const StringMap& annotations() const { return (text ? text : empty_text())->annotations; }
  // A private copy of the text to change (the shared one is never written).
  MatchText& edit_text();
  void set_text(StringMap labels, StringMap annotations);
  static const std::shared_ptr<const MatchText>& empty_text();

  bool operator==(const Alert& other) const;
};

// An acknowledgement: one alert taken in hand, until it resolves or its severity rises.
struct Ack {
  std::string fingerprint;
  Severity severity = Severity::Warning;  // the severity acknowledged
  std::string created_by;
  std::string comment;
  int64_t created_at = 0;
};

struct AlertChange {
  enum class Kind { Pending, Fired, SeverityChanged, Updated, Resolved };
  Kind kind;
  Alert alert;              // the alert after the change (for Resolved: as it last was)
  Severity previous = Severity::Warning;  // SeverityChanged
  int64_t at = 0;
};

// Whether an alert's key is still in what its rule read: the record in the snapshot (deadline
// and condition rules) or the group among the aggregate's groups; or in the source only as a row
// that was rejected, which says nothing of its record but that it is there.
enum class KeyPresence { Present, Rejected, Absent };
using Presence = std::function<KeyPresence(std::string_view key)>;

class AlertBook {
 public:
  AlertBook() = default;
  // Its indexes point into its own alerts: it moves (the nodes go along) but is never copied.
  AlertBook(const AlertBook&) = delete;
  AlertBook& operator=(const AlertBook&) = delete;
  AlertBook(AlertBook&&) = default;
  AlertBook& operator=(AlertBook&&) = default;

  // Applies one evaluation of `rule` at `now`: `matches` are that rule's matches (any order), and
  // `texts[i]` the labels and annotations of `matches[i]`. An alert whose annotations alone have
  // changed (a summary that counts the working days from today changes every day) takes the new
  // text without a change: nothing about it need be saved or sent. An alert no longer matched resolves when `present`
  // says its key is still there (or when no `present` is given); one whose key is there only as a
  // rejected row stays as it was (rejected_since set); a missing one resolves only once it has
  // been missing for `resolve_missing_after` seconds. Returns every change.
  std::vector<AlertChange> apply(const Rule& rule, std::span<const Match> matches,
                                 std::span<const std::shared_ptr<const MatchText>> texts, int64_t now,
                                 const Presence& present = {}, int64_t resolve_missing_after = 0);
  // What `apply` returns when given the same matches, and the same presence, as at the rule's
  // last apply: only time moves on (a pending alert's `for` passing, a missing record's grace
  // running out). The evaluation need not be run again when nothing it reads has changed.
  std::vector<AlertChange> advance(const Rule& rule, int64_t now, int64_t resolve_missing_after = 0);
  // Resolves every alert of a rule that no longer exists (after a reload).
  std::vector<AlertChange> drop_rules_except(const std::vector<std::string>& rule_names, int64_t now);

  void restore(Alert alert);
  const std::map<std::string, Alert>& alerts() const { return alerts_; }
  // Grows with every change to the alerts, their text included: what was worked out from them at
  // an older version is stale.
  uint64_t version() const { return version_; }
  // Grows with every change but a new text alone (new annotations): what is worked out from the
  // alerts' rules, keys, states, severities and labels only (counts, teams) is stale.
  uint64_t change_version() const { return change_version_; }

 private:
  // An alert of a rule, found by its key; `seen` is the apply() that last matched it.
  struct Indexed {
    Alert* alert;
    uint64_t seen;
  };
  // Keys are views of the alerts' own keys.
  using KeyIndex = std::unordered_map<std::string_view, Indexed>;

  void erase(std::map<std::string, Alert>::iterator it);
  void index(Alert& alert);

  std::map<std::string, Alert> alerts_;  // by fingerprint
  // The nodes of alerts_ (which stay where they are until erased), by rule name and key: a match
  // finds its alert with one hash of its key, not a fingerprint and a search of every alert.
  std::map<std::string, KeyIndex, std::less<>> by_rule_;
  uint64_t applied_ = 0;  // apply() calls so far
  // Alerts that time alone can change: pending ones, and those whose record is missing.
  std::unordered_set<Alert*> waiting_;
  uint64_t version_ = 0;
  uint64_t change_version_ = 0;
};

}  // namespace casewatch
