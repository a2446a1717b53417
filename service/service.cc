#include "service/service.h"

#include <malloc.h>

#include <unistd.h>

#include <chrono>
#include <map>
#include <set>

#include <spdlog/spdlog.h>

#include "config/as_of.h"
#include "integrations/json_text.h"
#include "integrations/log.h"
#include "integrations/utf8.h"
#include "notify/receivers/receiver.h"
#include "rules/parallel.h"

namespace casewatch {
namespace {

std::string change_verb(AlertChange::Kind kind) {
  switch (kind) {
    case AlertChange::Kind::Pending: return "pending";
    case AlertChange::Kind::Fired: return "firing";
    case AlertChange::Kind::SeverityChanged: return "severity changed";
    case AlertChange::Kind::Updated: return "updated";
    case AlertChange::Kind::Resolved: return "resolved";
  }
  return "?";
}

// Each transition at debug, with the alert's key (a child's identifier: central logging at info
// must not carry it); at info, how many of each per rule.
void log_changes(const std::vector<AlertChange>& changes) {
  std::map<std::string, std::map<std::string, size_t>> counts;  // rule -> verb -> count
  for (const AlertChange& change : changes) {
    if (change.kind == AlertChange::Kind::Updated) continue;
    LogContext context{{"rule", change.alert.rule}, {"key", change.alert.key}};
    spdlog::debug("alert {} ({})", change_verb(change.kind), severity_name(change.alert.severity));
    ++counts[change.alert.rule][change_verb(change.kind)];
  }
  for (const auto& [rule, verbs] : counts) {
    std::string text;
    for (const auto& [verb, n] : verbs) text += (text.empty() ? "" : ", ") + std::to_string(n) + " " + verb;
    LogContext context{{"rule", rule}};
    spdlog::info("alerts: {}", text);
  }
}

// Loads at once: a worker for each feed's load and one for a stopped load still letting go of its
// source, so that no feed waits behind others that stall (workers are made only when needed).
size_t load_threads_for(const Config& config) { return 2 * config.feeds.size() + 2; }

std::function<void()> feed_loaded_callback(std::shared_ptr<std::function<void()>> callback) {
  return [callback] {
    if (*callback) (*callback)();
  };
}

Rule make_feed_unhealthy_rule() {
  Rule rule;
  rule.spec.name = kFeedUnhealthyRule;
  rule.spec.kind = RuleKind::Condition;
  rule.spec.severity = Severity::Critical;
  rule.spec.description = "A feed is down (its last load was refused or its source is missing) or stale.";
  return rule;
}

}  // namespace

std::string_view rule_health_name(RuleHealth health) {
  switch (health) {
    case RuleHealth::Unknown: return "unknown";
    case RuleHealth::Ok: return "ok";
    case RuleHealth::Err: return "err";
  }
  return "?";
}

Service::Service(std::shared_ptr<const Config> config, const Clock& clock, std::unique_ptr<AlertStore> alerts,
                 std::unique_ptr<Outbox> outbox, std::shared_ptr<Metrics> metrics)
    : config_(std::move(config)),
      clock_(clock),
      alert_store_(std::move(alerts)),
      outbox_(std::move(outbox)),
      metrics_(std::move(metrics)),
      load_pool_(std::make_shared<LoadPool>(load_threads_for(*config_))),
      feeds_(std::make_unique<FeedSet>(config_, load_pool_, feed_loaded_callback(feed_loaded_))),
      feed_unhealthy_rule_(make_feed_unhealthy_rule()),
      rule_inputs_(config_->rules.size()),
      rule_values_(config_->rules.size()),
      cache_(config_->rules.size()),
      silences_(*alert_store_, random_id),
      dispatcher_(std::make_unique<Dispatcher>(*config_, external_url(), random_id)) {
  for (const Rule& rule : config_->rules)
    rule_status_.push_back({rule.spec.name, std::string(rule_kind_name(rule.spec.kind)), rule.spec.feed});
  metrics_->config_reloaded(true, clock_.now());  // the first load counts, as in Prometheus
  publish(rule_status_);
}

Status Service::restore() {
  auto alerts = alert_store_->load_alerts();
  if (!alerts.ok()) return Status::error("cannot read the alerts: " + alerts.message());
  std::set<std::string> rules = {kFeedUnhealthyRule};
  for (const Rule& rule : config_->rules) rules.insert(rule.spec.name);
  size_t restored = 0;
  for (Alert& alert : *alerts)
    if (rules.count(alert.rule)) {
      book_.restore(std::move(alert));
      ++restored;
    }
  spdlog::info("restored {} alerts from the state store", restored);
  auto groups = outbox_->load_groups();
  if (!groups.ok()) return Status::error("cannot read the notification groups: " + groups.message());
  dispatcher_->restore(std::move(*groups));
  if (Status s = silences_.restore(); !s.ok()) return Status::error("cannot read the silences: " + s.message());
  auto counts = alert_store_->load_documents("feed_counts");
  if (!counts.ok()) return Status::error("cannot read the feeds' last record counts: " + counts.message());
  std::vector<FeedSet::AcceptedCount> remembered;
  for (const std::string& text : *counts) {
    auto j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("records") || !j["records"].is_number_unsigned()) continue;
    remembered.push_back({j.value("feed", ""), j.value("definition", ""), j["records"].get<size_t>()});
  }
  feeds_->remember(remembered);
  auto history = alert_store_->load_documents("value_history");
  if (!history.ok()) return Status::error("cannot read the value history: " + history.message());
  for (const std::string& text : *history) {
    auto j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object()) continue;  // a damaged entry loses a sparkline, nothing else
    ValueSeries series{j.value("rule", ""), j.value("key", ""), j.value("team", ""), j.value("unit", ""), {}};
    if (j.contains("days") && j["days"].is_object())
      for (const auto& [date, value] : j["days"].items())
        if (auto day = parse_iso_date(date); day && value.is_number()) series.days[*day] = value.get<double>();
    value_history_[{series.rule, series.key}] = std::move(series);
  }
  return {};
}

void Service::forget_evaluation(size_t rule) {
  rule_inputs_[rule].reset();
  if (!rule_values_[rule].empty()) {
    rule_values_[rule].clear();  // no value rather than a stale one
    ++values_version_;
  }
}

void Service::record_values(Day today, const std::vector<size_t>& rules) {
  std::set<std::pair<std::string, std::string>> changed;
  for (size_t rule : rules)
  for (const GroupValue& v : rule_values_[rule]) {
    if (!v.value) continue;
    const RuleSpec& spec = config_->rules[v.rule].spec;
    auto [it, inserted] = value_history_.try_emplace({spec.name, v.key});
    ValueSeries& series = it->second;
    if (inserted) {
      series.rule = spec.name;
      series.key = v.key;
      for (const auto& [name, value] : v.group)
        if (name == "team") series.team = value_to_text(value.view());
      // A rule without a team field may name its team as a fixed label ("All teams").
      if (series.team.empty())
        for (const auto& [label, text] : spec.labels)
          if (label == "team" && text.find("{{") == std::string::npos) series.team = text;
    }
    series.unit = spec.unit;
    auto day = series.days.find(today);
    if (day != series.days.end() && day->second == *v.value) continue;
    series.days[today] = *v.value;
    series.days.erase(series.days.begin(), series.days.lower_bound(today - kValueHistoryDays));
    changed.insert(it->first);
  }
  for (const auto& id : changed) {
    const ValueSeries& series = value_history_[id];
    nlohmann::json days = nlohmann::json::object();
    for (const auto& [day, value] : series.days) days[format_iso(day)] = value;
    nlohmann::json j = {{"rule", series.rule}, {"key", series.key}, {"team", series.team}, {"unit", series.unit}, {"days", days}};
    state_written(alert_store_->put_document("value_history", series.rule + "\n" + series.key, json_text(j)),
                  "could not save the value history");
  }
  if (changed.empty() && published_history_) return;
  auto published = std::make_shared<std::vector<ValueSeries>>();
  for (const auto& [id, series] : value_history_)
    if (config_->rule_index(series.rule) >= 0) published->push_back(series);
  published_history_ = std::move(published);
}

void Service::update_forecast(const EvaluationInput& input) {
  std::vector<uint64_t> ids;
  for (const Table* t : input.feeds) ids.push_back(t ? t->id() : 0);
  if (forecast_ && forecast_day_ == input.as_of && ids == forecast_tables_) return;
  forecast_ = std::make_shared<const std::vector<ForecastCount>>(forecast(input, input.as_of, input.as_of + kForecastDays - 1));
  forecast_day_ = input.as_of;
  forecast_tables_ = std::move(ids);
}

void Service::state_written(const Status& status, std::string_view what) {
  if (status.ok()) {
    state_error_.clear();
    return;
  }
  state_error_ = std::string(what) + ": " + status.message();
  metrics_->state_write_failed();
  spdlog::error("state store: {}", state_error_);
}

std::string external_url_of(const Config& config, const std::string& listening) {
  if (!config.server.external_url.empty()) return config.server.external_url;
  std::string address = listening.empty() ? config.server.listen : listening;
  const size_t colon = address.rfind(':');
  std::string host = colon == std::string::npos ? address : address.substr(0, colon);
  const std::string port = colon == std::string::npos ? "" : address.substr(colon);
  if (host.empty() || host == "0.0.0.0" || host == "[::]" || host == "::") {
    char name[256] = {};
    host = ::gethostname(name, sizeof name - 1) == 0 && name[0] ? name : "localhost";
  }
  return (config.server.tls_cert_file.empty() ? "http://" : "https://") + host + port + "/";
}

std::string Service::external_url() const { return external_url_of(*config_, listening_); }

void Service::set_listening(std::string address) {
  listening_ = std::move(address);
  dispatcher_->set_external_url(external_url());
}

void Service::dispatch(bool after_evaluation) {
  const int64_t now = clock_.now();
  if (alert_pointers_version_ != book_.version()) {
    alert_pointers_.clear();
    for (const auto& [fp, alert] : book_.alerts()) alert_pointers_.push_back(&alert);
    alert_pointers_version_ = book_.version();
  }
  const std::vector<const Alert*>& alerts = alert_pointers_;
  silenced_ = silences_.apply(alerts, now);
  if (config_->routes.empty()) {
    resolved_since_dispatch_.clear();
    return;
  }
  AsOf local = as_of_instant(now, config_->engine.timezone);
  DispatchInput input;
  input.alerts = alerts;
  input.silenced = silenced_;
  input.acknowledged = &silences_.acks();
  input.resolved = std::move(resolved_since_dispatch_);
  resolved_since_dispatch_.clear();
  input.now = now;
  input.today = local.day;
  int64_t local_seconds = now + local.utc_offset_seconds;
  input.minute_of_day = static_cast<int>(((local_seconds % 86400) + 86400) % 86400 / 60);
  input.after_evaluation = after_evaluation;
  input.alertmanager_ends_in = 4 * std::max<int64_t>(60, config_->engine.evaluation_interval_seconds);
  DispatchOutput output = dispatcher_->tick(input);
  // What is logged once they are committed: the notifications themselves move into the outbox.
  struct Queued {
    std::string id, receiver, group_key;
    size_t alerts;
  };
  std::vector<Queued> queued;
  std::vector<OutboxEntry> entries;
  for (Notification& n : output.notifications) {
    queued.push_back({n.id, n.receiver, n.group_key, n.alerts.size()});
    std::vector<std::string> targets = {""};
    for (const ReceiverConfig& r : config_->receivers)
      if (r.name == n.receiver) targets = receiver_targets(r);
    auto more = outbox_entries(std::move(n), targets);
    entries.insert(entries.end(), std::make_move_iterator(more.begin()), std::make_move_iterator(more.end()));
  }
  Status committed = outbox_->commit(output.changed_groups, output.deleted_groups, std::move(entries));
  state_written(committed, "could not commit " + std::to_string(queued.size()) + " notifications");
  if (!committed.ok()) return;
  for (const Queued& n : queued) {
    LogContext context{{"notification", n.id}, {"receiver", n.receiver}};
    spdlog::info("notification queued: {} alerts", n.alerts);
    spdlog::debug("notification group: {}", n.group_key);  // group labels may name a child
  }
  if (!queued.empty() && on_enqueued_) on_enqueued_();
}

Status Service::acknowledge(const std::string& fingerprint, const std::string& created_by, const std::string& comment) {
  auto it = book_.alerts().find(fingerprint);
  if (it == book_.alerts().end()) return Status::not_found("no such alert");
  if (Status s = silences_.acknowledge(it->second, created_by, comment, clock_.now()); !s.ok()) return s;
  // Who took which rule's alert, for the audit trail; its key (a child's record) stays out.
  spdlog::info("an alert of rule {} acknowledged by '{}'", it->second.rule, created_by);
  dispatch(false);
  publish(rule_status_);
  return {};
}

void Service::feeds_refreshed(const FeedSet::Refreshed& refreshed) {
  for (const auto& [feed, seconds] : refreshed.load_seconds) metrics_->observe_feed_load(feed, seconds);
  if (!refreshed.loaded) return;  // a failed save is tried again at the next load, not at every poll
  for (const FeedSet::AcceptedCount& count : feeds_->unsaved_counts()) {
    nlohmann::json j = {{"feed", count.feed}, {"definition", count.definition}, {"records", count.records}};
    const Status saved = alert_store_->put_document("feed_counts", count.feed, json_text(j));
    state_written(saved, "could not save a feed's record count");
    if (saved.ok()) feeds_->count_saved(count);
  }
}

bool Service::poll_feeds() {
  // A feed that went down shows at once (its alert, /api/v1/feeds, casewatch_feed_up), not at the
  // next evaluation.
  FeedSet::Refreshed refreshed = feeds_->poll(clock_.now());
  feeds_refreshed(refreshed);
  const bool evaluate_now = evaluated_once_ && (refreshed.snapshots || refreshed.status);
  if (refreshed.loaded && !evaluate_now) give_back_freed_memory();  // the same bytes again, read and dropped
  // A load that started shows at once (loading_since, its metric): a slow source is seen before
  // its deadline.
  if (!evaluate_now && (refreshed.status || refreshed.started)) publish(rule_status_);
  return evaluate_now;
}

std::vector<std::string> Service::feeds_not_settled() const { return feeds_->first_loads_under_way(); }

void Service::stop_loads(const std::string& reason, std::chrono::milliseconds timeout) {
  feeds_->cancel(reason);
  if (!load_pool_->stop(timeout)) spdlog::error("a feed load did not stop within {} ms; exiting without it", timeout.count());
}

void Service::give_back_freed_memory() {
  // glibc keeps freed pages resident unless asked: asked after a round has dropped a snapshot or a
  // generation of results and alerts, the resident memory between rounds is what the daemon holds,
  // not its last peak.
  ::malloc_trim(0);
}

Presence Service::presence_of(const Rule& rule, const Table& table, const EvaluationResult& result) {
  if (rule.spec.kind == RuleKind::Aggregate) {
    auto groups = std::make_shared<std::unordered_set<std::string_view>>();
    return [&result, groups](std::string_view key) {
      if (groups->empty())
        for (const GroupValue& g : result.values) groups->insert(g.key);
      return groups->count(key) > 0 ? KeyPresence::Present : KeyPresence::Absent;
    };
  }
  // The record keys of a snapshot, gathered the first time an alert of one of its rules goes
  // unmatched (rarely: when a case is done or its record leaves the extract).
  return [this, &table](std::string_view key) {
    auto [it, inserted] = record_keys_.try_emplace(table.id());
    if (inserted)
      for (size_t row = 0; row < table.rows(); ++row) it->second.insert(table.key(row));
    if (it->second.count(key) > 0) return KeyPresence::Present;
    return table.has_rejected_key(key) ? KeyPresence::Rejected : KeyPresence::Absent;
  };
}

void Service::evaluate(FeedLoads loads) {
  const auto round_started = std::chrono::steady_clock::now();
  // Each phase's share of the round, for the debug log: where a slow round goes.
  auto lap_started = round_started;
  std::string phases;
  auto lap = [&](const char* phase) {
    auto at = std::chrono::steady_clock::now();
    phases += fmt::format(" {} {:.3f} s", phase, std::chrono::duration<double>(at - lap_started).count());
    lap_started = at;
  };
  const int64_t now = clock_.now();
  record_keys_.clear();
  const FeedSet::Refreshed refreshed =
      loads == FeedLoads::Poll ? feeds_->poll(now) : feeds_->refresh(now, loads == FeedLoads::Reload);
  feeds_refreshed(refreshed);
  const bool loaded = refreshed.loaded;
  lap("feeds");
  const Config& config = *config_;
  AsOf as_of = as_of_instant(now, config.engine.timezone);
  std::vector<const Table*> tables = feeds_->snapshots();
  EvaluationInput input{config.rules, tables, as_of.day, config.calendar.get(), config.tables.get(), &cache_};

  // The rules first evaluate side by side; their alerts then change one rule at a time.
  struct Outcome {
    EvaluationResult result;
    std::vector<std::shared_ptr<const MatchText>> texts;  // of result.matches, rendered on the rule's core
    std::string error;
    double seconds = 0;
  };
  std::vector<Outcome> outcomes(config.rules.size());
  // A rule whose snapshot and as-of date are those of its last evaluation gives what it gave then
  // (the engine is pure): it is not evaluated again, and its alerts only move on in time.
  auto inputs_of = [&](size_t i) { return RuleInputs{tables[config.rules[i].feed]->id(), as_of.day}; };
  std::vector<size_t> order;
  for (size_t i : evaluation_order(input))
    if (config.rules[i].spec.enabled && tables[config.rules[i].feed] &&
        !(rule_inputs_[i] && *rule_inputs_[i] == inputs_of(i) && inputs_of(i).table_id != 0))
      order.push_back(i);
  parallel_for_each(order, [&](size_t i) {
    auto started = std::chrono::steady_clock::now();
    try {
      evaluate_rule(input, i, outcomes[i].result);
      outcomes[i].texts.reserve(outcomes[i].result.matches.size());
      for (const Match& m : outcomes[i].result.matches) outcomes[i].texts.push_back(shared_match_text(input, m));
    } catch (const std::exception& e) {
      outcomes[i].error = e.what();
    }
    outcomes[i].seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  });
  lap("rules");
  std::vector<bool> evaluated(config.rules.size());
  for (size_t i : order) evaluated[i] = true;

  std::vector<AlertChange> changes;
  std::vector<size_t> new_values;
  for (size_t i = 0; i < config.rules.size(); ++i) {
    const Rule& rule = config.rules[i];
    RuleStatus& status = rule_status_[i];
    if (!rule.spec.enabled) continue;
    status.last_evaluation = now;
    if (!tables[rule.feed]) {
      // No snapshot yet: the rule cannot say anything, and its alerts stay as they were.
      status.health = RuleHealth::Err;
      status.last_error = "feed '" + rule.spec.feed + "' has no snapshot";
      forget_evaluation(i);
      metrics_->observe_rule_evaluation(rule.spec.name, 0, true);
      continue;
    }
    const int64_t grace = config.feeds[rule.feed].resolve_missing_after_seconds;
    if (!evaluated[i]) {
      auto started = std::chrono::steady_clock::now();
      auto rule_changes = book_.advance(rule, now, grace);
      changes.insert(changes.end(), std::make_move_iterator(rule_changes.begin()), std::make_move_iterator(rule_changes.end()));
      metrics_->observe_rule_evaluation(
          rule.spec.name, std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count(), false);
      continue;
    }
    EvaluationResult& result = outcomes[i].result;
    if (!outcomes[i].error.empty()) {
      status.health = RuleHealth::Err;
      status.last_error = outcomes[i].error;
      forget_evaluation(i);
      metrics_->observe_rule_evaluation(rule.spec.name, 0, true);
      LogContext context{{"rule", rule.spec.name}};
      spdlog::error("evaluation failed: {}", outcomes[i].error);
      continue;
    }
    const double seconds = outcomes[i].seconds;
    status.health = RuleHealth::Ok;
    status.last_error.clear();
    status.duration_seconds = seconds;
    status.matches = result.matches.size();
    metrics_->observe_rule_evaluation(rule.spec.name, seconds, false);
    auto rule_changes = book_.apply(rule, result.matches, outcomes[i].texts, now, presence_of(rule, *tables[rule.feed], result), grace);
    changes.insert(changes.end(), std::make_move_iterator(rule_changes.begin()), std::make_move_iterator(rule_changes.end()));
    rule_inputs_[i] = inputs_of(i);
    if (rule.spec.export_value) {
      rule_values_[i] = std::move(result.values);
      new_values.push_back(i);
      ++values_version_;
    }
  }

  // The built-in alert for feeds that are down or stale.
  std::vector<Match> feed_matches;
  std::vector<std::shared_ptr<const MatchText>> feed_texts;
  for (const FeedStatus& feed : feeds_->status(now)) {
    if (feed.up) continue;
    // A first load under way has failed at nothing yet (past its load_timeout it is down).
    if (!feed.stale && feed.last_error.empty() && feed.loading_since != 0) continue;
    Match m;
    m.key = feed.name;
    m.severity = Severity::Critical;
    feed_matches.push_back(std::move(m));
    feed_texts.push_back(std::make_shared<const MatchText>(MatchText{
        {{"alertname", kFeedUnhealthyRule}, {"key", feed.name}, {"severity", "critical"}, {"feed", feed.name}},
        {{"summary", feed.stale ? "feed " + feed.name + " is stale: no successful load within max_age"
                                : "feed " + feed.name + " is down: " + feed.last_error}}}));
  }
  auto feed_changes = book_.apply(feed_unhealthy_rule_, feed_matches, feed_texts, now);
  changes.insert(changes.end(), feed_changes.begin(), feed_changes.end());

  lap("alert book");
  for (const AlertChange& change : changes)
    if (change.kind == AlertChange::Kind::Resolved) resolved_since_dispatch_.insert(change.alert.fingerprint);
  log_changes(changes);
  state_written(alert_store_->save(changes), "could not save " + std::to_string(changes.size()) + " alert changes");
  lap("state");
  evaluated_once_ = true;
  last_round_ = round_started;
  today_ = as_of.day;
  record_values(as_of.day, new_values);
  lap("values");
  update_forecast(input);
  lap("forecast");
  dispatch(true);
  lap("dispatch");
  publish(rule_status_);
  lap("publish");
  if (loaded || !order.empty()) {
    give_back_freed_memory();
    lap("trim");
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - round_started).count();
  metrics_->observe_evaluation(seconds);
  spdlog::debug("evaluation round {:.3f} s:{}", seconds, phases);
}

void Service::reload_refused() { metrics_->config_reloaded(false, clock_.now()); }

void Service::reload(std::shared_ptr<const Config> config) {
  const int64_t now = clock_.now();
  load_pool_->set_max_threads(load_threads_for(*config));
  auto feeds = std::make_unique<FeedSet>(config, load_pool_, feed_loaded_callback(feed_loaded_));
  feeds->adopt(*feeds_);
  std::vector<std::string> names = {kFeedUnhealthyRule};
  for (const Rule& rule : config->rules) names.push_back(rule.spec.name);
  auto changes = book_.drop_rules_except(names, now);
  state_written(alert_store_->save(changes), "could not save " + std::to_string(changes.size()) + " alert changes");
  std::vector<RuleStatus> status;
  for (const Rule& rule : config->rules) {
    RuleStatus s{rule.spec.name, std::string(rule_kind_name(rule.spec.kind)), rule.spec.feed};
    for (const RuleStatus& old : rule_status_)
      if (old.name == s.name && old.kind == s.kind && old.feed == s.feed) s = old;
    status.push_back(std::move(s));
  }
  rule_status_ = std::move(status);
  auto dispatcher = std::make_unique<Dispatcher>(*config, external_url_of(*config, listening_), random_id);
  dispatcher->adopt(*dispatcher_);
  dispatcher_ = std::move(dispatcher);
  feeds_ = std::move(feeds);  // before config_: the old feeds point into the old config
  config_ = std::move(config);
  cache_ = EvaluationCache(config_->rules.size());
  rule_inputs_.assign(config_->rules.size(), std::nullopt);
  rule_values_.assign(config_->rules.size(), {});
  ++values_version_;
  alerts_family_.reset();       // its zero series come from the rules
  forecast_.reset();            // worked out again for the new rules
  published_history_.reset();
  metrics_->config_reloaded(true, now);
  spdlog::info("configuration reloaded: {} feeds, {} rules", config_->feeds.size(), config_->rules.size());
  publish(rule_status_);
}

std::shared_ptr<const ServiceSnapshot> Service::snapshot() const {
  std::lock_guard lock(mutex_);
  return snapshot_;
}

void Service::publish(std::vector<RuleStatus> rules) {
  auto snapshot = std::make_shared<ServiceSnapshot>();
  snapshot->ready = evaluated_once_;
  snapshot->evaluated_at = clock_.now();
  snapshot->round_at = last_round_;
  snapshot->evaluation_interval_seconds = config_->engine.evaluation_interval_seconds;
  if (!evaluated_once_) snapshot->feeds_loading_first = feeds_->first_loads_under_way();
  snapshot->timezone = config_->engine.timezone;
  if (published_version_ != book_.version()) {
    // Each copy shares its alert's text (one pointer).
    auto alerts = std::make_shared<std::vector<Alert>>();
    alerts->reserve(book_.alerts().size());
    for (const auto& [fingerprint, alert] : book_.alerts()) alerts->push_back(alert);
    published_alerts_ = std::move(alerts);
    published_version_ = book_.version();
  }
  if (published_teams_version_ != book_.change_version()) {  // labels change only with a change
    std::set<std::string_view> teams;
    for (const auto& [fingerprint, alert] : book_.alerts()) {
      auto team = alert.labels().find("team");
      if (team != alert.labels().end()) teams.emplace(team->second);
    }
    published_teams_.assign(teams.begin(), teams.end());
    published_teams_version_ = book_.change_version();
  }
  snapshot->alerts = published_alerts_;
  snapshot->alert_teams = published_teams_;
  snapshot->rules = std::move(rules);
  snapshot->silenced = silenced_;
  for (const auto& [fingerprint, ack] : silences_.acks())
    if (silenced_.count(fingerprint)) snapshot->acknowledged.emplace(fingerprint, ack);
  snapshot->covering_everything = silences_.covering_everything(clock_.now());
  snapshot->state_error = state_error_;
  snapshot->feeds = feeds_->status(snapshot->evaluated_at);
  snapshot->config = config_;
  snapshot->today = today_;
  snapshot->value_history = published_history_;
  snapshot->forecast = forecast_;
  metrics_->set_dynamic(dynamic_metrics(*snapshot));
  std::lock_guard lock(mutex_);
  snapshot_ = std::move(snapshot);
}

std::vector<std::shared_ptr<const prometheus::MetricFamily>> Service::dynamic_metrics(const ServiceSnapshot& s) {
  using Labels = std::vector<prometheus::ClientMetric::Label>;
  std::vector<std::shared_ptr<const prometheus::MetricFamily>> out;
  // The counts read rules, severities, states and labels: a new text alone leaves them as they were.
  if (!alerts_family_ || alerts_family_version_ != book_.change_version() || alerts_family_silenced_ != s.silenced) {
    alerts_family_ = std::make_shared<const prometheus::MetricFamily>(alert_counts(s));
    alerts_family_version_ = book_.change_version();
    alerts_family_silenced_ = s.silenced;
  }
  out.push_back(alerts_family_);
  if (!values_family_ || values_family_version_ != values_version_) {
    auto rule_values = gauge_family("casewatch_rule_value", "The value of an exported aggregate rule, by group.");
    for (const auto& values : rule_values_)
      for (const GroupValue& v : values) {
        if (!v.value) continue;
        const RuleSpec& spec = config_->rules[v.rule].spec;
        Labels labels = {{"rule", spec.name}};
        if (!spec.unit.empty()) labels.push_back({"unit", spec.unit});
        for (const auto& [name, value] : v.group) labels.push_back({name, valid_utf8(value_to_text(value.view()))});
        add_sample(rule_values, labels, *v.value);
      }
    values_family_ = std::make_shared<const prometheus::MetricFamily>(std::move(rule_values));
    values_family_version_ = values_version_;
  }
  out.push_back(values_family_);

  auto last_eval = gauge_family("casewatch_rule_last_evaluation_timestamp_seconds", "When the rule was last evaluated.");
  for (const RuleStatus& r : s.rules) add_sample(last_eval, {{"rule", r.name}}, static_cast<double>(r.last_evaluation));
  out.push_back(std::make_shared<const prometheus::MetricFamily>(std::move(last_eval)));

  auto up = gauge_family("casewatch_feed_up", "1 when the feed's last load was accepted and it is not stale.");
  auto records = gauge_family("casewatch_feed_records", "Records in the feed's snapshot in force.");
  auto rejected = counter_family("casewatch_feed_rows_rejected_total", "Rows rejected by the feed's loads.");
  auto success = gauge_family("casewatch_feed_last_success_timestamp_seconds",
                              "When the feed last loaded new data successfully (an unchanged re-read does not count).");
  auto source = gauge_family("casewatch_feed_source_timestamp_seconds",
                             "When the source of the feed's snapshot last changed (a file's modification time).");
  auto load_started = gauge_family("casewatch_feed_load_started_timestamp_seconds",
                                   "When the feed's load under way started; 0 while none is.");
  for (const FeedStatus& f : s.feeds) {
    add_sample(load_started, {{"feed", f.name}}, static_cast<double>(f.loading_since));
    add_sample(up, {{"feed", f.name}}, f.up ? 1 : 0);
    add_sample(records, {{"feed", f.name}}, static_cast<double>(f.records));
    add_sample(rejected, {{"feed", f.name}}, static_cast<double>(f.rejected_total));
    add_sample(success, {{"feed", f.name}}, static_cast<double>(f.last_success));
    add_sample(source, {{"feed", f.name}}, static_cast<double>(f.source_time));
  }
  for (auto* family : {&up, &records, &rejected, &success, &source, &load_started})
    out.push_back(std::make_shared<const prometheus::MetricFamily>(std::move(*family)));
  return out;
}

prometheus::MetricFamily Service::alert_counts(const ServiceSnapshot& s) {
  using Labels = std::vector<prometheus::ClientMetric::Label>;
  auto alerts = gauge_family("casewatch_alerts", "Alerts by rule, severity and state.");
  std::map<Labels, double> counts;
  // A 0 for every severity and state of every rule, and for every combination of its metric
  // labels' known values ([metrics] known_label_values) when each of them has some.
  for (const Rule& rule : config_->rules) {
    std::vector<Labels> combinations = {{}};
    for (const std::string& name : rule.spec.metric_labels) {
      auto known = config_->metrics.known_label_values.find(name);
      if (known == config_->metrics.known_label_values.end()) {
        combinations.clear();
        break;
      }
      std::vector<Labels> longer;
      for (const Labels& prefix : combinations)
        for (const std::string& value : known->second) {
          longer.push_back(prefix);
          longer.back().push_back({name, valid_utf8(value)});
        }
      combinations = std::move(longer);
    }
    std::vector<Severity> severities = rule.spec.kind == RuleKind::Deadline
                                           ? std::vector<Severity>{Severity::Warning, Severity::Critical}
                                           : std::vector<Severity>{rule.spec.severity};
    for (const Labels& extra : combinations)
      for (Severity severity : severities)
        for (const char* state : {"pending", "firing", "silenced"}) {
          Labels labels = {{"rule", rule.spec.name}, {"severity", std::string(severity_name(severity))}, {"state", state}};
          labels.insert(labels.end(), extra.begin(), extra.end());
          counts[labels] = 0;
        }
  }
  for (const Labels& labels : alert_series_seen_)
    if (config_->rule_index(labels.front().value) >= 0) counts.emplace(labels, 0);
  // Counted first under a flat key (rule, severity, state, each metric label's value) built in one
  // reused buffer, then turned into labels once per series: no strings made per alert.
  auto state_of = [&](const Alert& alert) {
    return s.silenced.count(alert.fingerprint) ? std::string_view("silenced") : alert_state_name(alert.state);
  };
  std::unordered_map<std::string, std::pair<const Alert*, double>> series;
  std::string flat;
  auto add = [&flat](std::string_view piece) {  // length first: a value holding any byte stays apart
    const auto size = static_cast<uint32_t>(piece.size());
    flat.append(reinterpret_cast<const char*>(&size), sizeof size).append(piece);
  };
  for (const Alert& alert : *s.alerts) {
    flat.clear();
    add(alert.rule);
    add(severity_name(alert.severity));
    add(state_of(alert));
    int index = config_->rule_index(alert.rule);
    if (index >= 0)
      for (const std::string& name : config_->rules[index].spec.metric_labels) add(alert.labels().value_or_empty(name));
    auto it = series.find(flat);
    if (it == series.end()) it = series.emplace(flat, std::pair<const Alert*, double>{&alert, 0}).first;
    it->second.second += 1;
  }
  for (const auto& [key, counted] : series) {
    const Alert& alert = *counted.first;
    Labels labels = {{"rule", alert.rule},
                     {"severity", std::string(severity_name(alert.severity))},
                     {"state", std::string(state_of(alert))}};
    int index = config_->rule_index(alert.rule);
    if (index >= 0)
      for (const std::string& name : config_->rules[index].spec.metric_labels)
        labels.push_back({name, valid_utf8(alert.labels().value_or_empty(name))});
    counts[labels] += counted.second;
  }
  for (auto& [labels, count] : counts) {
    add_sample(alerts, labels, count);
    alert_series_seen_.insert(labels);
  }
  return alerts;
}

}  // namespace casewatch
