#include "service/metrics.h"

#include <algorithm>

#include <prometheus/text_serializer.h>

#include "casewatch/version.h"
#include "integrations/utf8.h"

namespace casewatch {

Metrics::Metrics() : registry_(std::make_shared<prometheus::Registry>()) {
  prometheus::BuildGauge()
      .Name("casewatch_build_info")
      .Help("Always 1; the version label says which casewatch is running.")
      .Register(*registry_)
      .Add({{"version", CASEWATCH_VERSION}})
      .Set(1);
  durations_ = &prometheus::BuildHistogram()
                    .Name("casewatch_rule_evaluation_duration_seconds")
                    .Help("Time taken to evaluate a rule.")
                    .Register(*registry_);
  feed_loads_ = &prometheus::BuildHistogram()
                     .Name("casewatch_feed_load_duration_seconds")
                     .Help("Time taken by a feed's load, accepted, refused or stopped at its load_timeout.")
                     .Register(*registry_);
  failures_ = &prometheus::BuildCounter()
                   .Name("casewatch_rule_evaluation_failures_total")
                   .Help("Evaluations of a rule that failed.")
                   .Register(*registry_);
  notifications_ = &prometheus::BuildCounter()
                        .Name("casewatch_notifications_total")
                        .Help("Notifications by receiver and outcome (sent, failed, dropped).")
                        .Register(*registry_);
  queue_ = &prometheus::BuildGauge()
                .Name("casewatch_notification_queue")
                .Help("Notifications waiting in the outbox, by receiver.")
                .Register(*registry_);
  state_write_failures_ = &prometheus::BuildCounter()
                               .Name("casewatch_state_write_failures_total")
                               .Help("Writes to the state file (alerts, outbox) that failed.")
                               .Register(*registry_)
                               .Add({});
  state_recovered_ = &prometheus::BuildGauge()
                          .Name("casewatch_state_recovered")
                          .Help("1 when the state file was found damaged at start and moved aside (--state-recover).")
                          .Register(*registry_)
                          .Add({});
  evaluation_duration_ = &prometheus::BuildHistogram()
                              .Name("casewatch_evaluation_duration_seconds")
                              .Help("Time taken by a whole evaluation round: feeds, rules, alert book, dispatch.")
                              .Register(*registry_)
                              .Add({}, prometheus::Histogram::BucketBoundaries{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                                                               1, 2.5, 5, 10});
  auto& reload = prometheus::BuildGauge()
                     .Name("casewatch_config_last_reload_successful")
                     .Help("Whether the last configuration reload attempt was successful.")
                     .Register(*registry_);
  reload_success_ = &reload.Add({});
  auto& reload_time = prometheus::BuildGauge()
                          .Name("casewatch_config_last_reload_success_timestamp_seconds")
                          .Help("Timestamp of the last successful configuration reload.")
                          .Register(*registry_);
  reload_timestamp_ = &reload_time.Add({});
}

void Metrics::observe_rule_evaluation(const std::string& rule, double seconds, bool failed) {
  static const prometheus::Histogram::BucketBoundaries buckets = {0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5};
  durations_->Add({{"rule", rule}}, buckets).Observe(seconds);
  auto& counter = failures_->Add({{"rule", rule}});
  if (failed) counter.Increment();
}

void Metrics::observe_feed_load(const std::string& feed, double seconds) {
  static const prometheus::Histogram::BucketBoundaries buckets = {0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900};
  feed_loads_->Add({{"feed", feed}}, buckets).Observe(seconds);
}

void Metrics::config_reloaded(bool success, int64_t now) {
  reload_success_->Set(success ? 1 : 0);
  if (success) reload_timestamp_->Set(static_cast<double>(now));
}

void Metrics::count_notification(const std::string& receiver, const std::string& outcome) {
  notifications_->Add({{"receiver", receiver}, {"outcome", outcome}}).Increment();
}

void Metrics::set_queue(const std::string& receiver, double size) { queue_->Add({{"receiver", receiver}}).Set(size); }

void Metrics::state_write_failed() { state_write_failures_->Increment(); }

void Metrics::state_recovered() { state_recovered_->Set(1); }

void Metrics::observe_evaluation(double seconds) { evaluation_duration_->Observe(seconds); }

void Metrics::set_dynamic(std::vector<std::shared_ptr<const prometheus::MetricFamily>> families) {
  std::lock_guard lock(mutex_);
  dynamic_ = std::move(families);
}

std::string Metrics::render() const {
  std::vector<prometheus::MetricFamily> families = registry_->Collect();
  {
    std::lock_guard lock(mutex_);
    for (const auto& family : dynamic_) families.push_back(*family);
  }
  std::sort(families.begin(), families.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  return prometheus::TextSerializer().Serialize(families);
}

prometheus::MetricFamily gauge_family(std::string name, std::string help) {
  prometheus::MetricFamily f;
  f.name = std::move(name);
  f.help = std::move(help);
  f.type = prometheus::MetricType::Gauge;
  return f;
}

prometheus::MetricFamily counter_family(std::string name, std::string help) {
  prometheus::MetricFamily f = gauge_family(std::move(name), std::move(help));
  f.type = prometheus::MetricType::Counter;
  return f;
}

void add_sample(prometheus::MetricFamily& family, std::vector<prometheus::ClientMetric::Label> labels, double value) {
  prometheus::ClientMetric m;
  // Label values come from extracts (a team name): one byte that is not UTF-8 would make
  // Prometheus reject the whole scrape.
  for (auto& label : labels) label.value = valid_utf8(label.value);
  m.label = std::move(labels);
  if (family.type == prometheus::MetricType::Counter) m.counter.value = value;
  else m.gauge.value = value;
  family.metric.push_back(std::move(m));
}

}  // namespace casewatch
