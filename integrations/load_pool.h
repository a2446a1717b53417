// The threads feed loads run on: each load on a worker of its own, at most `max_threads` at
// once (further loads wait their turn, first come first served). Loads wait on files, sockets
// and databases; on the event loop, one stalled source would stop every other feed, the
// evaluation and the shutdown. Workers are made when needed and end when the pool stops.
// Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>

namespace casewatch {

class LoadPool {
 public:
  explicit LoadPool(size_t max_threads);
  LoadPool(const LoadPool&) = delete;
  LoadPool& operator=(const LoadPool&) = delete;
  // stop() with a short wait.
  ~LoadPool();

  // For the jobs submitted from now on (workers beyond it end as they finish).
  void set_max_threads(size_t max_threads);
  // Runs `job` on a worker (nothing, once the pool is stopping).
  void submit(std::function<void()> job);
  // Refuses new jobs, drops the ones still waiting, and waits up to `timeout` for the running ones
  // (which their loads' controls should have told to stop). True when every worker has ended;
  // any still running end on their own later, holding nothing of the caller's.
  bool stop(std::chrono::milliseconds timeout);

 private:
  struct State {
    std::mutex mutex;
    std::condition_variable work, ended;
    std::deque<std::function<void()>> queue;
    size_t threads = 0, idle = 0, max_threads = 1;
    bool stopping = false;
  };
  static void work(std::shared_ptr<State> state);

  std::shared_ptr<State> state_;
};

}  // namespace casewatch
