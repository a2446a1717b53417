// The daemon's work, apart from its event loop: refresh feeds, evaluate every rule, move alerts
// through their lifecycle, persist, and publish a snapshot for the HTTP API and metrics.
// Mutating calls (evaluate, reload) come from one thread, the event loop; snapshot() and
// metrics() may be called from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "config/config.h"
#include "daemon/alerts.h"
#include "daemon/clock.h"
#include "daemon/feed_set.h"
#include "daemon/metrics.h"
#include "daemon/state_store.h"

namespace casewatch {

inline constexpr const char* kFeedUnhealthyRule = "casewatch_feed_unhealthy";

struct RuleStatus {
  std::string name, kind, feed;
  std::string health = "unknown";  // unknown (not evaluated yet), ok, err
  std::string last_error;
  int64_t last_evaluation = 0;
  double duration_seconds = 0;
  size_t matches = 0;
};

// What the last evaluation left; immutable once published.
struct ServiceSnapshot {
  bool ready = false;               // the first evaluation is done
  int64_t evaluated_at = 0;
  std::string timezone;
  std::vector<Alert> alerts;        // by fingerprint
  std::vector<RuleStatus> rules;
  std::vector<FeedStatus> feeds;
  std::vector<std::string> alert_teams;  // distinct values of the "team" label, for the status page
};

class Service {
 public:
  Service(std::shared_ptr<const Config> config, const Clock& clock, std::unique_ptr<StateStore> store,
          std::shared_ptr<Metrics> metrics);

  // Restores alerts from the state store; returns false (with `error`) when the store is unreadable.
  bool restore(std::string& error);
  // Refreshes due feeds, evaluates every rule as of now, persists the changes and publishes.
  void evaluate(bool force_feed_reload = false);
  // Refreshes feeds whose files changed; true when a snapshot changed (evaluate soon).
  bool poll_feeds();
  // Loads `path` whole; swaps it in only when it has no error. Returns false with diagnostics.
  bool reload(const std::string& path, Diagnostics& diagnostics);

  std::shared_ptr<const ServiceSnapshot> snapshot() const;
  std::shared_ptr<const Config> config() const { return config_; }
  Metrics& metrics() { return *metrics_; }

 private:
  void publish(std::vector<RuleStatus> rules);
  std::vector<prometheus::MetricFamily> dynamic_metrics(const ServiceSnapshot& snapshot,
                                                        const std::vector<GroupValue>& values) const;

  std::shared_ptr<const Config> config_;
  const Clock& clock_;
  std::unique_ptr<StateStore> store_;
  std::shared_ptr<Metrics> metrics_;
  std::unique_ptr<FeedSet> feeds_;
  AlertBook book_;
  Rule feed_unhealthy_rule_;
  std::vector<RuleStatus> rule_status_;
  std::vector<GroupValue> values_;  // exported aggregate values of the last evaluation
  bool evaluated_once_ = false;

  mutable std::mutex mutex_;
  std::shared_ptr<const ServiceSnapshot> snapshot_;
};

}  // namespace casewatch
