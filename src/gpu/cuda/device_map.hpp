// GPU remapping on restore (--device-map OLD=NEW[,...] | auto).
//
// The driver accepts a map only when it lists every GPU one-to-one (docs/FACTS.md §2, measured on two
// H200s: a single pair fails with CUDA_ERROR_INVALID_VALUE). gpucr therefore completes a partial
// map into a full one: every GPU of the checkpoint host (the manifest records them all) paired
// with a distinct local GPU of the same chip, keeping the user's pairs, then same UUIDs, then
// index order. OLD and NEW may be UUIDs or indices (OLD indexes the checkpoint host's GPUs, NEW
// this host's). A GPU fits another when it has the same chip (name) and at least the device
// memory the checkpointed processes used on the old one.
//
// Who chooses, in order:
//   - the user's map (--device-map OLD=NEW,...), completed;
//   - the GPUs the destination allocated (a restored container's config.json): each GPU the
//     processes used goes to one of them (the same UUID when it is one of them), then completed;
//   - when every GPU the processes used is here: no map (identity);
//   - --device-map auto: the same UUIDs where present, else fitting GPUs, completed;
//   - otherwise an error whose hint spells out the exact map `auto` would use.
#pragma once

#include "gpu/cuda/driver_api.hpp"
#include "gpu/cuda/gpu_info.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace gpucr::cuda {

struct MapPlan {
  std::vector<GpuPair> pairs;  // empty: no remap needed (every GPU the image needs is here)
  std::string how;             // "identity", "--device-map", "auto", or the allocation's source
  std::string describe() const;  // "GPU-a=GPU-b,GPU-c=GPU-d"
};

inline constexpr const char* kAutoMap = "auto";

struct MapInput {
  std::vector<GpuInfo> old_gpus;             // every GPU of the checkpoint host
  std::vector<Uuid> needed;                  // the GPUs the CUDA processes used
  std::map<Uuid, std::uint64_t> used_bytes;  // device memory they had on each (absent: 0)
  std::vector<GpuInfo> local;                // this host's GPUs
  std::optional<std::string> user_map;       // --device-map text, "auto" included
  std::vector<Uuid> targets;                 // GPUs the destination allocated; empty: none said
  std::string targets_source;                // where `targets` come from, for messages
};

Result<MapPlan> plan_device_map(const MapInput& in);

// `old_gpus`: the checkpoint host's GPUs; `needed`: the UUIDs CUDA processes used; `local`:
// this host's GPUs; `user_map`: the --device-map text, if given. Errors say exactly what is
// wrong, and when the same number of the same chip is present, which --device-map to use.
Result<MapPlan> plan_device_map(const std::vector<GpuInfo>& old_gpus, const std::vector<Uuid>& needed,
                                const std::vector<GpuInfo>& local, const std::optional<std::string>& user_map);

}  // namespace gpucr::cuda
