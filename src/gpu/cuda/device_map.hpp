// GPU remapping on restore (--device-map OLD=NEW[,...]).
//
// The driver accepts a map only when it lists every GPU one-to-one (docs/FACTS.md §2, measured on two
// H200s: a single pair fails with CUDA_ERROR_INVALID_VALUE). gpucr therefore completes a partial
// map into a full one: every GPU of the checkpoint host (the manifest records them all) paired
// with a distinct local GPU of the same chip, keeping the user's pairs, then same UUIDs, then
// index order. OLD and NEW may be UUIDs or indices (OLD indexes the checkpoint host's GPUs, NEW
// this host's).
#pragma once

#include "gpu/cuda/driver_api.hpp"
#include "gpu/cuda/gpu_info.hpp"

#include <optional>
#include <string>
#include <vector>

namespace gpucr::cuda {

struct MapPlan {
  std::vector<GpuPair> pairs;  // empty: no remap needed (every GPU the image needs is here)
  std::string describe() const;  // "GPU-a=GPU-b,GPU-c=GPU-d"
};

// `old_gpus`: the checkpoint host's GPUs; `needed`: the UUIDs CUDA processes used; `local`:
// this host's GPUs; `user_map`: the --device-map text, if given. Errors say exactly what is
// wrong, and when the same number of the same chip is present, which --device-map to use.
Result<MapPlan> plan_device_map(const std::vector<GpuInfo>& old_gpus, const std::vector<Uuid>& needed,
                                const std::vector<GpuInfo>& local, const std::optional<std::string>& user_map);

}  // namespace gpucr::cuda
