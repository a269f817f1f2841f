// The GPUs a destination allocated to a restored container, read from the container's new
// config.json (runtime/bundle.hpp). The engine or the Kubernetes device plugin chose them on
// this node, so the container's CUDA processes move onto them (gpu/cuda/device_map.hpp) with
// no flag. Where config.json names them, the first that applies:
//   1. NVIDIA GPU device nodes (linux.devices, or bind-mounted devices): /dev/nvidiaN, char
//      major 195: the GPU whose minor is N;
//   2. CDI devices in the annotations cdi.k8s.io/*: "nvidia.com/gpu=NAME", NAME a GPU UUID, an
//      index or "all" (the names nvidia-ctk generates; CDI spec files are not read);
//   3. NVIDIA_VISIBLE_DEVICES: comma-separated UUIDs (or unique UUID prefixes) or indices;
//      "all" leaves the choice open; "none" and "void" give the container no GPU.
#pragma once

#include "gpu/cuda/gpu_info.hpp"
#include "runtime/bundle.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace gpucr {

struct GpuAllocation {
  std::string source;              // for messages: "config.json NVIDIA_VISIBLE_DEVICES", ...
  std::vector<std::string> names;  // UUIDs (or prefixes) or indices
  std::vector<unsigned> minors;    // device nodes /dev/nvidiaN
  bool none = false;               // the config gives the container no GPU
};

// nullopt: the config names no particular NVIDIA GPUs (no such entry, or "all").
std::optional<GpuAllocation> allocation_from_bundle(const runtime::BundleGpus& b);
// BUNDLE/config.json's allocation; nullopt also when there is no config.json (the runtime says
// so itself). Malformed JSON is an error (bad_input).
Result<std::optional<GpuAllocation>> read_allocation(const std::filesystem::path& bundle);
// The allocated GPUs as this host's UUIDs, in the config's order. A name or minor that is not
// a GPU here, or an allocation of no GPU at all, is an error (missing_dependency).
Result<std::vector<cuda::Uuid>> resolve_allocation(const GpuAllocation& a, const std::vector<cuda::GpuInfo>& local);

}  // namespace gpucr
