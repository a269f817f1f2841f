#include "core/criu_plugins.hpp"
#include "criu/plugins.hpp"

#include "core/amd_host.hpp"

namespace gpucr {

std::vector<std::string> criu_plugins_for(const GpuUse& use) {
  if (use.amd) return {criu::kAmdgpuPlugin};
  return {};  // CUDA is handled by gpucr itself
}

}  // namespace gpucr
