// The demo workload's GPU side: patterned device memory and a device counter, driven through
// the CUDA driver API (libcuda.so.1 loaded at run time; kernels in cuda_kernels.hpp).
#pragma once

#include "util/result.hpp"

#include <cstdint>
#include <string>

namespace gpucr::demo {

class CudaDevice {
 public:
  // Creates a context on GPU 0 and fills `bytes` of device memory with the pattern.
  static Result<CudaDevice> open(std::uint64_t bytes);
  // Bumps the device counter, checks every word of the pattern, and returns the number of bad
  // words plus 1 when the device counter differs from `expected` (the host's own count).
  Result<std::uint64_t> step(std::uint32_t expected);
  std::uint64_t bytes() const { return bytes_; }

 private:
  struct Api;
  Api* api_ = nullptr;  // resolved driver functions (kept for the life of the process)
  std::uint64_t bytes_ = 0;
  std::uint64_t buf_ = 0, counter_ = 0, bad_ = 0;  // CUdeviceptr
  void* fill_ = nullptr;
  void* verify_ = nullptr;
  void* bump_ = nullptr;
};

}  // namespace gpucr::demo
