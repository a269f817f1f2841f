#include "core/amd_support.hpp"
#include "criu/plugins.hpp"

#include "criu/plugin_dir.hpp"
#include "util/strings.hpp"

#include <cstdlib>

namespace gpucr {

bool has_checkpoint_capability(std::string_view status) {
  for (const auto& line : split(status, '\n')) {
    if (line.rfind("CapEff:", 0) != 0) continue;
    unsigned long long eff = std::strtoull(line.c_str() + 7, nullptr, 16);
    return (eff & (1ull << 21)) || (eff & (1ull << 40));
  }
  return false;
}

std::vector<fs::path> amd_plugin_dirs(const AmdHost& host, const std::optional<fs::path>& plugins_dir) {
  if (plugins_dir) return {*plugins_dir};
  return host.plugin_dirs ? host.plugin_dirs() : criu::kUsualPluginDirs;
}

Result<AmdSupport> require_amd_support(const AmdHost* host, const std::optional<fs::path>& plugins_dir,
                                       const std::string& what) {
  if (!host) {
    return fail(Error(what + " needs AMD GPU support, which this gpucr was set up without", Exit::missing_dependency));
  }
  AmdSupport s;
  if (!host->kfd.present()) {
    return fail(Error(what + " needs " + host->kfd.path().string() + ", which does not exist", Exit::missing_dependency)
                    .with_hint("load the amdgpu driver with KFD (ROCm) support and make /dev/kfd available"));
  }
  s.kfd = GPUCR_TRY(host->kfd.version());
  if (!amd::kfd_supports_criu(s.kfd)) {
    return fail(Error(what + ": the KFD ioctl interface is " + s.kfd.str() + ", CRIU's amdgpu plugin needs " +
                          std::to_string(amd::kKfdMinimum.major) + "." + std::to_string(amd::kKfdMinimum.minor) +
                          " or newer (same major)",
                      Exit::missing_dependency)
                    .with_hint("use a kernel whose amdgpu driver has CRIU support (Linux >= 5.18 or a ROCm DKMS driver)"));
  }
  auto status = host->files.read(host->proc_root / "self/status");
  if (!status || !has_checkpoint_capability(*status)) {
    return fail(Error(what + " needs CAP_CHECKPOINT_RESTORE or CAP_SYS_ADMIN (the KFD checkpoint ioctl checks it)",
                      Exit::not_permitted)
                    .with_hint("run gpucr as root"));
  }
  auto plugin = criu::find_plugin(criu::kAmdgpuPlugin, amd_plugin_dirs(*host, plugins_dir));
  if (!plugin) return fail(std::move(plugin).error().context(what));
  s.plugin = *plugin;
  return s;
}

}  // namespace gpucr
