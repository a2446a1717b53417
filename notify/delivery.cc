#include "notify/delivery.h"

#include <set>

#include <spdlog/spdlog.h>

#include "integrations/log.h"

namespace casewatch {

int64_t BackoffPolicy::delay(int attempts) const {
  int64_t d = first_seconds;
  for (int i = 1; i < attempts && d < max_seconds; ++i) d *= 2;
  return std::min(d, max_seconds);
}

Delivery::Delivery(Outbox& outbox, const Clock& clock, DeliveryReport report, BackoffPolicy backoff)
    : outbox_(outbox), clock_(clock), report_(std::move(report)), backoff_(backoff) {}

Delivery::~Delivery() { stop(); }

void Delivery::set_receivers(std::shared_ptr<const Receivers> receivers) {
  std::lock_guard lock(mutex_);
  receivers_ = std::move(receivers);
  // Workers are only ever added: one for a receiver no longer configured drops its entries.
  for (const std::string& name : receivers_->names()) {
    if (workers_.count(name)) continue;
    auto worker = std::make_unique<Worker>();
    worker->receiver = name;
    if (started_) worker->thread = std::thread([this, w = worker.get()] { loop(*w); });
    workers_.emplace(name, std::move(worker));
  }
}

void Delivery::start() {
  std::lock_guard lock(mutex_);
  started_ = true;
  // Entries left for receivers that are gone from the config get a worker too, to be dropped.
  auto sizes = outbox_.queue_sizes();
  if (sizes.ok())
    for (const auto& [name, size] : *sizes)
      if (!workers_.count(name)) {
        auto worker = std::make_unique<Worker>();
        worker->receiver = name;
        workers_.emplace(name, std::move(worker));
      }
  for (auto& [name, worker] : workers_)
    if (!worker->thread.joinable()) worker->thread = std::thread([this, w = worker.get()] { loop(*w); });
  report_queues(worker_names());
}

std::set<std::string> Delivery::worker_names() {
  std::set<std::string> names;
  for (const auto& [name, worker] : workers_) names.insert(name);
  return names;
}

void Delivery::kick() {
  std::lock_guard lock(mutex_);
  for (auto& [name, worker] : workers_) {
    worker->kicked = true;
    worker->wake.notify_all();
  }
}

void Delivery::stop(std::chrono::milliseconds deadline) {
  std::vector<Worker*> workers;
  {
    std::lock_guard lock(mutex_);
    for (auto& [name, worker] : workers_) workers.push_back(worker.get());
  }
  for (Worker* w : workers) {
    w->stopping = true;
    w->wake.notify_all();
  }
  // A send under way may finish within the deadline; after it, it is abandoned (the entry stays
  // in the outbox and goes after the restart).
  std::thread canceller([this, deadline, &workers] {
    auto until = std::chrono::steady_clock::now() + deadline;
    while (std::chrono::steady_clock::now() < until) {
      bool running = false;
      for (Worker* w : workers) {
        std::unique_lock lock(w->mutex, std::try_to_lock);
        running = running || !lock.owns_lock();
      }
      if (!running) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    cancel_ = true;
  });
  for (Worker* w : workers)
    if (w->thread.joinable()) w->thread.join();
  canceller.join();
}

void Delivery::loop(Worker& worker) {
  while (true) {
    {
      std::unique_lock lock(worker.mutex);
      // Woken by a kick, or every second to find retries that have come due.
      worker.wake.wait_for(lock, std::chrono::seconds(1), [&] { return worker.kicked || worker.stopping; });
      if (worker.stopping) return;
      worker.kicked = false;
    }
    const uint64_t generation = generation_;  // a pass that starts now covers every request made before
    size_t attempted = 0;
    for (size_t n; (n = deliver_due(worker.receiver)) > 0 && !worker.stopping;) attempted += n;
    {
      std::lock_guard lock(mutex_);
      worker.done_generation = generation;
      worker.attempted = attempted;
    }
    passes_.notify_all();
    if (worker.stopping) return;
  }
}

size_t Delivery::run_once(std::chrono::milliseconds wait) {
  std::unique_lock lock(mutex_);
  if (!started_) {
    std::set<std::string> names = worker_names();
    lock.unlock();
    size_t attempted = 0;
    for (const std::string& name : names) attempted += deliver_due(name);
    return attempted;
  }
  const uint64_t generation = ++generation_;
  for (auto& [name, worker] : workers_) {
    worker->kicked = true;
    worker->wake.notify_all();
  }
  passes_.wait_for(lock, wait, [&] {
    for (const auto& [name, worker] : workers_)
      if (worker->done_generation < generation) return false;
    return true;
  });
  size_t attempted = 0;
  for (const auto& [name, worker] : workers_)
    if (worker->done_generation >= generation) attempted += worker->attempted;
  return attempted;
}

size_t Delivery::deliver_due(const std::string& name) {
  Worker* worker = nullptr;
  std::shared_ptr<const Receivers> receivers;
  std::set<std::string> known;
  {
    std::lock_guard lock(mutex_);
    auto it = workers_.find(name);
    if (it == workers_.end()) return 0;
    worker = it->second.get();
    receivers = receivers_;
    known = worker_names();
  }
  std::lock_guard pass(worker->mutex);
  if (worker->stopping && cancel_) return 0;
  const int64_t now = clock_.now();
  auto due = outbox_.due(name, now, 100);
  if (!due.ok()) {
    spdlog::error("outbox: {}", due.message());
    return 0;
  }
  const Receiver* receiver = receivers ? receivers->find(name) : nullptr;
  for (const OutboxEntry& entry : *due) {
    if (cancel_) break;
    const Notification& n = *entry.notification;
    LogContext context{{"receiver", name}, {"notification", entry.id}};
    DeliveryResult result;
    if (!receiver) {
      result.permanent = true;
      result.error = "receiver '" + name + "' is no longer configured";
    } else {
      result = receiver->deliver(n, entry.target, now, cancel_);
    }
    if (cancel_ && !result.ok) break;  // abandoned at shutdown: stays as it was, for the restart
    if (result.ok) {
      report_.count(name, "sent");
      spdlog::info("delivered: {} alerts", n.alerts.size());
      if (Status s = outbox_.delivered(entry.id, now); !s.ok()) spdlog::error("outbox: {}", s.message());
      continue;
    }
    report_.count(name, "failed");
    const int attempts = entry.attempts + 1;
    const bool expired = receiver && (attempts >= receiver->config().max_attempts ||
                                      now - n.created_at >= receiver->config().max_age_seconds);
    if (result.permanent || expired) {
      report_.count(name, "dropped");
      spdlog::error("dropped after {} attempts: {}", attempts, result.error);
      std::vector<OutboxEntry> replacements;
      const Receiver* fallback = receivers && !n.fallback_receiver.empty() && n.fallback_receiver != name
                                     ? receivers->find(n.fallback_receiver)
                                     : nullptr;
      if (fallback) {
        Notification copy = n;
        copy.id = n.id + "-fallback";
        copy.receiver = n.fallback_receiver;
        copy.fallback_receiver.clear();
        copy.whole_state = false;  // a message in its own right, not a state to be replaced
        copy.created_at = now;
        replacements = outbox_entries(copy, receiver_targets(fallback->config()));
        spdlog::info("goes to the fallback receiver {}", n.fallback_receiver);
      }
      if (Status s = outbox_.give_up(entry.id, replacements); !s.ok()) spdlog::error("outbox: {}", s.message());
      if (fallback) {
        std::lock_guard lock(mutex_);
        auto w = workers_.find(n.fallback_receiver);
        if (w != workers_.end()) {
          w->second->kicked = true;
          w->second->wake.notify_all();
        }
      }
      continue;
    }
    const int64_t next = now + backoff_.delay(attempts);
    spdlog::warn("attempt {} failed, retrying in {} s: {}", attempts, next - now, result.error);
    if (Status s = outbox_.retry_later(entry.id, attempts, next, result.error); !s.ok())
      spdlog::error("outbox: {}", s.message());
  }
  report_queues(std::move(known));
  return due->size();
}

void Delivery::report_queues(std::set<std::string> names) {
  auto sizes = outbox_.queue_sizes();
  if (!sizes.ok()) {
    spdlog::error("outbox: {}", sizes.message());
    return;
  }
  for (const auto& [name, size] : *sizes) names.insert(name);
  // Every receiver has a series, 0 while its queue is empty, so a dashboard shows 0 and not
  // "no data".
  for (const std::string& name : names) {
    auto it = sizes->find(name);
    report_.queue(name, it == sizes->end() ? 0 : static_cast<double>(it->second));
  }
}

}  // namespace casewatch
