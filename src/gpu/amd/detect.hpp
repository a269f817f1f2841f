// Which processes of a tree use AMD GPUs: an open /dev/kfd (compute, ROCm), or an AMD render
// node /dev/dri/renderD<minor> open or mapped (compute or graphics through libdrm_amdgpu).
// Both need CRIU's amdgpu plugin. A render node counts as AMD when its minor is the
// drm_render_minor of a GPU in the KFD topology.
#pragma once

#include "gpu/amd/topology.hpp"
#include "proc/process_table.hpp"

#include <filesystem>
#include <set>
#include <vector>

namespace gpucr::amd {

struct AmdProcess {
  pid_t pid = 0;
  std::vector<int> kfd_fds;
  std::set<std::uint32_t> render_minors;  // AMD render nodes open or mapped
};

struct DetectConfig {
  std::filesystem::path kfd = "/dev/kfd";
  std::filesystem::path dri = "/dev/dri";  // render nodes: DRI/renderD<minor>
  std::set<std::uint32_t> amd_render_minors;
};

// The render minors of the GPUs in `t`.
std::set<std::uint32_t> render_minors(const Topology& t);

// The AMD processes among `tree`, in tree order. A process that ended meanwhile is skipped.
std::vector<AmdProcess> find_amd_processes(const proc::ProcessTable& procs, const std::vector<proc::ProcInfo>& tree,
                                           const DetectConfig& cfg);

// The render minor of "DRI/renderD<minor>", if `path` is one.
std::optional<std::uint32_t> render_minor_of(const std::filesystem::path& dri, std::string_view path);

}  // namespace gpucr::amd
