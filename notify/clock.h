// Time for the daemon, injected so tests can drive it by hand instead of sleeping.
// SystemClock is thread-safe; ManualClock is safe to read from any thread while one thread sets it.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace casewatch {

class Clock {
 public:
  virtual ~Clock() = default;
  // Seconds since the Unix epoch.
  virtual int64_t now() const = 0;
};

class SystemClock final : public Clock {
 public:
  int64_t now() const override {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  }
};

class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t start) : now_(start) {}
  int64_t now() const override { return now_.load(); }
  void advance(int64_t seconds) { now_ += seconds; }

 private:
  std::atomic<int64_t> now_;
};

}  // namespace casewatch
