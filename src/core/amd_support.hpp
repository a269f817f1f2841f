// What this host must offer before gpucr lets criu touch AMD GPU state: /dev/kfd with ioctl
// interface >= 1.8, CAP_CHECKPOINT_RESTORE or CAP_SYS_ADMIN, and CRIU's amdgpu plugin.
#pragma once

#include "core/amd_host.hpp"

#include <optional>
#include <string>

namespace gpucr {

struct AmdSupport {
  amd::KfdVersion kfd;
  fs::path plugin;   // amdgpu_plugin.so
};

// Checks all three; `what` names the operation and the processes for messages ("checkpoint of
// pid 42 (AMD GPU users: 42, 43)"). Exit missing_dependency, or not_permitted for capabilities.
Result<AmdSupport> require_amd_support(const AmdHost* host, const std::optional<fs::path>& plugins_dir,
                                       const std::string& what);

// Where amdgpu_plugin.so is looked for: only --criu-plugins-dir when given, else the host's list.
std::vector<fs::path> amd_plugin_dirs(const AmdHost& host, const std::optional<fs::path>& plugins_dir);

// CapEff of a /proc/PID/status text has CAP_SYS_ADMIN (21) or CAP_CHECKPOINT_RESTORE (40).
bool has_checkpoint_capability(std::string_view status);

}  // namespace gpucr
