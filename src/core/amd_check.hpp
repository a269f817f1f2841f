// The AMD items of `gpucr check`: KFD (device, ioctl version, topology), render nodes
// (libdrm/libdrm_amdgpu) and CRIU's amdgpu plugin. All are warnings at worst: they only matter
// for AMD GPU processes.
#pragma once

#include "core/check.hpp"
#include "gpu/amd/drm.hpp"
#include "gpu/amd/files.hpp"
#include "gpu/amd/kfd.hpp"

namespace gpucr {

CheckItem check_amd_kfd(const amd::Kfd& kfd, const amd::Files& files, const fs::path& topology_root);
CheckItem check_amd_render_nodes(const Result<std::vector<amd::RenderNode>>& nodes);
CheckItem check_amd_plugin(const std::vector<fs::path>& dirs);

// All three, on the real system described by `env`.
std::vector<CheckItem> amd_check_items(const CheckEnv& env);

}  // namespace gpucr
