// Runs fn(i) for i in [0, n) on n threads at once and waits for all (n is small: one per
// process being checkpointed; each call mostly waits on a child process).
#pragma once

#include <cstddef>
#include <thread>
#include <vector>

namespace gpucr {

template <class Fn>
void parallel_for(size_t n, Fn fn) {
  if (n == 1) {
    fn(size_t{0});
    return;
  }
  std::vector<std::thread> threads;
  threads.reserve(n);
  for (size_t i = 0; i < n; ++i) threads.emplace_back([&fn, i] { fn(i); });
  for (auto& t : threads) t.join();
}

}  // namespace gpucr
