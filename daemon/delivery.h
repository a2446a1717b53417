// The delivery worker: takes due notifications from the outbox and hands them to their
// receivers, on a thread of its own (sending blocks on the network). At least once: an entry
// leaves the outbox only when its receiver accepted it, or gave up on it for good. Retries use
// capped exponential backoff and keep the notification's id.
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

#include "daemon/clock.h"
#include "daemon/metrics.h"
#include "daemon/receivers.h"
#include "daemon/state_store.h"

namespace casewatch {

struct BackoffPolicy {
  int64_t first_seconds = 10;
  int64_t max_seconds = 600;
  int64_t delay(int attempts) const;  // after `attempts` failures
};

class DeliveryWorker {
 public:
  DeliveryWorker(std::unique_ptr<StateStore> store, std::shared_ptr<const Receivers> receivers, const Clock& clock,
                 std::shared_ptr<Metrics> metrics, BackoffPolicy backoff = {});
  ~DeliveryWorker();

  void start();
  void stop();
  // New work may be due (after a dispatch, or when the test clock moved).
  void kick();
  // Swaps the receivers after a reload; thread-safe.
  void set_receivers(std::shared_ptr<const Receivers> receivers);
  // Delivers everything due now on the calling thread; returns how many entries were attempted.
  size_t run_once();

 private:
  void loop();

  std::unique_ptr<StateStore> store_;
  std::shared_ptr<const Receivers> receivers_;
  const Clock& clock_;
  std::shared_ptr<Metrics> metrics_;
  BackoffPolicy backoff_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool kicked_ = false;
  bool stopping_ = false;
  std::mutex run_mutex_;  // one delivery pass at a time
  std::set<std::string> queues_seen_;  // receivers whose queue gauge has been set
  std::thread thread_;
};

}  // namespace casewatch
