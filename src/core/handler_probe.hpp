// HostHandlerProbe: the real criu::HandlerProbe, asking this host which GPU handlers it has.
//
//   cuda_plugin   -> gpucr's own CUDA handling: a CUDA backend (gpu/cuda/select.hpp): the
//                    driver's checkpoint API in libcuda.so.1 (driver >= 570) or NVIDIA's
//                    `cuda-checkpoint` tool in PATH. Either one is enough.
//   amdgpu_plugin -> CRIU's amdgpu_plugin.so in criu's plugin directory.
//   other names   -> left to criu (reported available; criu says if it lacks the plugin).
//
// Tests simulate hosts with the same knobs a user has: a `cuda-checkpoint` early in PATH (or the
// fake libcuda in LD_LIBRARY_PATH) makes CUDA "available"; neither makes a CPU-only host.
#pragma once

#include "criu/plugins.hpp"
#include "gpu/cuda/select.hpp"

namespace gpucr {

class HostHandlerProbe : public criu::HandlerProbe {
 public:
  // `libs_dir`: $CRIU_LIBS_DIR, when set.
  explicit HostHandlerProbe(cuda::BackendFactory& cuda, std::optional<fs::path> libs_dir = std::nullopt)
      : cuda_(cuda), libs_dir_(std::move(libs_dir)) {}
  criu::Availability probe(std::string_view plugin, const fs::path& criu_plugin_dir) const override;

 private:
  cuda::BackendFactory& cuda_;
  std::optional<fs::path> libs_dir_;
};

}  // namespace gpucr
