#include "integrations/load_pool.h"

#include <algorithm>
#include <thread>

namespace casewatch {

LoadPool::LoadPool(size_t max_threads) : state_(std::make_shared<State>()) {
  state_->max_threads = std::max<size_t>(1, max_threads);
}

void LoadPool::set_max_threads(size_t max_threads) {
  std::lock_guard lock(state_->mutex);
  state_->max_threads = std::max<size_t>(1, max_threads);
}

LoadPool::~LoadPool() { stop(std::chrono::seconds(2)); }

void LoadPool::submit(std::function<void()> job) {
  std::lock_guard lock(state_->mutex);
  if (state_->stopping) return;
  state_->queue.push_back(std::move(job));
  if (state_->idle > 0) {
    state_->work.notify_one();
    return;
  }
  if (state_->threads < state_->max_threads) {
    ++state_->threads;
    // Detached, holding the state: a worker that outlives stop() (a load that would not stop)
    // touches nothing that is gone.
    std::thread(work, state_).detach();
  }
}

void LoadPool::work(std::shared_ptr<State> state) {
  std::unique_lock lock(state->mutex);
  for (;;) {
    if (state->threads > state->max_threads) break;  // the pool was made smaller
    if (state->queue.empty()) {
      if (state->stopping) break;
      ++state->idle;
      state->work.wait(lock, [&] { return state->stopping || !state->queue.empty(); });
      --state->idle;
      continue;
    }
    std::function<void()> job = std::move(state->queue.front());
    state->queue.pop_front();
    lock.unlock();
    job();
    job = nullptr;  // what the job holds goes before the pool is told it ended
    lock.lock();
  }
  --state->threads;
  state->ended.notify_all();
}

bool LoadPool::stop(std::chrono::milliseconds timeout) {
  std::unique_lock lock(state_->mutex);
  state_->stopping = true;
  state_->queue.clear();
  state_->work.notify_all();
  return state_->ended.wait_for(lock, timeout, [&] { return state_->threads == 0; });
}

}  // namespace casewatch
