#include "daemon/delivery.h"

#include <spdlog/spdlog.h>

namespace casewatch {

int64_t BackoffPolicy::delay(int attempts) const {
  int64_t d = first_seconds;
  for (int i = 1; i < attempts && d < max_seconds; ++i) d *= 2;
  return std::min(d, max_seconds);
}

DeliveryWorker::DeliveryWorker(std::unique_ptr<StateStore> store, std::shared_ptr<const Receivers> receivers,
                               const Clock& clock, std::shared_ptr<Metrics> metrics, BackoffPolicy backoff)
    : store_(std::move(store)), receivers_(std::move(receivers)), clock_(clock), metrics_(std::move(metrics)), backoff_(backoff) {}

DeliveryWorker::~DeliveryWorker() { stop(); }

void DeliveryWorker::start() { thread_ = std::thread([this] { loop(); }); }

void DeliveryWorker::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void DeliveryWorker::kick() {
  {
    std::lock_guard lock(mutex_);
    kicked_ = true;
  }
  wake_.notify_all();
}

void DeliveryWorker::set_receivers(std::shared_ptr<const Receivers> receivers) {
  std::lock_guard lock(run_mutex_);
  receivers_ = std::move(receivers);
}

size_t DeliveryWorker::run_once() {
  std::lock_guard run_lock(run_mutex_);
  std::string error;
  const int64_t now = clock_.now();
  auto entries = store_->due(now, 100, error);
  if (!error.empty()) spdlog::error("outbox: {}", error);
  for (auto& entry : entries) {
    const Notification& n = entry.notification;
    const ReceiverConfig* receiver = receivers_->find(n.receiver);
    DeliveryResult result;
    if (!receiver) {
      result.permanent = true;
      result.error = "receiver '" + n.receiver + "' is no longer configured";
    } else {
      result = receivers_->deliver(n);
    }
    if (result.ok) {
      metrics_->count_notification(n.receiver, "sent");
      spdlog::info("notification {} to {}: delivered ({} alerts)", n.id, n.receiver, n.alerts.size());
      if (!store_->delivered(n.id, error)) spdlog::error("outbox: {}", error);
      continue;
    }
    metrics_->count_notification(n.receiver, "failed");
    int attempts = entry.attempts + 1;
    bool expired = receiver && (attempts >= receiver->max_attempts || now - n.created_at >= receiver->max_age_seconds);
    if (result.permanent || expired) {
      metrics_->count_notification(n.receiver, "dropped");
      spdlog::error("notification {} to {}: dropped after {} attempts: {}", n.id, n.receiver, attempts, result.error);
      std::unique_ptr<Notification> fallback;
      if (!n.fallback_receiver.empty() && n.fallback_receiver != n.receiver) {
        fallback = std::make_unique<Notification>(n);
        fallback->id = n.id + "-fallback";
        fallback->receiver = n.fallback_receiver;
        fallback->fallback_receiver.clear();
        fallback->created_at = now;
        spdlog::info("notification {} goes to fallback receiver {}", n.id, n.fallback_receiver);
      }
      if (!store_->give_up(n.id, fallback.get(), now, error)) spdlog::error("outbox: {}", error);
      continue;
    }
    int64_t next = now + backoff_.delay(attempts);
    spdlog::warn("notification {} to {}: attempt {} failed, retrying in {} s: {}", n.id, n.receiver, attempts, next - now,
                 result.error);
    if (!store_->retry_later(n.id, attempts, next, result.error, error)) spdlog::error("outbox: {}", error);
  }
  auto sizes = store_->queue_sizes(error);
  for (const auto& receiver : queues_seen_)
    if (!sizes.count(receiver)) metrics_->set_queue(receiver, 0);
  for (const auto& [receiver, size] : sizes) {
    metrics_->set_queue(receiver, static_cast<double>(size));
    queues_seen_.insert(receiver);
  }
  return entries.size();
}

void DeliveryWorker::loop() {
  while (true) {
    {
      std::unique_lock lock(mutex_);
      // Woken by a kick, or every second to find retries that have come due.
      wake_.wait_for(lock, std::chrono::seconds(1), [this] { return kicked_ || stopping_; });
      if (stopping_) return;
      kicked_ = false;
    }
    while (run_once() > 0) {
      std::lock_guard lock(mutex_);
      if (stopping_) return;
    }
  }
}

}  // namespace casewatch
