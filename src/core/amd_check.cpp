#include "core/amd_check.hpp"
#include "criu/plugins.hpp"

#include "core/amd_host.hpp"
#include "criu/locate.hpp"
#include "criu/plugin_dir.hpp"
#include "gpu/amd/topology_read.hpp"
#include "util/strings.hpp"
#include "util/subprocess.hpp"

#include <cstdio>
#include <cstdlib>

namespace gpucr {

CheckItem check_amd_kfd(const amd::Kfd& kfd, const amd::Files& files, const fs::path& topology_root) {
  CheckItem item{"amd kfd"};
  if (!kfd.present()) {
    item.verdict = Verdict::warn;
    item.detail = "no " + kfd.path().string();
    item.hint = "only needed to checkpoint AMD GPU processes";
    return item;
  }
  auto v = kfd.version();
  if (!v) {
    item.verdict = Verdict::warn;
    item.detail = v.error().what;
    item.hint = "AMD GPU processes can't be checkpointed without the KFD ioctl interface";
    return item;
  }
  item.detail = kfd.path().string() + ", ioctl interface " + v->str();
  if (!amd::kfd_supports_criu(*v)) {
    item.verdict = Verdict::warn;
    item.detail += " (CRIU's amdgpu plugin needs >= 1.8)";
    item.hint = "use a kernel whose amdgpu driver has CRIU support (Linux >= 5.18 or a ROCm DKMS driver)";
  }
  auto t = amd::read_topology(files, topology_root);
  if (!t) {
    item.verdict = Verdict::warn;
    item.detail += "; topology unreadable: " + t.error().what;
  } else {
    item.detail += "; " + std::to_string(t->gpu_count()) + " GPUs in the KFD topology";
    if (!t->hidden.empty()) item.detail += " (" + std::to_string(t->hidden.size()) + " nodes hidden)";
  }
  return item;
}

CheckItem check_amd_render_nodes(const Result<std::vector<amd::RenderNode>>& nodes) {
  CheckItem item{"amd render nodes"};
  if (!nodes) {
    item.verdict = Verdict::warn;
    item.detail = nodes.error().what;
    return item;
  }
  if (nodes->empty()) {
    item.detail = "none (no AMD GPU)";
    return item;
  }
  std::vector<std::string> parts;
  for (const auto& n : *nodes) {
    char id[8];
    std::snprintf(id, sizeof id, "%04x", n.device_id);
    std::string s = n.path + " (" + n.pci_bus + ", device 0x" + id;
    if (!n.marketing_name.empty()) s += ", " + n.marketing_name;
    if (!n.error.empty()) {
      s += ", " + n.error;
      item.verdict = Verdict::warn;
      item.hint = "gpucr runs as root; check the device cgroup and /dev/dri permissions";
    }
    parts.push_back(s + ")");
  }
  item.detail = join(parts, "; ");
  return item;
}

CheckItem check_amd_plugin(const std::vector<fs::path>& dirs) {
  CheckItem item{"amdgpu plugin"};
  auto p = criu::find_plugin(criu::kAmdgpuPlugin, dirs);
  if (p) {
    item.detail = p->string();
    return item;
  }
  item.verdict = Verdict::warn;
  item.detail = p.error().what;
  item.hint = "only needed to checkpoint AMD GPU processes (criu's amdgpu plugin; or pass --criu-plugins-dir)";
  return item;
}

std::vector<CheckItem> amd_check_items(const CheckEnv& env) {
  amd::KfdDevice kfd(env.dev / "kfd");
  amd::DiskFiles files;
  std::optional<fs::path> criu_default;
  if (auto bin = criu::locate(env.criu)) {
    auto out = run_capture(Command{.argv = {bin->path.string(), "--help"}}, std::chrono::seconds(10));
    if (out) criu_default = criu::default_libdir_from_help(out->out + out->err);
  }
  return {check_amd_kfd(kfd, files, env.sys / "class/kfd/kfd/topology"), check_amd_render_nodes(amd::amd_render_nodes()),
          check_amd_plugin(
              criu::plugin_search_dirs(env.criu_libs_dir ? env.criu_libs_dir->c_str() : nullptr, criu_default))};
}

}  // namespace gpucr
