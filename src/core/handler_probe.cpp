#include "core/handler_probe.hpp"

#include "criu/plugin_dir.hpp"
#include "util/subprocess.hpp"

#include <unistd.h>


namespace gpucr {

namespace {

criu::Availability probe_cuda(cuda::BackendFactory& factory) {
  auto backend = factory.make(cuda::BackendChoice::automatic, std::nullopt);
  if (backend) return {true, (*backend)->describe(), ""};
  return {false, backend.error().what, backend.error().hint};
}

// In criu's plugin directory, else wherever gpucr would find it (criu/plugin_dir.hpp).
criu::Availability probe_amdgpu(const fs::path& dir, const std::optional<fs::path>& libs_dir) {
  std::vector<fs::path> dirs = {dir};
  for (const auto& d : criu::plugin_search_dirs(libs_dir ? libs_dir->c_str() : nullptr, std::nullopt)) dirs.push_back(d);
  if (auto so = criu::find_plugin(criu::kAmdgpuPlugin, dirs)) return {true, so->string(), ""};
  return {false, "no amdgpu_plugin.so in criu's plugin directory " + dir.string() + " or the usual places",
          "install CRIU's amdgpu plugin (built from criu's plugins/amdgpu; packaged as criu-amdgpu-plugin on some "
          "distributions) into " + dir.string() + ", or set CRIU_LIBS_DIR to the directory that holds it"};
}

}  // namespace

criu::Availability HostHandlerProbe::probe(std::string_view plugin, const fs::path& criu_plugin_dir) const {
  if (plugin == criu::kCudaPlugin) return probe_cuda(cuda_);
  if (plugin == criu::kAmdgpuPlugin) return probe_amdgpu(criu_plugin_dir, libs_dir_);
  return {true, "not a GPU handler gpucr knows; criu checks it", ""};
}

}  // namespace gpucr
