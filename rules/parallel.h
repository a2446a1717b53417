// Runs independent pieces of work on the machine's cores: feeds load side by side, rules
// evaluate side by side.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <exception>
#include <thread>
#include <vector>

namespace casewatch {

// Calls work(order[k]) for every k, on up to one thread per core (the caller's included), each
// thread taking the next item when it is free: put the biggest items first. The first exception
// thrown is rethrown once every thread has stopped.
template <class Work>
void parallel_for_each(const std::vector<size_t>& order, Work work) {
  std::atomic<size_t> next{0};
  std::exception_ptr failure;
  std::atomic<bool> failed{false};
  auto run = [&] {
    for (size_t k; !failed && (k = next++) < order.size();) {
      try {
        work(order[k]);
      } catch (...) {
        if (!failed.exchange(true)) failure = std::current_exception();
      }
    }
  };
  size_t threads = std::min<size_t>(std::max(1u, std::thread::hardware_concurrency()), order.size());
  std::vector<std::thread> pool;
  for (size_t t = 1; t < threads; ++t) pool.emplace_back(run);
  run();
  for (auto& thread : pool) thread.join();
  if (failure) std::rethrow_exception(failure);
}

}  // namespace casewatch
