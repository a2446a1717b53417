// The Prometheus metrics of SPEC 10. Counters and histograms live in a prometheus-cpp registry;
// series that come and go with alerts, rules and feeds are rebuilt from each evaluation's
// snapshot. No record key or other value about a child is ever a label.
// Thread-safe: the evaluation loop writes, HTTP threads render.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/metric_family.h>
#include <prometheus/registry.h>

namespace casewatch {

class Metrics {
 public:
  Metrics();

  void observe_rule_evaluation(const std::string& rule, double seconds, bool failed);
  void observe_feed_load(const std::string& feed, double seconds);
  void config_reloaded(bool success, int64_t now);
  void count_notification(const std::string& receiver, const std::string& outcome);
  void set_queue(const std::string& receiver, double size);
  void state_write_failed();
  // The state file was found damaged at start and moved aside (--state-recover).
  void state_recovered();
  // The whole evaluation round: feeds, rules, alert book, dispatch.
  void observe_evaluation(double seconds);
  // Replaces the series rebuilt at each evaluation.
  void set_dynamic(std::vector<std::shared_ptr<const prometheus::MetricFamily>> families);

  // The Prometheus text exposition format.
  std::string render() const;

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Histogram>* durations_;
  prometheus::Family<prometheus::Counter>* failures_;
  prometheus::Family<prometheus::Histogram>* feed_loads_;
  prometheus::Family<prometheus::Counter>* notifications_;
  prometheus::Family<prometheus::Gauge>* queue_;
  prometheus::Counter* state_write_failures_;
  prometheus::Gauge* state_recovered_;
  prometheus::Histogram* evaluation_duration_;
  prometheus::Gauge* reload_success_;
  prometheus::Gauge* reload_timestamp_;
  mutable std::mutex mutex_;
  std::vector<std::shared_ptr<const prometheus::MetricFamily>> dynamic_;
};

// Helpers to build dynamic families.
prometheus::MetricFamily gauge_family(std::string name, std::string help);
prometheus::MetricFamily counter_family(std::string name, std::string help);
void add_sample(prometheus::MetricFamily& family, std::vector<prometheus::ClientMetric::Label> labels, double value);

}  // namespace casewatch
