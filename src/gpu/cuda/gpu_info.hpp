// What gpucr knows about the NVIDIA GPUs of a host and the processes using them.
#pragma once

#include "gpu/cuda/types.hpp"

#include <sys/types.h>

#include <nlohmann/json.hpp>

#include <vector>

namespace gpucr::cuda {

struct GpuProcess {
  pid_t pid = 0;                   // host pid as NVML reports it
  std::uint64_t used_bytes = 0;
};

struct GpuInfo {
  int index = 0;
  Uuid uuid;
  std::string name;                // "NVIDIA H100 80GB HBM3"
  std::uint64_t memory_bytes = 0;
  int minor = -1;                  // /dev/nvidiaN
  bool mig = false;                // MIG mode enabled
  std::string driver_version;      // the NVIDIA driver's ("580.159.04"), the same for every GPU
  std::vector<GpuProcess> processes;
};

nlohmann::json to_json(const GpuInfo& g);
Result<GpuInfo> gpu_from_json(const nlohmann::json& j);

// Reads every GPU through NVML (libnvidia-ml.so.1, loaded at run time) in this process.
// Used by the `gpucr __cuda-call gpus` helper.
Result<std::vector<GpuInfo>> query_gpus_nvml();

}  // namespace gpucr::cuda
