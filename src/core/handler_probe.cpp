#include "core/handler_probe.hpp"

#include "util/subprocess.hpp"

#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>

namespace gpucr {

std::string libcuda_name() {
  const char* env = std::getenv("GPUCR_LIBCUDA");
  return env && *env ? env : "libcuda.so.1";
}

namespace {

// "" when the driver API is there, else why not.
std::string driver_api_problem(const std::string& lib) {
  void* h = ::dlopen(lib.c_str(), RTLD_LAZY | RTLD_LOCAL);
  if (!h) {
    const char* err = ::dlerror();
    return lib + " can't be loaded (" + std::string(err ? err : "not found") + ")";
  }
  bool has_api = ::dlsym(h, "cuCheckpointProcessRestore") != nullptr;
  ::dlclose(h);
  return has_api ? "" : lib + " has no checkpoint API (NVIDIA driver older than 570)";
}

criu::Availability probe_cuda() {
  std::string lib = libcuda_name();
  std::string problem = driver_api_problem(lib);
  if (problem.empty()) return {true, "driver API in " + lib, ""};
  if (auto tool = find_program("cuda-checkpoint"); !tool.empty()) {
    return {true, "cuda-checkpoint at " + tool.string(), ""};
  }
  return {false, problem + ", and no cuda-checkpoint in PATH",
          "install the NVIDIA driver >= 570 (it provides libcuda.so.1 with the checkpoint API) or put NVIDIA's "
          "cuda-checkpoint tool in PATH"};
}

criu::Availability probe_amdgpu(const fs::path& dir) {
  fs::path so = dir / "amdgpu_plugin.so";
  if (::access(so.c_str(), R_OK) == 0) return {true, so.string(), ""};
  return {false, "no amdgpu_plugin.so in criu's plugin directory " + dir.string(),
          "install CRIU's amdgpu plugin (built from criu's plugins/amdgpu; packaged as criu-amdgpu-plugin on some "
          "distributions) into " + dir.string() + ", or set CRIU_LIBS_DIR to the directory that holds it"};
}

}  // namespace

criu::Availability HostHandlerProbe::probe(std::string_view plugin, const fs::path& criu_plugin_dir) const {
  if (plugin == criu::kCudaPlugin) return probe_cuda();
  if (plugin == criu::kAmdgpuPlugin) return probe_amdgpu(criu_plugin_dir);
  return {true, "not a GPU handler gpucr knows; criu checks it", ""};
}

}  // namespace gpucr
