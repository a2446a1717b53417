// Delivery: takes the notifications due from the outbox and hands them to their receivers,
// each receiver on a worker thread of its own with its own backoff, so that one receiver that
// fails or hangs (an SMTP server that never answers) never delays another. At least once: an
// entry leaves the outbox only when its receiver accepted it, or gave up on it for good; retries
// use capped exponential backoff and keep the notification's id. stop() abandons sends still
// under way after its deadline: they stay in the outbox and go after the restart.
// Thread-safe: kick, set_receivers and stop may be called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "notify/clock.h"
#include "notify/receivers/receiver.h"
#include "notify/state.h"

namespace casewatch {

struct BackoffPolicy {
  int64_t first_seconds = 10;
  int64_t max_seconds = 600;
  int64_t delay(int attempts) const;  // after `attempts` failures
};

// What delivery reports, for the metrics.
struct DeliveryReport {
  std::function<void(const std::string& receiver, std::string_view outcome)> count;  // sent, failed, dropped
  std::function<void(const std::string& receiver, double size)> queue;
};

class Delivery {
 public:
  Delivery(Outbox& outbox, const Clock& clock, DeliveryReport report, BackoffPolicy backoff = {});
  ~Delivery();

  // The receivers to deliver to (at start, and after a reload): a worker for each new one.
  void set_receivers(std::shared_ptr<const Receivers> receivers);
  void start();
  // New work may be due (after a dispatch, or when the test clock moved).
  void kick();
  // Stops every worker; sends still under way after `deadline` are abandoned.
  void stop(std::chrono::milliseconds deadline = std::chrono::seconds(2));
  // Delivers everything due now, every receiver: once started, by asking each worker for a pass
  // and waiting (at most `wait`) for them, so a hung receiver holds up no other; before start, on
  // the calling thread. Returns how many entries were attempted.
  size_t run_once(std::chrono::milliseconds wait = std::chrono::seconds(2));

 private:
  struct Worker {
    std::string receiver;
    std::thread thread;
    std::mutex mutex;  // one delivery pass at a time for this receiver
    std::condition_variable wake;
    std::atomic<bool> kicked{false};  // may be set without `mutex` (a late wake is caught within a second)
    std::atomic<bool> stopping{false};  // set without `mutex`: a send under way holds it
    uint64_t done_generation = 0;        // the last run_once generation this worker's pass covered
    size_t attempted = 0;                // entries attempted in that pass
  };
  void loop(Worker& worker);
  size_t deliver_due(const std::string& receiver);
  void report_queues(std::set<std::string> receivers);
  std::set<std::string> worker_names();  // with mutex_ held

  Outbox& outbox_;
  const Clock& clock_;
  DeliveryReport report_;
  BackoffPolicy backoff_;
  std::atomic<bool> cancel_{false};
  std::mutex mutex_;  // receivers_ and workers_
  std::shared_ptr<const Receivers> receivers_;
  std::map<std::string, std::unique_ptr<Worker>> workers_;
  bool started_ = false;
  std::atomic<uint64_t> generation_{0};  // run_once's requests
  std::condition_variable passes_;        // a worker finished a pass (with mutex_)
};

}  // namespace casewatch
