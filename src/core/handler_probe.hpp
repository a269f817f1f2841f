// HostHandlerProbe: the real criu::HandlerProbe, asking this host which GPU handlers it has.
//
//   cuda_plugin   -> gpucr's own CUDA handling: the driver's checkpoint API
//                    (cuCheckpointProcessRestore in libcuda.so.1, driver >= 570; the library
//                    name can be overridden with $GPUCR_LIBCUDA), or NVIDIA's `cuda-checkpoint`
//                    tool in PATH. Either one is enough.
//   amdgpu_plugin -> CRIU's amdgpu_plugin.so in criu's plugin directory.
//   other names   -> left to criu (reported available; criu says if it lacks the plugin).
//
// Tests simulate hosts with the same knobs a user has: a dummy `cuda-checkpoint` early in PATH
// makes CUDA "available"; GPUCR_LIBCUDA=/nonexistent plus a PATH without the tool makes a
// CPU-only host. The CUDA backend (src/gpu) may replace the CUDA check with its own detection.
#pragma once

#include "criu/plugins.hpp"

namespace gpucr {

class HostHandlerProbe : public criu::HandlerProbe {
 public:
  criu::Availability probe(std::string_view plugin, const fs::path& criu_plugin_dir) const override;
};

// The library name dlopen()ed for the CUDA driver API: $GPUCR_LIBCUDA, else "libcuda.so.1".
std::string libcuda_name();

}  // namespace gpucr
