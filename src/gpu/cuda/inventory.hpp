// The GPU inventory seam: the NVIDIA GPUs of this host and the processes using them.
// Real: NvmlInventory (NVML in a `gpucr __cuda-call gpus` child, with a deadline; falls back to
// /proc/driver/nvidia/gpus/*/information without memory figures). Fake: tests/unit.
#pragma once

#include "common/self_exec.hpp"
#include "gpu/cuda/gpu_info.hpp"
#include "util/file.hpp"

#include <chrono>

namespace gpucr::cuda {

class GpuInventory {
 public:
  virtual ~GpuInventory() = default;
  // Every NVIDIA GPU of this host, in index order, with the processes using each right now;
  // empty when there is no NVIDIA driver. Asked afresh at every call.
  virtual Result<std::vector<GpuInfo>> gpus() = 0;
};

class NvmlInventory : public GpuInventory {
 public:
  explicit NvmlInventory(std::string self_exe = self::kExe, fs::path proc = "/proc")
      : self_(std::move(self_exe)), proc_(std::move(proc)) {}
  Result<std::vector<GpuInfo>> gpus() override;

 private:
  std::string self_;
  fs::path proc_;
};

// Parses /proc/driver/nvidia/gpus/*/information files (for hosts without NVML).
Result<std::vector<GpuInfo>> gpus_from_procfs(const fs::path& proc);

}  // namespace gpucr::cuda
