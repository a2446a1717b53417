// What bounds one feed load: a deadline for the whole load (the feed's load_timeout) and a
// cancellation that another thread may ask for (SIGTERM, a reload). Sources look at it between
// pieces of work and bound every wait by what remains, so that no source can hold a load, a
// worker or the daemon's shutdown for longer than the deadline. Thread-safe.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <string>

namespace casewatch {

class LoadControl {
 public:
  using Clock = std::chrono::steady_clock;

  // `deadline_reason` is what the load's error says when the deadline passes.
  LoadControl(Clock::time_point deadline, std::string deadline_reason)
      : deadline_(deadline), deadline_reason_(std::move(deadline_reason)) {}
  // No deadline, never cancelled unless asked (a load in a test).
  LoadControl() : deadline_(Clock::time_point::max()) {}

  // Asks the load to stop as soon as it can, with `reason` as its error (the first reason wins).
  void cancel(const std::string& reason) {
    std::lock_guard lock(mutex_);
    if (cancelled_.load()) return;
    cancel_reason_ = reason;
    cancelled_.store(true);
  }
  bool cancelled() const { return cancelled_.load(); }
  bool expired() const { return Clock::now() >= deadline_; }
  // The load should stop now: cancelled, or past its deadline.
  bool stopped() const { return cancelled() || expired(); }
  // Why it stopped: the cancellation's reason, else the deadline's.
  std::string reason() const {
    std::lock_guard lock(mutex_);
    return cancelled_.load() ? cancel_reason_ : deadline_reason_;
  }
  // What remains before the deadline (zero once past it), at most `cap`: the bound of one wait.
  std::chrono::milliseconds remaining(std::chrono::milliseconds cap) const {
    if (deadline_ == Clock::time_point::max()) return cap;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - Clock::now());
    return std::clamp(left, std::chrono::milliseconds(0), cap);
  }
  Clock::time_point deadline() const { return deadline_; }

 private:
  const Clock::time_point deadline_;
  const std::string deadline_reason_;
  mutable std::mutex mutex_;
  std::atomic<bool> cancelled_{false};
  std::string cancel_reason_;
};

}  // namespace casewatch
