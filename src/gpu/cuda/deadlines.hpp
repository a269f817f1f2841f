// gpucr's own hard deadlines for CUDA checkpoint-API calls. The driver's own timeout (lock's
// timeoutMs) is not enough: on a frozen process even the state query blocks indefinitely.
// Checkpoint and restore move device memory through host memory (about 1.7 GB/s measured for a
// checkpoint with THP madvise), so their deadlines grow with the process's device memory.
#pragma once

#include "gpu/cuda/types.hpp"

#include <chrono>
#include <cstdint>

namespace gpucr::cuda {

inline std::chrono::milliseconds call_budget(Step step, std::uint64_t device_bytes,
                                             std::chrono::milliseconds lock_timeout) {
  using namespace std::chrono;
  const auto gib = static_cast<long long>(device_bytes >> 30) + 1;
  switch (step) {
    case Step::lock: return lock_timeout + seconds(5);
    case Step::checkpoint:
    case Step::restore: return seconds(60) + seconds(4) * gib;
    default: return seconds(30);
  }
}

}  // namespace gpucr::cuda
