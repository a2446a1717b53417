// The daemon's work, apart from its event loop: refresh feeds, evaluate every rule, move alerts
// through their lifecycle, persist, and publish a snapshot for the HTTP API and metrics.
// Mutating calls (evaluate, reload) come from one thread, the event loop; snapshot() and
// metrics() may be called from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <set>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "config/config.h"
#include "service/metrics.h"
#include "integrations/feed_set.h"
#include "notify/alerts.h"
#include "notify/clock.h"
#include "notify/dispatcher.h"
#include "notify/silences.h"
#include "notify/state.h"
#include "rules/forecast.h"
#include "rules/status.h"

namespace casewatch {

inline constexpr const char* kFeedUnhealthyRule = "casewatch_feed_unhealthy";

enum class RuleHealth { Unknown, Ok, Err };  // Unknown: not evaluated yet
std::string_view rule_health_name(RuleHealth health);

struct RuleStatus {
  std::string name, kind, feed;
  RuleHealth health = RuleHealth::Unknown;
  std::string last_error;
  int64_t last_evaluation = 0;
  double duration_seconds = 0;
  size_t matches = 0;
};

// An exported aggregate's value for one group, day by day (the last value of each day): the
// team page's sparklines. Kept in the state for kValueHistoryDays.
struct ValueSeries {
  std::string rule;
  std::string key;   // the group's key
  std::string team;  // its `team` field, else the rule's fixed `team` label, else ""
  std::string unit;  // the rule's
  std::map<Day, double> days;
};
inline constexpr Day kValueHistoryDays = 92;

// What the last evaluation left; immutable once published.
struct ServiceSnapshot {
  bool ready = false;               // the first evaluation is done
  int64_t evaluated_at = 0;
  // When the last round ran, on the steady clock: /-/ready tells a loop that has stopped.
  std::chrono::steady_clock::time_point round_at{};
  int64_t evaluation_interval_seconds = 300;
  std::vector<std::string> feeds_loading_first;  // before the first round: the feeds it waits for
  std::string timezone;
  std::shared_ptr<const std::vector<Alert>> alerts = std::make_shared<std::vector<Alert>>();  // by fingerprint
  std::vector<RuleStatus> rules;
  std::vector<FeedStatus> feeds;
  std::vector<std::string> alert_teams;  // distinct values of the "team" label, for the status page
  std::set<std::string> silenced;        // fingerprints silenced or acknowledged
  std::map<std::string, Ack> acknowledged;  // the acknowledged among them, by fingerprint
  std::vector<Silence> covering_everything;  // active silences over every alert: every page says so
  std::string state_error;               // the last state write that failed; "" when they succeed
  std::shared_ptr<const Config> config;  // the rules, calendar and timezone the alerts came from
  Day today = kNullDay;                  // the as-of date of the evaluation
  std::shared_ptr<const std::vector<ValueSeries>> value_history;
  // What falls due from today for kForecastDays if nothing is done (the team page's outlook).
  std::shared_ptr<const std::vector<ForecastCount>> forecast;
};
inline constexpr Day kForecastDays = 14;

// The status page's address: server.external_url, or derived from the address the server
// listens on (`listening`, HOST:PORT as bound; server.listen when empty). A wildcard host
// (0.0.0.0, [::]) becomes this machine's name.
std::string external_url_of(const Config& config, const std::string& listening = "");

class Service {
 public:
  // `alerts` and `outbox` are the service's own (on the event loop); `targets` says where a
  // receiver's notifications go (each its own outbox entry).
  Service(std::shared_ptr<const Config> config, const Clock& clock, std::unique_ptr<AlertStore> alerts,
          std::unique_ptr<Outbox> outbox, std::shared_ptr<Metrics> metrics);

  // Restores alerts, notification groups, silences and acknowledgements from the state.
  Status restore();
  std::string external_url() const;
  // The HTTP server's address once bound (the port chosen for :0, --listen's override).
  void set_listening(std::string address);
  // How a round treats the feeds' loads.
  enum class FeedLoads {
    Poll,     // take in what ended, start what is due, wait for none (the daemon's timers)
    Wait,     // start what is due and wait for every load under way (the manual test clock)
    Reload,   // load every feed again and wait (tests)
  };
  // Evaluates every rule as of now on the snapshots in force, persists the changes and publishes.
  void evaluate(FeedLoads loads = FeedLoads::Poll);
  // Takes in the feed loads that ended and starts those due, without waiting; true when a
  // snapshot or a feed's health changed (evaluate now).
  bool poll_feeds();
  // Every feed's first load has ended (or passed its deadline): the first round may run.
  bool feeds_settled() const { return feeds_->settled(); }
  // The feeds still on their first load, for the log and /-/ready while they are.
  std::vector<std::string> feeds_not_settled() const;
  // Called on a loader's thread when a feed load ends; set before the first poll. Must not block.
  void on_feed_loaded(std::function<void()> callback) { *feed_loaded_ = std::move(callback); }
  // Stops every load under way and the loaders, waiting at most `timeout` (the shutdown).
  void stop_loads(const std::string& reason, std::chrono::milliseconds timeout);
  // Routes and groups the current alerts and commits the notifications due to the outbox.
  void dispatch(bool after_evaluation);
  // Called after notifications were committed, so the delivery worker looks at once.
  void on_enqueued(std::function<void()> callback) { on_enqueued_ = std::move(callback); }

  // Silences and acknowledgements (SPEC 9); on the event loop.
  Silences& silences() { return silences_; }
  // Acknowledges the alert with `fingerprint` (not_found when there is none).
  Status acknowledge(const std::string& fingerprint, const std::string& created_by, const std::string& comment);
  // After silences changed: re-route (silenced alerts are not notified) and republish.
  void refresh_silences() {
    dispatch(false);
    publish(rule_status_);
  }
  int64_t clock_now() const { return clock_.now(); }
  // Swaps in a config loaded whole and found without error; alerts carry over to the rules that
  // still exist.
  void reload(std::shared_ptr<const Config> config);
  // A reload was refused: the old config keeps running (counted in the metrics).
  void reload_refused();

  std::shared_ptr<const ServiceSnapshot> snapshot() const;
  std::shared_ptr<const Config> config() const { return config_; }
  Metrics& metrics() { return *metrics_; }
  // Thread-safe: the outbox's delivery history, for the alert page.
  Result<std::vector<DeliveryRecord>> deliveries_of(const std::string& fingerprint) { return outbox_->deliveries_of(fingerprint); }

 private:
  void publish(std::vector<RuleStatus> rules);
  // After feed loads ended: their durations to the metrics, their new record counts to the state.
  void feeds_refreshed(const FeedSet::Refreshed& refreshed);
  // After a feed was read or rules evaluated: returns the freed pages to the system.
  void give_back_freed_memory();
  // Today's values of the exported aggregates of `rules` into value_history_, stored when they
  // changed.
  void record_values(Day today, const std::vector<size_t>& rules);
  // The rule's last evaluation no longer stands (it failed, or its feed has no snapshot).
  void forget_evaluation(size_t rule);
  // The outlook, worked out again when the day or a snapshot changed.
  void update_forecast(const EvaluationInput& input);
  // Counts and remembers a failed state write (shown in /-/ready and on the status page).
  void state_written(const Status& status, std::string_view what);
  Presence presence_of(const Rule& rule, const Table& table, const EvaluationResult& result);
  std::vector<std::shared_ptr<const prometheus::MetricFamily>> dynamic_metrics(const ServiceSnapshot& snapshot);
  prometheus::MetricFamily alert_counts(const ServiceSnapshot& snapshot);

  std::shared_ptr<const Config> config_;
  const Clock& clock_;
  std::unique_ptr<AlertStore> alert_store_;
  std::unique_ptr<Outbox> outbox_;
  std::shared_ptr<Metrics> metrics_;
  std::shared_ptr<std::function<void()>> feed_loaded_ = std::make_shared<std::function<void()>>();
  std::shared_ptr<LoadPool> load_pool_;
  std::unique_ptr<FeedSet> feeds_;
  AlertBook book_;
  Rule feed_unhealthy_rule_;
  std::vector<RuleStatus> rule_status_;
  // What a rule's last evaluation read: while it is the same, so is what it gave.
  struct RuleInputs {
    uint64_t table_id;
    Day day;
    bool operator==(const RuleInputs&) const = default;
  };
  std::vector<std::optional<RuleInputs>> rule_inputs_;  // by rule index; none: evaluate it
  std::vector<std::vector<GroupValue>> rule_values_;    // exported aggregate values, by rule index
  uint64_t values_version_ = 0;                         // grows when rule_values_ changes
  // What publish() made from the alerts at book_.version(), and the metric families from the
  // alerts (with silenced_) and the values: remade only when what they come from changed.
  std::shared_ptr<const std::vector<Alert>> published_alerts_;
  std::vector<std::string> published_teams_;
  uint64_t published_version_ = UINT64_MAX;
  uint64_t published_teams_version_ = UINT64_MAX;  // the book's change_version() they are of
  std::shared_ptr<const prometheus::MetricFamily> alerts_family_, values_family_;
  uint64_t alerts_family_version_ = UINT64_MAX, values_family_version_ = UINT64_MAX;
  std::set<std::string> alerts_family_silenced_;
  std::vector<const Alert*> alert_pointers_;  // into book_, at alert_pointers_version_
  uint64_t alert_pointers_version_ = UINT64_MAX;
  // Label sets of casewatch_alerts seen since start: each stays, at 0, once its alerts are gone,
  // so a panel or rate() sees 0 rather than a series that vanished.
  std::set<std::vector<prometheus::ClientMetric::Label>> alert_series_seen_;
  EvaluationCache cache_;           // for the rules of config_; remade with them
  std::unordered_map<uint64_t, std::unordered_set<std::string_view>> record_keys_;  // by table id, per evaluation
  bool evaluated_once_ = false;
  std::chrono::steady_clock::time_point last_round_{};
  Silences silences_;
  std::string listening_;  // the HTTP server's address as bound; "" before it is (before dispatcher_)
  std::unique_ptr<Dispatcher> dispatcher_;
  std::set<std::string> resolved_since_dispatch_;
  std::set<std::string> silenced_;
  std::function<void()> on_enqueued_;
  std::string state_error_;
  std::map<std::pair<std::string, std::string>, ValueSeries> value_history_;  // by (rule, key)
  std::shared_ptr<const std::vector<ValueSeries>> published_history_;
  Day today_ = kNullDay;
  std::shared_ptr<const std::vector<ForecastCount>> forecast_;
  std::vector<uint64_t> forecast_tables_;  // the snapshots' ids it was worked out from
  Day forecast_day_ = kNullDay;

  mutable std::mutex mutex_;
  std::shared_ptr<const ServiceSnapshot> snapshot_;
};

}  // namespace casewatch
