// What the AMD phases of the drivers work through (Host::amd), and the options they take.
// The CLI fills AmdHost with the real seams (cli/real_host.cpp); unit tests with fixture
// topologies and a fake KFD (tests/unit/amd/amd_fakes.hpp).
#pragma once

#include "gpu/amd/checks.hpp"
#include "gpu/amd/files.hpp"
#include "gpu/amd/kfd.hpp"
#include "gpu/amd/topology_read.hpp"

#include <functional>
#include <optional>
#include <vector>

namespace gpucr {

struct AmdHost {
  amd::Kfd& kfd;
  const amd::Files& files;
  fs::path topology_root = amd::kTopologyRoot;
  fs::path dev_root = "/dev";     // dri/renderD<minor>
  fs::path proc_root = "/proc";   // self/status (capabilities), meminfo
  // Where CRIU's plugins are looked for without --criu-plugins-dir (criu/plugin_dir.hpp).
  std::function<std::vector<fs::path>()> plugin_dirs;
  // gpucr's environment, which criu inherits (KFD_*_CHECK, KFD_MAX_BUFFER_SIZE).
  std::function<const char*(const char*)> getenv;
};

// Options of `gpucr restore` for AMD GPUs (where CRIU's plugins are: CriuOptions::plugins_dir).
struct AmdOptions {
  amd::Checks checks;                        // restore: --amd-skip-check turns rules off
  std::optional<std::uint64_t> max_buffer;   // restore: --amd-max-buffer (bytes)
};


}  // namespace gpucr
